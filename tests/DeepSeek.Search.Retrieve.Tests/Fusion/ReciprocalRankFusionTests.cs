using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;

namespace DeepSeek.Search.Retrieve.Tests.Fusion;

public class ReciprocalRankFusionTests
{
    static List<Hit> L(params string[] ids) => ids.Select((id, i) => new Hit(id, 100f - i)).ToList();

    [Fact]
    public void Scores_are_sums_of_reciprocal_ranks_with_k_60()
    {
        var fused = ReciprocalRankFusion.Fuse([L("a", "b", "c"), L("c", "a")], limit: 10);
        // a: 1/61 + 1/62; c: 1/63 + 1/61; b: 1/62
        Assert.Equal(["a", "c", "b"], fused.Select(h => h.DocumentId));
        Assert.Equal(1.0 / 61 + 1.0 / 62, fused[0].Score, 6);
        Assert.Equal(1.0 / 63 + 1.0 / 61, fused[1].Score, 6);
        Assert.Equal(1.0 / 62, fused[2].Score, 6);
    }

    [Fact]
    public void Raw_scores_are_ignored()
    {
        var lexical = new List<Hit> { new("x", 1000f), new("y", 999f) };
        var dense = new List<Hit> { new("y", 0.2f), new("x", 0.1f) };
        var fused = ReciprocalRankFusion.Fuse([lexical, dense], 10);
        Assert.Equal(fused[0].Score, fused[1].Score, 6);
        Assert.Equal(["x", "y"], fused.Select(h => h.DocumentId)); // tie → id order
    }

    [Fact]
    public void Limit_truncates_and_negative_k_is_rejected()
    {
        Assert.Single(ReciprocalRankFusion.Fuse([L("a", "b", "c")], limit: 1));
        Assert.Throws<InvalidInputException>(() => ReciprocalRankFusion.Fuse([L("a")], 10, k: -1));
    }
}
