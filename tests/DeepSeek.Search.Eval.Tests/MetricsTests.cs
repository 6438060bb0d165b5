using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;

namespace DeepSeek.Search.Eval.Tests;

public class MetricsTests
{
    static readonly Dictionary<string, int> Graded = new() { ["d1"] = 3, ["d2"] = 2, ["d3"] = 0, ["d4"] = 1, ["d5"] = 2 };

    [Fact]
    public void GradedNdcgMatchesAHandComputation()
    {
        // Ranking d3 (g0), d1 (g3), d4 (g1), dx (unjudged), d2 (g2); d5 (g2) is not retrieved.
        // DCG@10  = 0 + 3/log2(3) + 1/log2(4) + 0 + 2/log2(6) = 1.892789 + 0.5 + 0.773706 = 3.166495
        // IDCG@10 = gains 3,2,2,1 → 3/log2(2) + 2/log2(3) + 2/log2(4) + 1/log2(5) = 3 + 1.261860 + 1 + 0.430677 = 5.692536
        // nDCG@10 = 3.166495 / 5.692536 = 0.556254
        // nDCG@3  = (1.892789 + 0.5) / (3 + 1.261860 + 1) = 2.392789 / 5.261860 = 0.454742
        string[] ranked = ["d3", "d1", "d4", "dx", "d2"];
        Assert.Equal(0.556254, Metrics.Ndcg(ranked, Graded, 10), 6);
        Assert.Equal(0.454742, Metrics.Ndcg(ranked, Graded, 3), 6);
        Assert.Equal(1.0, Metrics.Ndcg(["d1", "d2", "d5", "d4"], Graded, 10), 12);
        Assert.Equal(0.0, Metrics.Ndcg([], Graded, 10));
        Assert.Equal(0.0, Metrics.Ndcg(["d1"], new Dictionary<string, int> { ["d1"] = 0, ["d2"] = -1 }, 10));
    }

    [Fact]
    public void NegativeGradesAreNotGainsAndNotRelevant()
    {
        var judgments = new Dictionary<string, int> { ["bad"] = -2, ["good"] = 1 };
        // "bad" at rank 1 contributes nothing; "good" at rank 2: (1/log2 3) / 1 = 0.630930.
        Assert.Equal(0.630930, Metrics.Ndcg(["bad", "good"], judgments, 10), 6);
        Assert.Equal(1.0, Metrics.Recall(["bad", "good"], judgments, 100));
        Assert.Equal(0.5, Metrics.ReciprocalRank(["bad", "good"], judgments, 10));
    }

    [Fact]
    public void TiesAreOrderedLikeTrecEval_ScoreDescThenDocIdDesc()
    {
        Hit[] hits = [new("a", 1f), new("c", 0.5f), new("b", 1f), new("a", 0.2f)];
        var ordered = Metrics.TrecOrder(hits);
        Assert.Equal(["b", "a", "c"], ordered.Select(h => h.DocumentId)); // duplicate "a" dropped, first (best) kept
        Assert.Equal(1f, ordered[1].Score);

        // With "a" the only relevant document, the tie puts it second: MRR 0.5, nDCG (1/log2 3) = 0.630930.
        var judgments = new Dictionary<string, int> { ["a"] = 1 };
        var ids = ordered.Select(h => h.DocumentId).ToList();
        Assert.Equal(0.5, Metrics.ReciprocalRank(ids, judgments, 10));
        Assert.Equal(0.630930, Metrics.Ndcg(ids, judgments, 10), 6);
    }

    [Fact]
    public void RecallWithFewerResultsThanRelevantAndAtTheCutoff()
    {
        var judgments = new Dictionary<string, int> { ["r1"] = 1, ["r2"] = 2, ["r3"] = 1, ["r4"] = 1, ["n"] = 0 };
        Assert.Equal(0.5, Metrics.Recall(["r1", "r2"], judgments, 100));            // 2 of 4 relevant
        Assert.Equal(0.25, Metrics.Recall(["n", "r1", "r2"], judgments, 2));         // only r1 within the top 2
        Assert.Equal(0.0, Metrics.Recall(["x"], new Dictionary<string, int> { ["x"] = 0 }, 100)); // none relevant

        var ranked = Enumerable.Range(0, 100).Select(i => $"x{i}").Append("r1").ToList(); // r1 at rank 101
        Assert.Equal(0.0, Metrics.Recall(ranked, judgments, 100));
        Assert.Equal(0.25, Metrics.Recall(ranked, judgments, 101));
    }

    [Fact]
    public void MrrCountsOnlyTheFirstRelevantWithinTheCutoff()
    {
        var judgments = new Dictionary<string, int> { ["rel"] = 1, ["rel2"] = 3 };
        var tenth = Enumerable.Range(0, 9).Select(i => $"x{i}").Append("rel").ToList();
        Assert.Equal(0.1, Metrics.ReciprocalRank(tenth, judgments, 10), 12);
        var eleventh = Enumerable.Range(0, 10).Select(i => $"x{i}").Append("rel").ToList();
        Assert.Equal(0.0, Metrics.ReciprocalRank(eleventh, judgments, 10));
        Assert.Equal(1.0 / 3, Metrics.ReciprocalRank(["x", "y", "rel2", "rel"], judgments, 10), 12);
    }

    [Fact]
    public void CutoffBelowOneIsInvalid()
    {
        Assert.Throws<InvalidInputException>(() => Metrics.Ndcg([], Graded, 0));
        Assert.Throws<InvalidInputException>(() => Metrics.Recall([], Graded, 0));
        Assert.Throws<InvalidInputException>(() => Metrics.ReciprocalRank([], Graded, -1));
    }
}
