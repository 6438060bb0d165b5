using System.Globalization;
using System.Text;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Generate;

/// <summary>
/// A prompt with untrusted text in it (documents, questions): the template is written with <see cref="Add"/>'s slot markers where
/// the untrusted pieces go, formatted (e.g. by <see cref="ChatTemplate.Format"/>), and <see cref="Encode"/> then encodes the trusted
/// parts with special tokens parsed and each slot's text with special-token text kept as plain text — a document cannot open a
/// chat turn or end the prompt. Slot markers are private-use characters removed from every piece of text given.
/// </summary>
public sealed class PromptSlots
{
    const char Open = '\uE000', Close = '\uE001';
    readonly List<string> _texts = new();

    /// <summary>Text with the slot markers (and NULs) removed: safe to put in a template or a slot.</summary>
    public static string Clean(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
            if (c is not (Open or Close or '\0')) sb.Append(c);
        return sb.ToString();
    }

    /// <summary>The marker of a new slot holding <paramref name="text"/> (cleaned), to be put in the template.</summary>
    public string Add(string text)
    {
        _texts.Add(Clean(text));
        return string.Create(CultureInfo.InvariantCulture, $"{Open}{_texts.Count - 1}{Close}");
    }

    /// <summary>Replaces slot <paramref name="index"/>'s text (e.g. with a shorter cut) before encoding.</summary>
    public void Set(int index, string text) => _texts[index] = Clean(text);

    /// <summary>The token ids of <paramref name="formatted"/> with its slots filled, and the text they stand for.</summary>
    public (int[] Ids, string Text) Encode(ByteLevelBpeTokenizer tokenizer, string formatted)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(formatted);
        var ids = new List<int>();
        var text = new StringBuilder();
        int at = 0;
        while (at < formatted.Length)
        {
            int open = formatted.IndexOf(Open, at);
            string trusted = open < 0 ? formatted[at..] : formatted[at..open];
            ids.AddRange(tokenizer.Encode(trusted, addSpecialTokens: false));
            text.Append(trusted);
            if (open < 0) break;
            int close = formatted.IndexOf(Close, open);
            string quoted = _texts[int.Parse(formatted.AsSpan(open + 1, close - open - 1), CultureInfo.InvariantCulture)];
            ids.AddRange(tokenizer.Encode(quoted, addSpecialTokens: false, splitSpecialTokens: true));
            text.Append(quoted);
            at = close + 1;
        }
        return (ids.ToArray(), text.ToString());
    }
}
