using System.Text;
using System.Text.RegularExpressions;

namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>
/// SQuAD answer scoring: exact match and token F1 of an answer against gold answers, as the official SQuAD v1.1 evaluation
/// script computes them (<c>evaluate-v1.1.py</c>, Rajpurkar et al. 2016: <c>normalize_answer</c>, <c>exact_match_score</c>,
/// <c>f1_score</c>, <c>metric_max_over_ground_truths</c>), plus the RAG-specific steps around it: the citation markers
/// <c>[n]</c> of an answer are removed before scoring, and "does this text contain a gold answer" is containment of the
/// normalised answer in the normalised text.
/// <para>
/// The script's <c>normalize_answer(s)</c> is, in this order: <c>lower</c> (<c>s.lower()</c>); <c>remove_punc</c> (drop
/// every character of Python's <c>string.punctuation</c>, the 32 ASCII punctuation characters, without putting a space in
/// their place: "Levi's" → "levis"; other punctuation, e.g. the en dash, stays); <c>remove_articles</c>
/// (<c>re.sub(r'\b(a|an|the)\b', ' ', text)</c>); <c>white_space_fix</c> (<c>' '.join(text.split())</c>). Python's
/// <c>\b</c> on <c>str</c> is Unicode-aware, <c>\w</c> being letters, numbers and the underscore (not combining marks, which
/// .NET's <c>\w</c> includes), so the word boundary is spelled out below with that class; <c>str.split()</c> splits on
/// Python's whitespace, which is .NET's plus U+001C–U+001F. Lower-casing is .NET's invariant mapping, one character to one;
/// Python's full mapping differs for a handful of characters (U+0130 becomes two, a final capital sigma becomes ς) that
/// English answers do not hold.
/// </para>
/// </summary>
public static partial class AnswerScoring
{
    /// <summary>Python's <c>string.punctuation</c>.</summary>
    public const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /// <summary>SQuAD v1.1's <c>normalize_answer</c>.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string lower = text.ToLowerInvariant();
        var kept = new StringBuilder(lower.Length);
        foreach (char c in lower)
            if (!AsciiPunctuation.Contains(c, StringComparison.Ordinal)) kept.Append(c);
        string withoutArticles = Article().Replace(kept.ToString(), " ");
        return string.Join(' ', Tokens(withoutArticles));
    }

    /// <summary>The normalised answer's tokens (<c>normalize_answer(s).split()</c>).</summary>
    public static IReadOnlyList<string> NormalizedTokens(string text) => Tokens(Normalize(text));

    /// <summary>
    /// <paramref name="answer"/> without its citation markers (<c>[1]</c>, <c>[2, 3]</c>: what <see cref="CitationFilter"/>
    /// passes), each replaced by a space so the words around it stay apart.
    /// </summary>
    public static string WithoutCitations(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        return CitationMarker().Replace(answer, " ");
    }

    /// <summary>SQuAD v1.1's <c>exact_match_score</c>: 1 when the normalised strings are equal, else 0.</summary>
    public static double ExactMatch(string prediction, string gold) =>
        string.Equals(Normalize(prediction), Normalize(gold), StringComparison.Ordinal) ? 1 : 0;

    /// <summary>
    /// SQuAD v1.1's <c>f1_score</c>: the harmonic mean of token precision and recall, tokens counted as a multiset (a token
    /// twice in both counts twice); 0 when no token is shared — also when both are empty (v1.1's rule; v2.0 gives 1 there).
    /// </summary>
    public static double F1(string prediction, string gold)
    {
        var predicted = NormalizedTokens(prediction);
        var truth = NormalizedTokens(gold);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in truth) counts[t] = counts.GetValueOrDefault(t) + 1;
        int same = 0;
        foreach (var t in predicted)
            if (counts.TryGetValue(t, out int left) && left > 0) { counts[t] = left - 1; same++; }
        if (same == 0) return 0;
        double precision = (double)same / predicted.Count, recall = (double)same / truth.Count;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>SQuAD's <c>metric_max_over_ground_truths(exact_match_score, …)</c>: the best exact match over the gold answers.</summary>
    public static double MaxExactMatch(string prediction, IReadOnlyList<string> golds) => MaxOver(golds, g => ExactMatch(prediction, g));

    /// <summary>SQuAD's <c>metric_max_over_ground_truths(f1_score, …)</c>: the best F1 over the gold answers.</summary>
    public static double MaxF1(string prediction, IReadOnlyList<string> golds) => MaxOver(golds, g => F1(prediction, g));

    /// <summary>
    /// Whether <paramref name="text"/> contains one of <paramref name="golds"/>: a gold answer's normalised tokens appear
    /// in a row among the normalised text's (so "gold" is not found in "golden"). A gold answer that normalises to nothing
    /// (e.g. "the") is found nowhere.
    /// </summary>
    public static bool ContainsAnswer(string text, IReadOnlyList<string> golds)
    {
        ArgumentNullException.ThrowIfNull(golds);
        string padded = " " + Normalize(text) + " ";
        foreach (var g in golds)
        {
            string answer = Normalize(g);
            if (answer.Length > 0 && padded.Contains(" " + answer + " ", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    static double MaxOver(IReadOnlyList<string> golds, Func<string, double> metric)
    {
        ArgumentNullException.ThrowIfNull(golds);
        if (golds.Count == 0) throw new ArgumentException("a question needs at least one gold answer", nameof(golds));
        return golds.Max(metric);
    }

    static string[] Tokens(string text) => text.Split(PythonWhitespace, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The characters Python's <c>str.split()</c> splits on: <c>str.isspace()</c>.</summary>
    static readonly char[] PythonWhitespace =
    [
        '\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0', '\u1680',
        '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a',
        '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
    ];

    // \b(a|an|the)\b with Python's \w: letters, numbers (Nd, Nl, No: str.isalnum) and '_'
    [GeneratedRegex(@"(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])", RegexOptions.CultureInvariant)]
    private static partial Regex Article();

    // what CitationFilter lets through: [n] or [n, m, …]
    [GeneratedRegex(@"\[ *[0-9]{1,3}(?: *, *[0-9]{1,3})* *\]", RegexOptions.CultureInvariant)]
    private static partial Regex CitationMarker();
}
