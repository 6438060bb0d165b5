using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DeepSeek.Search.Core.Filtering;

/// <summary>Text helpers shared by the filter parser, its error messages and the ACL reader.</summary>
internal static class FilterText
{
    /// <summary>Filter keywords (case-insensitive); a key spelled like one must be quoted.</summary>
    internal static readonly string[] Keywords = ["AND", "OR", "NOT", "IN", "EXISTS", "TRUE", "FALSE"];

    internal static bool IsKeyword(string word) => Keywords.Any(k => string.Equals(k, word, StringComparison.OrdinalIgnoreCase));

    internal static bool IsBareStart(char c) => char.IsLetter(c) || c == '_';

    internal static bool IsBarePart(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '-';

    /// <summary>Whether <paramref name="key"/> can be written unquoted as a field segment.</summary>
    internal static bool IsBareKey(string key) =>
        key.Length > 0 && IsBareStart(key[0]) && key.All(IsBarePart) && !IsKeyword(key);

    /// <summary>A filter string literal: double quotes, with <c>\"</c> and <c>\\</c> escapes.</summary>
    internal static string QuoteLiteral(string s) =>
        "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// <paramref name="s"/> for a one-line message: double-quoted, backslash, quote and control characters escaped, cut to
    /// <paramref name="max"/> characters.
    /// </summary>
    internal static string ForMessage(string s, int max = 60)
    {
        var sb = new StringBuilder("\"");
        AppendEscaped(sb, s, max);
        return sb.Append('"').ToString();
    }

    /// <summary>Source text of a token for a message: control characters escaped, cut to <paramref name="max"/> characters.</summary>
    internal static string Excerpt(string s, int max = 40)
    {
        var sb = new StringBuilder();
        AppendEscaped(sb, s, max, escapeQuotes: false);
        return sb.ToString();
    }

    static void AppendEscaped(StringBuilder sb, string s, int max, bool escapeQuotes = true)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (i == max)
            {
                sb.Append('…');
                return;
            }
            char c = s[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])
                || char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(s[i - 1]);
            if (escapeQuotes && (c == '"' || c == '\\')) sb.Append('\\').Append(c);
            else if (char.IsControl(c) || char.IsSurrogate(c) && !pair || c == '\u2028' || c == '\u2029')
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else sb.Append(c);
        }
    }

    /// <summary>A JSON value kind as a message says it ("a number").</summary>
    internal static string Kind(JsonValueKind k) => JsonKind.Describe(k);
}
