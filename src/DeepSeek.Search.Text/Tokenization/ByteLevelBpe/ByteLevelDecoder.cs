using System.Text;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// The <c>decoder</c> of <c>tokenizer.json</c> (<c>ByteLevel</c>): the characters of byte-level pieces become bytes again and runs of
/// them are decoded as UTF-8 (invalid bytes become U+FFFD); added tokens' text is kept verbatim. Also transformers'
/// <c>clean_up_tokenization_spaces</c>, which <c>tokenizer_config.json</c> may switch on.
/// </summary>
internal static class ByteLevelDecoder
{
    /// <summary>The text of <paramref name="pieces"/>: byte-level vocabulary tokens, or (<c>Verbatim</c>) added tokens' content.</summary>
    public static string Decode(IEnumerable<(string Text, bool Verbatim)> pieces)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
        foreach (var (text, verbatim) in pieces)
        {
            if (verbatim)
            {
                Flush();
                sb.Append(text);
                continue;
            }
            foreach (char c in text)
            {
                if (ByteLevel.TryGetByte(c, out var b)) bytes.Add(b);
                else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        Flush();
        return sb.ToString();
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>: no space before punctuation and English contractions.</summary>
    public static string CleanUpTokenizationSpaces(string s) => s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}
