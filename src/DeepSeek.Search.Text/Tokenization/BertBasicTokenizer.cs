using System.Globalization;
using System.Text;

namespace DeepSeek.Search.Text.Tokenization;

/// <summary>
/// BERT's "basic" tokenization, matching Hugging Face tokenizers' <c>BertNormalizer</c> + <c>BertPreTokenizer</c> (the Rust
/// implementation behind <c>BertTokenizerFast</c>), with an alignment from every normalized UTF-16 unit back to the original text
/// (a dropped character belongs to no token, as in HF's offsets):
/// <list type="number">
/// <item>clean text: drop NUL, U+FFFD and control, format, surrogate and private-use characters (Cc Cf Cs Co) except \t \n \r; every whitespace becomes a space;</item>
/// <item>put spaces around CJK ideographs (the Rust tokenizer's block list, U+2B920–U+2CEAF included as it has it);</item>
/// <item>strip accents: NFD, then drop nonspacing marks (Mn);</item>
/// <item>lowercase, code point by code point (U+0130 becomes "i\u0307", the one multi-character mapping, as Rust's <c>char::to_lowercase</c>);</item>
/// <item>split on whitespace, and isolate every punctuation character: ASCII punctuation (so <c>$ + &lt; = &gt; ^ ` | ~</c> too) and Unicode P* categories.</item>
/// </list>
/// </summary>
internal sealed class BertBasicTokenizer
{
    readonly bool _clean, _chinese, _strip, _lower;

    public BertBasicTokenizer(BertTokenizerOptions options)
    {
        _clean = options.CleanText;
        _chinese = options.TokenizeChineseChars;
        _strip = options.EffectiveStripAccents;
        _lower = options.LowerCase;
    }

    /// <summary>Normalized text with, for each UTF-16 unit, the original span <c>[Start, End)</c> it came from.</summary>
    public sealed class Normalized
    {
        public readonly StringBuilder Text = new();
        public readonly List<int> Start = new();
        public readonly List<int> End = new();

        public void Clear() { Text.Clear(); Start.Clear(); End.Clear(); }

        public void Append(Rune r, int start, int end)
        {
            Span<char> buf = stackalloc char[2];
            int n = r.EncodeToUtf16(buf);
            for (int i = 0; i < n; i++) { Text.Append(buf[i]); Start.Add(start); End.Add(end); }
        }
    }

    /// <summary>Normalizes <c>text[from..to)</c> of <paramref name="text"/> into <paramref name="output"/> (appending), offsets relative to <paramref name="text"/>.</summary>
    public void Normalize(string text, int from, int to, Normalized output)
    {
        int i = from;
        while (i < to)
        {
            Rune r;
            int len;
            if (Rune.DecodeFromUtf16(text.AsSpan(i, to - i), out r, out len) != System.Buffers.OperationStatus.Done)
            {
                // A lone surrogate: category Cs, which clean_text drops (and which cannot be kept without cleaning either).
                i += Math.Max(1, len);
                continue;
            }
            int start = i, end = i + len;
            i = end;

            if (_clean)
            {
                if (r.Value == 0 || r.Value == 0xFFFD || IsControl(r)) continue;
                if (IsWhitespace(r)) r = new Rune(' ');
            }

            if (_chinese && IsChineseChar(r.Value))
            {
                output.Append(new Rune(' '), start, end);
                AppendTransformed(r, start, end, output);
                output.Append(new Rune(' '), start, end);
            }
            else
            {
                AppendTransformed(r, start, end, output);
            }
        }
    }

    void AppendTransformed(Rune r, int start, int end, Normalized output)
    {
        if (_strip && r.Value >= 0xC0)
        {
            string decomposed = r.ToString().Normalize(NormalizationForm.FormD);
            foreach (var d in decomposed.EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(d) == UnicodeCategory.NonSpacingMark) continue;
                AppendLowered(d, start, end, output);
            }
        }
        else
        {
            AppendLowered(r, start, end, output);
        }
    }

    void AppendLowered(Rune r, int start, int end, Normalized output)
    {
        if (!_lower) { output.Append(r, start, end); return; }
        if (r.Value == 0x130)
        {
            // LATIN CAPITAL LETTER I WITH DOT ABOVE: the only unconditional multi-character lowercase mapping.
            output.Append(new Rune('i'), start, end);
            output.Append(new Rune(0x307), start, end);
            return;
        }
        output.Append(Rune.ToLowerInvariant(r), start, end);
    }

    /// <summary>
    /// Splits normalized text into words: half-open ranges of UTF-16 units of <paramref name="normalized"/>. Whitespace separates
    /// words and is dropped; each punctuation character is a word of its own.
    /// </summary>
    public static void Split(StringBuilder normalized, List<(int Start, int End)> words)
    {
        int n = normalized.Length;
        int wordStart = -1;
        int i = 0;
        while (i < n)
        {
            Rune r;
            int len;
            char c = normalized[i];
            if (char.IsHighSurrogate(c) && i + 1 < n && char.IsLowSurrogate(normalized[i + 1]))
            {
                r = new Rune(c, normalized[i + 1]);
                len = 2;
            }
            else
            {
                r = char.IsSurrogate(c) ? new Rune(0xFFFD) : new Rune(c);
                len = 1;
            }

            if (Rune.IsWhiteSpace(r))
            {
                if (wordStart >= 0) { words.Add((wordStart, i)); wordStart = -1; }
            }
            else if (IsPunctuation(r))
            {
                if (wordStart >= 0) { words.Add((wordStart, i)); wordStart = -1; }
                words.Add((i, i + len));
            }
            else if (wordStart < 0)
            {
                wordStart = i;
            }
            i += len;
        }
        if (wordStart >= 0) words.Add((wordStart, n));
    }

    /// <summary>\t, \n, \r and every White_Space character (Rust <c>char::is_whitespace</c>, same set as .NET's).</summary>
    public static bool IsWhitespace(Rune r) => r.Value is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(r);

    /// <summary>
    /// Control (Cc), format (Cf), surrogate (Cs) and private-use (Co) characters, except \t \n \r which count as whitespace.
    /// Unassigned code points (Cn) are kept: HF tokenizers' tables do not report them (checked against BertTokenizerFast on
    /// random code points), so they become ordinary characters ([UNK] unless in the vocabulary).
    /// </summary>
    public static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse;
    }

    /// <summary>ASCII punctuation (all ASCII symbols that are not letters, digits or space) or a Unicode punctuation category (Pc Pd Ps Pe Pi Pf Po).</summary>
    public static bool IsPunctuation(Rune r)
    {
        int v = r.Value;
        if (v is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>CJK ideograph blocks, as listed by Hugging Face tokenizers' BertNormalizer.</summary>
    public static bool IsChineseChar(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF
        or >= 0x3400 and <= 0x4DBF
        or >= 0x20000 and <= 0x2A6DF
        or >= 0x2A700 and <= 0x2B73F
        or >= 0x2B740 and <= 0x2B81F
        or >= 0x2B920 and <= 0x2CEAF
        or >= 0xF900 and <= 0xFAFF
        or >= 0x2F800 and <= 0x2FA1F;
}
