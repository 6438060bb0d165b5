using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Generate;

/// <summary>One chat turn: role <c>system</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>, and its text.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public static ChatMessage System(string content) => new("system", content);
    public static ChatMessage User(string content) => new("user", content);
    public static ChatMessage Assistant(string content) => new("assistant", content);
}

/// <summary>The prompt formats of DeepSeek's chat models.</summary>
public enum ChatTemplateStyle
{
    /// <summary>
    /// DeepSeek-V3 / R1 (<c>tokenizer_config.json</c> <c>chat_template</c>): BOS, all system prompts joined by a blank line, then
    /// <c>&lt;｜User｜&gt;text</c> per user turn and <c>&lt;｜Assistant｜&gt;text&lt;｜end▁of▁sentence｜&gt;</c> per assistant turn; tool
    /// results as <c>&lt;｜tool▁outputs▁begin｜&gt;&lt;｜tool▁output▁begin｜&gt;…&lt;｜tool▁output▁end｜&gt;</c>; the generation prompt is
    /// <c>&lt;｜Assistant｜&gt;</c>.
    /// </summary>
    DeepSeekV3,

    /// <summary>DeepSeek-V2 chat: BOS, <c>system\n\n</c>, <c>User: text\n\n</c>, <c>Assistant: text&lt;eos&gt;</c>; generation prompt <c>Assistant:</c>.</summary>
    DeepSeekV2,
}

/// <summary>
/// DeepSeek's chat templates, written out in C# rather than evaluated from Jinja (the templates' text output is reproduced for
/// conversations of system, user, assistant and tool-result messages; assistant tool calls are not rendered). <see cref="Detect"/>
/// picks the style from a tokenizer's Jinja source.
/// </summary>
public static class ChatTemplate
{
    public const string BeginOfSentence = "<｜begin▁of▁sentence｜>";
    public const string EndOfSentence = "<｜end▁of▁sentence｜>";
    public const string UserTag = "<｜User｜>";
    public const string AssistantTag = "<｜Assistant｜>";

    /// <summary>The style a <c>chat_template</c> source implements (V3 when it uses the <c>&lt;｜User｜&gt;</c> tag or is absent).</summary>
    public static ChatTemplateStyle Detect(string? jinja, DeepSeekVersion version = DeepSeekVersion.V3)
    {
        if (jinja == null) return version == DeepSeekVersion.V2 ? ChatTemplateStyle.DeepSeekV2 : ChatTemplateStyle.DeepSeekV3;
        if (jinja.Contains(UserTag, StringComparison.Ordinal)) return ChatTemplateStyle.DeepSeekV3;
        if (jinja.Contains("'User: '", StringComparison.Ordinal)) return ChatTemplateStyle.DeepSeekV2;
        return ChatTemplateStyle.DeepSeekV3;
    }

    /// <summary>
    /// The prompt text of a conversation in <paramref name="tokenizer"/>'s chat format (its chat_template's style, its BOS and EOS
    /// text), ending with the generation prompt: what <see cref="DeepSeekGenerator.FormatChat"/> builds and what supervised training
    /// (<c>dss train-lm --sft</c>) trains on.
    /// </summary>
    public static string Format(Text.Tokenization.ByteLevelBpeTokenizer tokenizer, DeepSeekVersion version, IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var style = Detect(tokenizer.ChatTemplateSource, version);
        string bos = tokenizer.BosTokenId is int b ? tokenizer.IdToToken(b)! : BeginOfSentence;
        string eos = tokenizer.EosTokenId is int e ? tokenizer.IdToToken(e)! : EndOfSentence;
        return Format(messages, style, addGenerationPrompt: true, bos, eos);
    }

    /// <summary>The prompt text for <paramref name="messages"/> (encode it with special tokens parsed and without adding another BOS).</summary>
    public static string Format(IReadOnlyList<ChatMessage> messages, ChatTemplateStyle style = ChatTemplateStyle.DeepSeekV3,
        bool addGenerationPrompt = true, string bosToken = BeginOfSentence, string eosToken = EndOfSentence)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var m in messages)
            if (m.Role is not ("system" or "user" or "assistant" or "tool"))
                throw new InvalidInputException($"chat role '{m.Role}' is not one of system, user, assistant, tool");
        var sb = new StringBuilder(bosToken);
        if (style == ChatTemplateStyle.DeepSeekV2)
        {
            foreach (var m in messages)
            {
                switch (m.Role)
                {
                    case "user": sb.Append("User: ").Append(m.Content).Append("\n\n"); break;
                    case "assistant": sb.Append("Assistant: ").Append(m.Content).Append(eosToken); break;
                    case "system": sb.Append(m.Content).Append("\n\n"); break;
                    default: throw new InvalidInputException("the DeepSeek-V2 chat template has no tool role");
                }
            }
            if (addGenerationPrompt) sb.Append("Assistant:");
            return sb.ToString();
        }

        sb.Append(string.Join("\n\n", messages.Where(m => m.Role == "system").Select(m => m.Content)));
        bool inTool = false, firstOutput = true;
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case "user":
                    inTool = false;
                    sb.Append(UserTag).Append(m.Content);
                    break;
                case "assistant":
                    if (inTool)
                    {
                        sb.Append("<｜tool▁outputs▁end｜>").Append(m.Content).Append(eosToken);
                        inTool = false;
                    }
                    else sb.Append(AssistantTag).Append(m.Content).Append(eosToken);
                    break;
                case "tool":
                    inTool = true;
                    if (firstOutput)
                    {
                        sb.Append("<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>").Append(m.Content).Append("<｜tool▁output▁end｜>");
                        firstOutput = false;
                    }
                    else sb.Append("\n<｜tool▁output▁begin｜>").Append(m.Content).Append("<｜tool▁output▁end｜>");
                    break;
            }
        }
        if (inTool) sb.Append("<｜tool▁outputs▁end｜>");
        if (addGenerationPrompt && !inTool) sb.Append(AssistantTag);
        return sb.ToString();
    }
}
