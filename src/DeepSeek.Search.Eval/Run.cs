using System.Globalization;
using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>
/// A retrieval run: query id → ranked hits as the system returned them. Metrics re-rank each list the trec_eval way
/// (<see cref="Metrics.TrecOrder"/>), so the stored order only matters for display and for <see cref="WriteTrec"/>.
/// </summary>
public sealed class Run
{
    readonly Dictionary<string, IReadOnlyList<Hit>> _results = new(StringComparer.Ordinal);
    readonly List<string> _order = new();

    /// <summary>Query ids in insertion order.</summary>
    public IReadOnlyList<string> QueryIds => _order;

    /// <summary>Number of queries in the run.</summary>
    public int Count => _order.Count;

    /// <summary>Sets the hits of <paramref name="queryId"/> (replacing any earlier ones).</summary>
    public void Set(string queryId, IReadOnlyList<Hit> hits)
    {
        ArgumentException.ThrowIfNullOrEmpty(queryId);
        ArgumentNullException.ThrowIfNull(hits);
        if (!_results.ContainsKey(queryId)) _order.Add(queryId);
        _results[queryId] = hits;
    }

    /// <summary>The hits of <paramref name="queryId"/>, or false when the run has no entry for it.</summary>
    public bool TryGet(string queryId, out IReadOnlyList<Hit> hits)
    {
        if (_results.TryGetValue(queryId, out var h)) { hits = h; return true; }
        hits = [];
        return false;
    }

    /// <summary>
    /// Runs <paramref name="search"/> (query text, depth → hits) for every query, in order, and collects the results.
    /// </summary>
    public static Run Execute(IEnumerable<EvalQuery> queries, Func<string, int, IReadOnlyList<Hit>> search, int depth)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(search);
        if (depth < 1) throw new InvalidInputException($"run depth must be >= 1, got {depth}");
        var run = new Run();
        foreach (var q in queries) run.Set(q.Id, search(q.Text, depth));
        return run;
    }

    /// <summary>Writes the run in TREC format (<c>qid Q0 docid rank score tag</c>), each list in trec_eval order.</summary>
    public void WriteTrec(string path, string tag = "dss")
    {
        if (tag.Any(char.IsWhiteSpace)) throw new InvalidInputException("run tag must not contain whitespace");
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        w.NewLine = "\n";
        foreach (var qid in _order)
        {
            int rank = 0;
            foreach (var h in Metrics.TrecOrder(_results[qid]))
                w.WriteLine($"{qid} Q0 {h.DocumentId} {++rank} {h.Score.ToString("R", CultureInfo.InvariantCulture)} {tag}");
        }
    }

    /// <summary>Reads a TREC-format run (6 whitespace-separated columns); a bad line throws <see cref="MalformedRecordException"/>.</summary>
    public static Run ReadTrec(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"run file not found: {path}");
        var lists = new Dictionary<string, List<Hit>>(StringComparer.Ordinal);
        var order = new List<string>();
        long lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var c = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (c.Length != 6) throw new MalformedRecordException(path, lineNo, $"expected 6 columns (qid Q0 docid rank score tag), got {c.Length}");
            if (!float.TryParse(c[4], NumberStyles.Float, CultureInfo.InvariantCulture, out float score) || !float.IsFinite(score))
                throw new MalformedRecordException(path, lineNo, $"score '{c[4]}' is not a number");
            if (!lists.TryGetValue(c[0], out var list)) { lists[c[0]] = list = new List<Hit>(); order.Add(c[0]); }
            list.Add(new Hit(c[2], score));
        }
        var run = new Run();
        foreach (var q in order) run.Set(q, lists[q]);
        return run;
    }
}
