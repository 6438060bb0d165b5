using DeepSeek.Search.Rag.Evaluation;

namespace DeepSeek.Search.Rag.Tests.Evaluation;

public class SourceRecallTests
{
    [Fact]
    public void The_gold_rank_is_the_first_gold_source_in_prompt_order()
    {
        Assert.Equal(2, SourceRecall.GoldRank(["d3", "d1", "d2"], new HashSet<string> { "d1" }));
        Assert.Equal(1, SourceRecall.GoldRank(["d3", "d1", "d2"], new HashSet<string> { "d2", "d3" }));
        Assert.Null(SourceRecall.GoldRank(["d3", "d1"], new HashSet<string> { "d9" }));
        Assert.Null(SourceRecall.GoldRank([], new HashSet<string> { "d1" }));
    }

    [Fact]
    public void Recall_at_k_is_the_share_of_questions_with_a_gold_source_in_the_first_k()
    {
        int?[] ranks = [1, 3, null, 5, 2, 6];
        Assert.Equal(1.0 / 6, SourceRecall.RecallAt(ranks, 1), 12);
        Assert.Equal(3.0 / 6, SourceRecall.RecallAt(ranks, 3), 12);    // ranks 1, 3, 2
        Assert.Equal(4.0 / 6, SourceRecall.RecallAt(ranks, 5), 12);    // and 5
        Assert.Equal(5.0 / 6, SourceRecall.RecallAt(ranks, null), 12); // every source: all but the question without a gold source
        Assert.Equal(0, SourceRecall.RecallAt([], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SourceRecall.RecallAt(ranks, 0));
    }
}
