using DeepSeek.Search.Core;
using DeepSeek.Search.Rag.Evaluation;

namespace DeepSeek.Search.Rag.Tests.Evaluation;

/// <summary>Core's nearest-rank percentiles (used by every latency report) and the per-stage latency built on them.</summary>
public class PercentilesTests
{
    static readonly double[] OneToTen = [7, 2, 10, 1, 9, 4, 3, 8, 6, 5];

    [Theory]
    [InlineData(50, 5)]    // rank ⌈0.5 · 10⌉ = 5
    [InlineData(90, 9)]    // ⌈9⌉ = 9
    [InlineData(99, 10)]   // ⌈9.9⌉ = 10
    [InlineData(100, 10)]
    [InlineData(10, 1)]
    [InlineData(1, 1)]     // ⌈0.1⌉ = 1
    [InlineData(51, 6)]    // ⌈5.1⌉ = 6: a value measured, never between two
    public void Nearest_rank_of_ten_values(double percent, double expected) =>
        Assert.Equal(expected, Percentiles.NearestRank(OneToTen, percent));

    [Fact]
    public void The_rank_is_computed_exactly()
    {
        // in doubles 28 / 100 · 25 = 7.000000000000001 and 7 / 100 · 100 = 7.000000000000001, whose ceilings are 8
        Assert.Equal(7, Percentiles.NearestRank(Enumerable.Range(1, 25).Select(i => (double)i), 28));
        Assert.Equal(7, Percentiles.NearestRank(Enumerable.Range(1, 100).Select(i => (double)i), 7));
        var twenty = Enumerable.Range(1, 20).Select(i => (double)i).ToArray();
        Assert.Equal(10, Percentiles.NearestRank(twenty, 50));
        Assert.Equal(18, Percentiles.NearestRank(twenty, 90));
        Assert.Equal(20, Percentiles.NearestRank(twenty, 99));
    }

    [Fact]
    public void Edge_cases()
    {
        Assert.Equal(3.5, Percentiles.NearestRank([3.5], 1));
        Assert.Equal(3.5, Percentiles.NearestRank([3.5], 99));
        Assert.True(double.IsNaN(Percentiles.NearestRank([], 50)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank(OneToTen, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank(OneToTen, 100.5));
        Assert.Throws<ArgumentException>(() => Percentiles.NearestRank([1, double.NaN], 50));
    }

    [Fact]
    public void Stage_latency_reports_median_p90_p99_mean_and_max_of_each_stage()
    {
        var l = StageLatency.Of("generate", [10, 30, 20, 40]);
        Assert.Equal(new StageLatency("generate", 4, 20, 40, 40, 25, 40), l); // ranks ⌈2⌉, ⌈3.6⌉, ⌈3.96⌉
        Assert.Equal(new StageLatency("x", 0, 0, 0, 0, 0, 0), StageLatency.Of("x", []));

        var all = StageLatency.OfAll([new RagTimings(1, 0, 2, 3, 4, 10), new RagTimings(3, 0, 2, 5, 8, 20), new RagTimings(2, 0, 2, 4, 6, 30)]);
        Assert.Equal(["retrieve", "rerank", "prompt", "first_token", "generate", "total"], all.Select(s => s.Stage));
        Assert.Equal(2, all[0].MedianMs);
        Assert.Equal(3, all[0].P90Ms);
        Assert.Equal(6, all[4].MedianMs);
        Assert.Equal(20, all[5].MeanMs);
        Assert.Equal(30, all[5].MaxMs);
    }
}
