using System.Diagnostics;
using DeepSeek.Search.Index.Lexical;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// The lexical index alone, one query at a time: our MaxScore search against Lucene's exhaustive BooleanQuery scorer over the
/// same index (the peer, <c>exhaustive: true</c>), alternating query by query (Lucene first on odd passes, ours first on even
/// ones) over <see cref="TimedPasses"/> timed passes after a first pass that warms both and checks that they return the same
/// hits with the same scores (a disagreement fails the bench). Used by the bm25 and scale suites.
/// </summary>
public sealed record LexicalComparison(List<double> Ours, List<double> Lucene, List<double> FirstPass)
{
    /// <summary>Timed passes over the queries, each side searching every query once per pass.</summary>
    public const int TimedPasses = 3;

    public double SpeedUp => Stats.Percentile(Lucene, 50) / Stats.Percentile(Ours, 50);

    public static LexicalComparison Run(LexicalIndex index, IReadOnlyList<string> queries, int depth)
    {
        var ours = new List<double>();
        var lucene = new List<double>();
        var cold = new List<double>();
        int differ = 0;
        for (int pass = 0; pass <= TimedPasses; pass++)
            foreach (var q in queries)
            {
                long t0 = Stopwatch.GetTimestamp();
                var a = index.Search(q, depth, null, null, null, exhaustive: pass % 2 == 1);
                double first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                t0 = Stopwatch.GetTimestamp();
                var b = index.Search(q, depth, null, null, null, exhaustive: pass % 2 == 0);
                double second = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (pass == 0)
                {
                    cold.Add(first);
                    if (!a.Select(h => (h.DocumentId, h.Score)).SequenceEqual(b.Select(h => (h.DocumentId, h.Score)))) differ++;
                    continue;   // the warm-up pass (and the first use of each term's bounds)
                }
                (pass % 2 == 1 ? lucene : ours).Add(first);
                (pass % 2 == 1 ? ours : lucene).Add(second);
            }
        var result = new LexicalComparison(ours, lucene, cold);
        Console.WriteLine($"  BM25 k={depth}: MaxScore p50 {Stats.Percentile(ours, 50):F2} ms / p99 {Stats.Percentile(ours, 99):F2}, Lucene exhaustive p50 {Stats.Percentile(lucene, 50):F2} / p99 {Stats.Percentile(lucene, 99):F2} ({result.SpeedUp:F2}x), {differ} queries differ");
        if (differ > 0) throw new InvalidOperationException($"the MaxScore search and Lucene's scorer disagree on {differ} of {queries.Count} queries");
        return result;
    }
}
