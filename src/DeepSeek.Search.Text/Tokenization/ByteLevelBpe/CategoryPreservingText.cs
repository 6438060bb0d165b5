using System.Globalization;
using System.Text;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// .NET regular expressions see UTF-16 code units, so <c>\p{S}</c> or <c>\p{L}</c> never match a character outside the BMP (an emoji, a
/// CJK extension-B ideograph): its two surrogates are category Cs. Hugging Face tokenizers match code points. This view replaces each
/// supplementary character by one BMP stand-in of the same general category (chosen outside the ASCII, Latin, CJK and kana ranges that
/// pre-tokenizer patterns name explicitly) and maps match positions back, so category classes behave as in the Rust library.
/// </summary>
internal sealed class CategoryPreservingText
{
    static readonly Dictionary<UnicodeCategory, char> StandIns = BuildStandIns();

    readonly int[]? _originalIndex;

    CategoryPreservingText(string original, string text, int[]? originalIndex)
    {
        Original = original;
        Text = text;
        _originalIndex = originalIndex;
    }

    public string Original { get; }

    /// <summary>The string to run the regex on (the original when it has no supplementary characters).</summary>
    public string Text { get; }

    public static CategoryPreservingText Create(string s)
    {
        bool any = false;
        foreach (char c in s) if (char.IsSurrogate(c)) { any = true; break; }
        if (!any) return new CategoryPreservingText(s, s, null);
        var sb = new StringBuilder(s.Length);
        var map = new List<int>(s.Length + 1);
        for (int i = 0; i < s.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                var cat = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(s[i], s[i + 1]));
                sb.Append(StandIns.TryGetValue(cat, out var standIn) ? standIn : '\uE000');
                i++;
            }
            else sb.Append(char.IsSurrogate(s[i]) ? '\uE000' : s[i]);
        }
        map.Add(s.Length);
        return new CategoryPreservingText(s, sb.ToString(), map.ToArray());
    }

    /// <summary>The original index of position <paramref name="i"/> of <see cref="Text"/> (0..Text.Length).</summary>
    public int ToOriginal(int i) => _originalIndex?[i] ?? i;

    static Dictionary<UnicodeCategory, char> BuildStandIns()
    {
        var candidates = new (UnicodeCategory Cat, char C)[]
        {
            (UnicodeCategory.UppercaseLetter, '\uA7B4'), (UnicodeCategory.LowercaseLetter, '\uA7B5'), (UnicodeCategory.TitlecaseLetter, '\u01C5'),
            (UnicodeCategory.ModifierLetter, '\uA67F'), (UnicodeCategory.OtherLetter, '\uA840'),
            (UnicodeCategory.NonSpacingMark, '\u20D0'), (UnicodeCategory.SpacingCombiningMark, '\u0903'), (UnicodeCategory.EnclosingMark, '\u20DD'),
            (UnicodeCategory.DecimalDigitNumber, '\uA8D0'), (UnicodeCategory.LetterNumber, '\u2160'), (UnicodeCategory.OtherNumber, '\u2460'),
            (UnicodeCategory.ConnectorPunctuation, '\u203F'), (UnicodeCategory.DashPunctuation, '\u2E17'), (UnicodeCategory.OpenPunctuation, '\u2045'),
            (UnicodeCategory.ClosePunctuation, '\u2046'), (UnicodeCategory.InitialQuotePunctuation, '\u2E02'), (UnicodeCategory.FinalQuotePunctuation, '\u2E03'),
            (UnicodeCategory.OtherPunctuation, '\u2E19'), (UnicodeCategory.MathSymbol, '\u2A00'), (UnicodeCategory.CurrencySymbol, '\u20B0'),
            (UnicodeCategory.ModifierSymbol, '\uA720'), (UnicodeCategory.OtherSymbol, '\u2600'), (UnicodeCategory.Format, '\u2061'),
            (UnicodeCategory.PrivateUse, '\uE000'), (UnicodeCategory.OtherNotAssigned, '\uFFFE'),
        };
        var result = new Dictionary<UnicodeCategory, char>();
        foreach (var (cat, c) in candidates)
            if (CharUnicodeInfo.GetUnicodeCategory(c) == cat) result[cat] = c;
        return result;
    }
}
