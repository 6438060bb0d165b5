using DeepSeek.Search.Core;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Util;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// The analyzers a lexical index can be built with, by the name recorded in its <c>lexical.json</c>.
/// <list type="bullet">
/// <item><c>english</c> (default): Lucene's EnglishAnalyzer at LUCENE_48: StandardTokenizer, English possessive removal,
/// lower case, the 33 Lucene English stopwords, Porter stemming; the same chain as Anserini's DefaultEnglishAnalyzer.</item>
/// <item><c>standard</c>: StandardTokenizer, lower case, the same stopwords, no stemming.</item>
/// </list>
/// </summary>
public static class LexicalAnalyzers
{
    public const string English = "english";
    public const string Standard = "standard";

    /// <summary>The Lucene version every analyzer is created with.</summary>
    public const LuceneVersion Version = LuceneVersion.LUCENE_48;

    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [English, Standard];

    /// <summary>A new analyzer for <paramref name="name"/>; the caller disposes it. Unknown names throw <see cref="InvalidInputException"/>.</summary>
    public static Analyzer Create(string name) => name switch
    {
        English => new EnglishAnalyzer(Version),
        Standard => new StandardAnalyzer(Version),
        _ => throw new InvalidInputException($"unknown lexical analyzer '{name}' (expected one of: {string.Join(", ", Names)})"),
    };
}
