using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>
/// Relevance judgments: query id → (document id → graded relevance). A document is relevant when its grade is ≥
/// <see cref="RelevanceLevel"/> (1, as trec_eval's default); grades ≤ 0 are judged non-relevant.
/// </summary>
public sealed class Qrels
{
    /// <summary>Lowest grade counted as relevant.</summary>
    public const int RelevanceLevel = 1;

    static readonly IReadOnlyDictionary<string, int> None = new Dictionary<string, int>();
    readonly Dictionary<string, Dictionary<string, int>> _byQuery = new(StringComparer.Ordinal);

    /// <summary>Query ids with at least one judgment, in first-seen order.</summary>
    public IReadOnlyList<string> QueryIds => _order;
    readonly List<string> _order = new();

    /// <summary>Number of (query, document) judgments.</summary>
    public int Count { get; private set; }

    readonly Dictionary<string, long> _firstLine = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds one judgment, read from <paramref name="line"/> of a file (1-based; 0 when it comes from no file); a repeated
    /// (query, document) pair throws <see cref="InvalidInputException"/>.
    /// </summary>
    public void Add(string queryId, string documentId, int relevance, long line = 0)
    {
        if (string.IsNullOrEmpty(queryId) || string.IsNullOrEmpty(documentId)) throw new InvalidInputException("qrels ids must be non-empty");
        if (!_byQuery.TryGetValue(queryId, out var docs))
        {
            _byQuery[queryId] = docs = new Dictionary<string, int>(StringComparer.Ordinal);
            _order.Add(queryId);
            _firstLine[queryId] = line;
        }
        if (!docs.TryAdd(documentId, relevance))
            throw new InvalidInputException($"duplicate judgment for query '{queryId}', document '{documentId}'");
        Count++;
    }

    /// <summary>True when <paramref name="queryId"/> has any judgment.</summary>
    public bool Contains(string queryId) => _byQuery.ContainsKey(queryId);

    /// <summary>The line of the file where <paramref name="queryId"/>'s first judgment was read (0: not from a file, or no judgment).</summary>
    public long LineOf(string queryId) => _firstLine.TryGetValue(queryId, out long line) ? line : 0;

    /// <summary>The judgments of one query (empty when it has none).</summary>
    public IReadOnlyDictionary<string, int> For(string queryId) =>
        _byQuery.TryGetValue(queryId, out var docs) ? docs : None;

    /// <summary>Reads a qrels file; see <see cref="QrelsReader"/>.</summary>
    public static Qrels Read(string path) => QrelsReader.Read(path);
}
