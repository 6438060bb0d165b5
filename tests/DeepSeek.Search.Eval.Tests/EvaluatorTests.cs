using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;

namespace DeepSeek.Search.Eval.Tests;

public class EvaluatorTests
{
    [Fact]
    public void AveragesJudgedQueriesAndCountsSkipped()
    {
        // q1: judged, perfect. q2: judged, no run entry → 0. q3: in queries, no judgments → skipped (unjudged).
        // q4: judged but missing from the queries → skipped (not in queries). q5: judged, only non-relevant → 0.
        EvalQuery[] queries = [new("q1", "one"), new("q2", "two"), new("q3", "three"), new("q5", "five")];
        var qrels = new Qrels();
        qrels.Add("q1", "a", 2);
        qrels.Add("q1", "b", 1);
        qrels.Add("q2", "c", 1);
        qrels.Add("q4", "d", 1);
        qrels.Add("q5", "e", 0);
        var run = new Run();
        run.Set("q1", [new Hit("a", 3f), new Hit("b", 2f), new Hit("z", 1f)]);
        run.Set("q3", [new Hit("a", 1f)]);
        run.Set("q5", [new Hit("e", 1f)]);

        var report = Evaluator.Evaluate(queries, qrels, run);

        Assert.Equal(3, report.Judged);
        Assert.Equal(1, report.SkippedNotInQueries);
        Assert.Equal(1, report.SkippedUnjudged);
        Assert.Equal(2, report.Skipped);
        Assert.Equal(1, report.WithoutResults);
        Assert.Equal(1, report.WithoutRelevant);
        Assert.Equal(["q1", "q2", "q5"], report.PerQuery.Select(m => m.QueryId));
        Assert.Equal(new QueryMetrics("q1", 1, 1, 1, 2, 3), report.PerQuery[0]);
        Assert.Equal(new QueryMetrics("q2", 0, 0, 0, 1, 0), report.PerQuery[1]);
        Assert.Equal(1.0 / 3, report.Ndcg, 12);
        Assert.Equal(1.0 / 3, report.Recall, 12);
        Assert.Equal(1.0 / 3, report.Mrr, 12);
        Assert.Equal("nDCG@10 0.3333  Recall@100 0.3333  MRR@10 0.3333  (3 judged, 2 skipped)", report.Summary());
    }

    [Fact]
    public void CutoffsAreConfigurableAndRecorded()
    {
        var qrels = new Qrels();
        qrels.Add("q", "r", 1);
        var run = new Run();
        run.Set("q", [new Hit("x", 2f), new Hit("r", 1f)]);
        var report = Evaluator.Evaluate([new EvalQuery("q", "t")], qrels, run, new EvalOptions { NdcgAt = 1, RecallAt = 1, MrrAt = 1 });
        Assert.Equal((1, 1, 1), (report.NdcgAt, report.RecallAt, report.MrrAt));
        Assert.Equal((0.0, 0.0, 0.0), (report.Ndcg, report.Recall, report.Mrr));
        Assert.Throws<InvalidInputException>(() => Evaluator.Evaluate([], qrels, run, new EvalOptions { NdcgAt = 0 }));
    }

    [Fact]
    public void NoJudgedQueriesGivesZeroMeans()
    {
        var report = Evaluator.Evaluate([new EvalQuery("q", "t")], new Qrels(), new Run());
        Assert.Equal(0, report.Judged);
        Assert.Equal(1, report.SkippedUnjudged);
        Assert.Equal(0, report.Ndcg);
    }

    [Fact]
    public void ReportRoundTripsThroughJson()
    {
        var qrels = new Qrels();
        qrels.Add("q1", "a", 1);
        var run = new Run();
        run.Set("q1", [new Hit("b", 1f), new Hit("a", 0.5f)]);
        var report = Evaluator.Evaluate([new EvalQuery("q1", "x"), new EvalQuery("q2", "y")], qrels, run);

        string json = report.ToJson();
        Assert.Contains("\"ndcgAt\": 10", json);
        Assert.Contains("\"skipped\": 1", json);
        Assert.Contains("\"perQuery\": [", json);
        var back = EvalReport.FromJson(json);
        Assert.Equal(report.Ndcg, back.Ndcg);
        Assert.Equal(report.Mrr, back.Mrr);
        Assert.Equal(report.Skipped, back.Skipped);
        Assert.Equal(report.PerQuery, back.PerQuery);
        Assert.Throws<InvalidInputException>(() => EvalReport.FromJson("{oops"));
    }

    [Fact]
    public void RunExecuteCallsTheSearchForEveryQuery()
    {
        var asked = new List<(string, int)>();
        var run = Run.Execute([new EvalQuery("q1", "alpha"), new EvalQuery("q2", "beta")],
            (text, k) => { asked.Add((text, k)); return [new Hit(text + "-doc", 1f)]; }, 50);
        Assert.Equal([("alpha", 50), ("beta", 50)], asked);
        Assert.Equal(["q1", "q2"], run.QueryIds);
        Assert.True(run.TryGet("q2", out var hits));
        Assert.Equal("beta-doc", hits[0].DocumentId);
        Assert.False(run.TryGet("q3", out _));
        Assert.Throws<InvalidInputException>(() => Run.Execute([], (_, _) => [], 0));
    }
}
