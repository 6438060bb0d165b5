using DeepSeek.Search.Core;
using DeepSeek.Search.Eval.Comparison;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Eval.Tests.Comparison;

/// <summary>RunComparison ties Evaluator's per-query metrics to the paired statistics over dss eval's query set.</summary>
public class RunComparisonTests
{
    static Qrels SmallQrels()
    {
        var qrels = new Qrels();
        qrels.Add("q1", "a", 1);
        qrels.Add("q2", "b", 1);
        qrels.Add("q3", "c", 2);
        qrels.Add("q4", "d", 1);
        qrels.Add("q5", "x", 0); // judged, nothing relevant: evaluated, scores 0 (as dss eval)
        return qrels;
    }

    static Run RunOf(params (string Qid, string[] Docs)[] lists)
    {
        var run = new Run();
        foreach (var (qid, docs) in lists) run.Set(qid, docs.Select((d, i) => new Hit(d, 10f - i)).ToList());
        return run;
    }

    // baseline: relevant at ranks 1, 2, 1, 3; other: 1, 1, 2, not found
    static readonly Run Baseline = RunOf(("q1", ["a", "z"]), ("q2", ["z", "b"]), ("q3", ["c"]), ("q4", ["y", "z", "d"]), ("q5", ["x"]), ("unjudged", ["a"]));
    static readonly Run Other = RunOf(("q1", ["a"]), ("q2", ["b"]), ("q3", ["z", "c"]), ("q4", ["y"]), ("q5", ["x"]));

    [Fact]
    public void Means_are_dss_evals_and_differences_are_per_query()
    {
        var qrels = SmallQrels();
        var report = RunComparison.Compare(qrels, [new("base", Baseline), new("other", Other)], new ComparisonOptions { Resamples = 2000, Permutations = 2000 });
        Assert.Equal(5, report.Queries); // "unjudged" ignored, q5 (no relevant document) kept
        Assert.Equal(["q1", "q2", "q3", "q4", "q5"], report.QueryIds);
        Assert.Equal(["nDCG@10", "Recall@100", "MRR@10"], report.Metrics.Select(m => m.Metric));
        var evalBase = Evaluator.Evaluate(report.QueryIds.Select(q => new EvalQuery(q, "")), qrels, Baseline);
        var mrr = report.Metrics[2];
        Assert.Equal(evalBase.Mrr, mrr.Means[0], 12);
        Assert.Equal((1 + 0.5 + 1 + 1.0 / 3 + 0) / 5, mrr.Means[0], 12);
        Assert.Equal((1 + 1 + 0.5 + 0 + 0) / 5, mrr.Means[1], 12);
        var c = Assert.Single(mrr.Comparisons);
        Assert.Equal(mrr.Means[1] - mrr.Means[0], c.MeanDifference, 12);
        Assert.Null(c.TTestPHolm); // one comparison: no correction
        var t = PairedStatistics.TTest([0, 0.5, -0.5, -1.0 / 3, 0]);
        Assert.Equal(t.P, c.TTestP, 14);
        Assert.Equal(("q2", 0.5, 1.0), (c.Gains[0].QueryId, c.Gains[0].Baseline, c.Gains[0].Value));
        Assert.Single(c.Gains);
        Assert.Equal(["q3", "q4"], c.Losses.Select(l => l.QueryId));
        Assert.Equal(-0.5, c.Losses[0].Difference, 12);
    }

    [Fact]
    public void A_run_against_itself_differs_by_nothing()
    {
        var report = RunComparison.Compare(SmallQrels(), [new("a", Baseline), new("b", Baseline)]);
        foreach (var m in report.Metrics)
        {
            var c = Assert.Single(m.Comparisons);
            Assert.Equal(0, c.MeanDifference);
            Assert.Equal(1, c.TTestP);
            Assert.Equal(1, c.RandomizationP);
            Assert.Equal((0.0, 0.0), (c.CiLow, c.CiHigh));
            Assert.Empty(c.Gains);
            Assert.Empty(c.Losses);
        }
    }

    [Fact]
    public void Three_runs_report_holm_adjusted_p_values()
    {
        var qrels = Qrels.Read(Repo.SharedPath("data", "scifact", "qrels", "test.tsv"));
        using var dir = new TempDir("dss-compare");
        var runs = new[] { (30, 1), (12, 2), (28, 3) }
            .Select(s => new NamedRun($"spread{s.Item1}", Run.ReadTrec(SyntheticRuns.Write(dir.File($"r{s.Item2}.run"), qrels, s.Item2, s.Item1, "t"))))
            .ToList();
        var report = RunComparison.Compare(qrels, runs, new ComparisonOptions { Resamples = 1000, Permutations = 1000, Top = 3 });
        Assert.Equal(300, report.Queries);
        Assert.True(report.Corrected);
        foreach (var m in report.Metrics)
        {
            Assert.Equal(2, m.Comparisons.Count);
            var raw = m.Comparisons.Select(c => c.TTestP).ToList();
            Assert.Equal(Holm.Adjust(raw), m.Comparisons.Select(c => c.TTestPHolm!.Value));
            Assert.Equal(Holm.Adjust(m.Comparisons.Select(c => c.RandomizationP).ToList()), m.Comparisons.Select(c => c.RandomizationPHolm!.Value));
            Assert.All(m.Comparisons, c => Assert.True(c.Gains.Count <= 3 && c.Losses.Count <= 3));
        }
        var ndcg = report.Metrics[0].Comparisons[0];
        Assert.True(ndcg.MeanDifference > 0 && ndcg.CiLow > 0, "the tighter spread ranks relevant documents higher");
        Assert.True(ndcg.TTestP < 0.001 && ndcg.RandomizationP < 0.01);

        var back = ComparisonReport.FromJson(report.ToJson());
        Assert.Equal(report.Metrics[0].Comparisons[1].TTestP, back.Metrics[0].Comparisons[1].TTestP);
        Assert.Equal(report.QueryIds, back.QueryIds);
        string md = report.ToMarkdown();
        Assert.Contains("## nDCG@10", md);
        Assert.Contains("p(t) Holm", md);
        Assert.Contains("Holm", report.ToTable());
    }

    [Fact]
    public void Runs_over_different_query_sets_are_refused_naming_counts_and_a_query()
    {
        var fewer = RunOf(("q1", ["a"]), ("q2", ["b"]), ("q3", ["c"]), ("q5", ["x"]));
        var e = Assert.Throws<InvalidInputException>(() => RunComparison.Compare(SmallQrels(), [new("base", Baseline), new("fewer", fewer)]));
        Assert.Equal("runs cover different query sets: base has 5 judged queries, fewer has 4; query 'q4' is in base but not in fewer (a TREC run has no line for a query that got no hits)", e.Message);
        e = Assert.Throws<InvalidInputException>(() => RunComparison.Compare(SmallQrels(), [new("fewer", fewer), new("base", Baseline)]));
        Assert.Contains("query 'q4' is in base but not in fewer", e.Message);
        // queries without judgments do not count
        var extra = RunOf(("q1", ["a"]), ("q2", ["b"]), ("q3", ["c"]), ("q4", ["d"]), ("q5", ["x"]), ("other-unjudged", ["a"]));
        Assert.Equal(5, RunComparison.Compare(SmallQrels(), [new("base", Baseline), new("extra", extra)]).Queries);
        Assert.Throws<InvalidInputException>(() => RunComparison.Compare(SmallQrels(), [new("base", Baseline)]));
    }
}
