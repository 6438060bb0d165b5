using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Index.Lexical;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "bm25": Lucene.Net BM25 (english analyzer, k1 0.9, b 0.4, flat contents) on SciFact: indexing throughput from
/// documents already in memory (median of fresh builds), then single-query latency p50/p99 over all 1,109 SciFact
/// queries at k = 10 and k = 100, ours against Lucene's exhaustive scorer (<see cref="LexicalComparison"/>). Also records
/// nDCG@10 / Recall@100 on the test split as a check that the timed index is the right one.
/// </summary>
public sealed class Bm25Bench : IBenchSuite
{
    public string Name => "bm25";

    public BenchReport Run(BenchContext context)
    {
        var report = new BenchReport { Title = "BM25 (Lucene.Net) on SciFact: indexing and query latency" };
        string? folder = context.SharedDir is null ? null : Path.Combine(context.SharedDir, "data", "scifact");
        if (folder is null || !File.Exists(Path.Combine(folder, "corpus.jsonl")))
        {
            report.Notes.Add($"skipped: SciFact not found ({(folder ?? "no --shared folder given")}); pass --shared DIR with data/scifact/");
            return report;
        }

        var data = BeirDataset.Load(folder, "test");
        List<Document> docs = data.Corpus.ToList();
        var options = Bm25Options.Default;
        int buildRepeats = context.Quick ? 1 : 5;
        string root = Path.Combine(Path.GetTempPath(), $"dss-bench-bm25-{Guid.NewGuid():N}");
        try
        {
            string indexDir = Path.Combine(root, "index");
            var buildTimes = Stats.Time(() => LexicalIndexWriter.Build(indexDir, docs, options), buildRepeats, warmup: 1);
            double buildMedian = Stats.Median(buildTimes);
            report.Rows.Add(new Dictionary<string, object>
            {
                ["stage"] = "index",
                ["items"] = docs.Count,
                ["median_s"] = buildMedian,
                ["docs_per_s"] = docs.Count / buildMedian,
                ["repeats"] = buildRepeats,
            });

            using var index = LexicalIndex.Open(indexDir, options);
            var queries = data.Queries.Select(q => q.Text).ToList();
            foreach (int k in new[] { 10, 100 })
            {
                var c = LexicalComparison.Run(index, queries, k);
                foreach (var (side, ms) in new[] { ("MaxScore (ours)", c.Ours), ("Lucene 4.8 exhaustive BooleanQuery (peer)", c.Lucene) })
                    report.Rows.Add(new Dictionary<string, object>
                    {
                        ["stage"] = $"search k={k}, {side}",
                        ["items"] = ms.Count,
                        ["p50_ms"] = Stats.Median(ms),
                        ["p99_ms"] = Stats.Percentile(ms, 99),
                        ["qps"] = 1000.0 / ms.Average(),
                        ["repeats"] = LexicalComparison.TimedPasses,
                        ["speed-up (p50, vs peer)"] = Stats.Median(c.Lucene) / Stats.Median(ms),
                    });
            }

            var run = Eval.Run.Execute(data.JudgedQueries, index.Search, 100);
            var eval = Evaluator.Evaluate(data.Queries, data.Qrels, run);
            report.Notes.Add($"quality check, test split: {eval.Summary()} (Anserini flat: nDCG@10 0.679, Recall@100 0.925)");
            report.Notes.Add($"indexing: {docs.Count} documents held in memory, fresh Lucene directory each build, one commit; median of {buildRepeats} after 1 warm-up");
            report.Notes.Add($"search: one query at a time, all {queries.Count} queries × {LexicalComparison.TimedPasses} passes per k after a warm-up pass, ours (LexicalIndex.Search: MaxScore) and Lucene.Net's own exhaustive BooleanQuery scorer on the same index (the peer) alternating query by query; the bench fails unless both return the same hits with the same scores for every query; QPS = 1 / mean latency");
            report.Environment["index"] = $"Lucene.Net 4.8 ({options})";
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
        return report;
    }
}
