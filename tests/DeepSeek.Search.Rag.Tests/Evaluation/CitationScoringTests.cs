using DeepSeek.Search.Rag.Evaluation;

namespace DeepSeek.Search.Rag.Tests.Evaluation;

public class CitationScoringTests
{
    [Fact]
    public void A_cited_source_supports_the_answer_when_its_text_contains_a_gold_answer()
    {
        var check = CitationScoring.Check(
            ["The Denver Broncos defeated the Carolina Panthers.", "Gold-themed initiatives."], ["Denver Broncos", "the Broncos"]);
        Assert.Equal(new CitationCheck(2, 1), check);
        Assert.Equal(0.5, check.Precision);
        Assert.Null(CitationScoring.Check([], ["x"]).Precision);
    }

    [Fact]
    public void Precision_is_the_mean_over_citing_answers_and_answers_without_citations_only_lower_the_rate()
    {
        var s = CitationScoring.Summarize([new(2, 1), new(0, 0), new(1, 1), new(0, 0)]);
        Assert.Equal(4, s.Answers);
        Assert.Equal(2, s.CitingAnswers);
        Assert.Equal(0.5, s.CitationRate);
        Assert.Equal(0.75, s.Precision!.Value, 12);          // (1/2 + 1/1) / 2
        Assert.Equal(3, s.CitedSources);
        Assert.Equal(2, s.SupportedSources);
        Assert.Equal(2.0 / 3, s.PooledPrecision!.Value, 12); // (1 + 1) / (2 + 1)
    }

    [Fact]
    public void With_no_citation_at_all_precision_is_undefined_not_zero()
    {
        var s = CitationScoring.Summarize([new(0, 0), new(0, 0)]);
        Assert.Equal(0, s.CitationRate);
        Assert.Null(s.Precision);
        Assert.Null(s.PooledPrecision);
        Assert.Equal(0, CitationScoring.Summarize([]).Answers);
    }
}
