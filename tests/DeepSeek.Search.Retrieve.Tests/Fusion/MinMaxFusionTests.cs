using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;

namespace DeepSeek.Search.Retrieve.Tests.Fusion;

public class MinMaxFusionTests
{
    [Fact]
    public void Normalises_each_side_then_combines_with_alpha()
    {
        var lexical = new List<Hit> { new("a", 30f), new("b", 20f), new("c", 10f) };   // → 1, 0.5, 0
        var dense = new List<Hit> { new("c", 0.9f), new("d", 0.7f), new("a", 0.5f) };  // → 1, 0.5, 0
        var fused = MinMaxFusion.Fuse(lexical, dense, alpha: 0.25f, limit: 10);
        var byId = fused.ToDictionary(h => h.DocumentId, h => h.Score);
        Assert.Equal(0.75 * 1 + 0.25 * 0, byId["a"], 5);
        Assert.Equal(0.75 * 0.5, byId["b"], 5);
        Assert.Equal(0.75 * 0 + 0.25 * 1, byId["c"], 5);
        Assert.Equal(0.25 * 0.5, byId["d"], 5);
        Assert.Equal(["a", "b", "c", "d"], fused.Select(h => h.DocumentId));
    }

    [Fact]
    public void Alpha_one_is_dense_order_and_alpha_zero_is_lexical_order()
    {
        var lexical = new List<Hit> { new("a", 9f), new("b", 5f) };
        var dense = new List<Hit> { new("b", 0.8f), new("a", 0.1f) };
        Assert.Equal(["b", "a"], MinMaxFusion.Fuse(lexical, dense, 1f, 10).Select(h => h.DocumentId));
        Assert.Equal(["a", "b"], MinMaxFusion.Fuse(lexical, dense, 0f, 10).Select(h => h.DocumentId));
    }

    [Fact]
    public void Scale_of_raw_scores_does_not_matter()
    {
        var lexical = new List<Hit> { new("a", 1000f), new("b", 999f) };
        var dense = new List<Hit> { new("b", 0.9f), new("a", 0.1f) };
        var fused = MinMaxFusion.Fuse(lexical, dense, 0.5f, 10);
        Assert.Equal(fused[0].Score, fused[1].Score, 5);
    }

    [Fact]
    public void Constant_list_and_empty_list_and_bad_alpha()
    {
        var one = new List<Hit> { new("a", 3f), new("b", 3f) };
        var fused = MinMaxFusion.Fuse(one, [], 0.5f, 10);
        Assert.All(fused, h => Assert.Equal(0.5f, h.Score, 5));
        Assert.Throws<InvalidInputException>(() => MinMaxFusion.Fuse(one, one, 1.5f, 10));
        Assert.Throws<InvalidInputException>(() => MinMaxFusion.Fuse(one, one, float.NaN, 10));
    }
}
