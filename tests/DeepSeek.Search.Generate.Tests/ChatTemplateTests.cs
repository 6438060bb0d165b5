using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;

namespace DeepSeek.Search.Generate.Tests;

public class ChatTemplateTests
{
    const string Bos = "<｜begin▁of▁sentence｜>", Eos = "<｜end▁of▁sentence｜>";

    [Fact]
    public void V3_format_matches_the_jinja_template()
    {
        var messages = new[]
        {
            ChatMessage.System("Be brief."), ChatMessage.System("Be kind."), ChatMessage.User("Hi"), ChatMessage.Assistant("Hello."), ChatMessage.User("2+2?"),
        };
        Assert.Equal($"{Bos}Be brief.\n\nBe kind.<｜User｜>Hi<｜Assistant｜>Hello.{Eos}<｜User｜>2+2?<｜Assistant｜>", ChatTemplate.Format(messages));
        Assert.Equal($"{Bos}<｜User｜>Hi", ChatTemplate.Format(new[] { ChatMessage.User("Hi") }, addGenerationPrompt: false));
        var tool = new[] { ChatMessage.User("weather?"), new ChatMessage("tool", "sunny"), new ChatMessage("tool", "20C"), ChatMessage.Assistant("Sunny, 20C.") };
        Assert.Equal($"{Bos}<｜User｜>weather?<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>20C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Sunny, 20C.{Eos}<｜Assistant｜>",
            ChatTemplate.Format(tool));
    }

    [Fact]
    public void V2_format_and_detection()
    {
        var messages = new[] { ChatMessage.System("sys"), ChatMessage.User("Hi"), ChatMessage.Assistant("Hello."), ChatMessage.User("Bye") };
        Assert.Equal($"{Bos}sys\n\nUser: Hi\n\nAssistant: Hello.{Eos}User: Bye\n\nAssistant:", ChatTemplate.Format(messages, ChatTemplateStyle.DeepSeekV2));
        Assert.Equal(ChatTemplateStyle.DeepSeekV3, ChatTemplate.Detect(File.ReadAllText(Path.Combine(DeepSeekV3Tokenizer.Directory, "tokenizer_config.json"))));
        Assert.Equal(ChatTemplateStyle.DeepSeekV2, ChatTemplate.Detect("{{ 'User: ' + message['content'] }}"));
        Assert.Equal(ChatTemplateStyle.DeepSeekV2, ChatTemplate.Detect(null, DeepSeekVersion.V2));
        Assert.Throws<InvalidInputException>(() => ChatTemplate.Format(new[] { new ChatMessage("robot", "x") }));
    }

    [Fact]
    public void Chat_prompt_encodes_to_the_special_tokens()
    {
        var tok = DeepSeekV3Tokenizer.Load();
        var ids = tok.Encode(ChatTemplate.Format(new[] { ChatMessage.User("Hello!") }), addSpecialTokens: false);
        Assert.Equal(new[] { 0, 128803, 19923, 3, 128804 }, ids);
    }
}
