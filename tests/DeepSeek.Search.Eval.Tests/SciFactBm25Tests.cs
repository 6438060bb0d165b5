using System.Diagnostics;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.TestKit;
using Xunit.Abstractions;

namespace DeepSeek.Search.Eval.Tests;

/// <summary>
/// End to end: index the shared SciFact corpus with BM25 (Anserini's BEIR settings) and evaluate the test split.
/// Anserini reaches nDCG@10 0.679 (flat) / 0.665 (multifield) and Recall@100 0.925 (flat).
/// </summary>
public class SciFactBm25Tests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(LexicalFieldMode.Flat, 0.66, 0.90)]
    [InlineData(LexicalFieldMode.Multifield, 0.65, 0.88)]
    public void Bm25OnSciFactTestMatchesAnserini(LexicalFieldMode mode, double minNdcg, double minRecall)
    {
        var sw = Stopwatch.StartNew();
        var data = BeirDataset.Load(Repo.SharedPath("data", "scifact"), "test");
        using var dir = new TempDir("dss-scifact");
        var info = LexicalIndexWriter.Build(dir.Path, data.Corpus, new Bm25Options { FieldMode = mode });
        Assert.Equal(5183, info.DocumentCount);
        double buildSeconds = sw.Elapsed.TotalSeconds;

        using var index = LexicalIndex.Open(dir.Path);
        var queries = data.JudgedQueries;
        var run = Run.Execute(queries, index.Search, 1000);
        var report = Evaluator.Evaluate(data.Queries, data.Qrels, run);
        output.WriteLine($"{mode}: {report.Summary()}  build {buildSeconds:F1}s, total {sw.Elapsed.TotalSeconds:F1}s");
        output.WriteLine(report.ToJson()[..300]);

        Assert.Equal(300, report.Judged);
        Assert.Equal(809, report.SkippedUnjudged);
        Assert.Equal(0, report.SkippedNotInQueries);
        Assert.Equal(0, report.WithoutResults);
        Assert.True(report.Ndcg >= minNdcg, $"nDCG@10 {report.Ndcg:F4} < {minNdcg}");
        Assert.True(report.Recall >= minRecall, $"Recall@100 {report.Recall:F4} < {minRecall}");
        Assert.True(report.Mrr > 0.5, $"MRR@10 {report.Mrr:F4}");
    }
}
