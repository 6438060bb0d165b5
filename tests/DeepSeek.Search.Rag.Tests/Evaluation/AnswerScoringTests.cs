using DeepSeek.Search.Rag.Evaluation;

namespace DeepSeek.Search.Rag.Tests.Evaluation;

/// <summary>
/// SQuAD v1.1 scoring against hand-computed cases: each expected value follows from the official script's rules (lower,
/// drop ASCII punctuation, drop the words a/an/the, collapse whitespace; F1 over token multisets, max over gold answers).
/// </summary>
public class AnswerScoringTests
{
    [Theory]
    [InlineData("The Denver Broncos!", "denver broncos")]
    [InlineData("Levi's Stadium", "levis stadium")]                        // punctuation is dropped, not replaced by a space
    [InlineData("Santa Clara, California.", "santa clara california")]
    [InlineData("1,000", "1000")]
    [InlineData("U.S.A.", "usa")]
    [InlineData("rock-and-roll", "rockandroll")]
    [InlineData("the_end", "theend")]                                     // '_' is punctuation: then "theend" is no article
    [InlineData("24\u201310", "24\u201310")]                              // the en dash is not ASCII punctuation: it stays
    [InlineData("(The) \"golden anniversary\"", "golden anniversary")]
    [InlineData("a, an, the", "")]                                       // only articles: nothing is left
    [InlineData("theory of an anthem", "theory of anthem")]              // articles as words only, not inside words
    [InlineData("a1 the2 an", "a1 the2")]                                 // a digit is a word character: "a1" is no article
    [InlineData("the\u00b2", "the\u00b2")]                                // so is '²' (Python's \w); .NET's \w would cut "the" here
    [InlineData("\u00e9the", "\u00e9the")]                                // a letter before "the" joins it into one word
    [InlineData("a\u0301 b", "\u0301 b")]                                 // a combining mark is no word character in Python: "a" is cut
    [InlineData("An apple\u001cthe pear", "apple pear")]                  // U+001C is whitespace to Python's split()
    [InlineData("A\u00a0dog", "dog")]                                     // so is the no-break space
    [InlineData("  \u00dcbersee   THE\t", "\u00fcbersee")]
    public void Normalisation_follows_the_squad_v1_1_script(string text, string expected) =>
        Assert.Equal(expected, AnswerScoring.Normalize(text));

    [Fact]
    public void Exact_match_compares_normalised_strings_and_takes_the_best_gold_answer()
    {
        Assert.Equal(1, AnswerScoring.ExactMatch("The Broncos.", "broncos"));
        Assert.Equal(0, AnswerScoring.ExactMatch("Denver Broncos won", "Denver Broncos"));
        Assert.Equal(1, AnswerScoring.ExactMatch("the", "an"));               // both normalise to ""
        Assert.Equal(1, AnswerScoring.MaxExactMatch("Levi's Stadium", ["Santa Clara, California", "Levis stadium"]));
        Assert.Equal(0, AnswerScoring.MaxExactMatch("Santa Clara", ["Santa Clara, California", "Levi's Stadium"]));
        Assert.Throws<ArgumentException>(() => AnswerScoring.MaxExactMatch("x", []));
    }

    [Fact]
    public void F1_counts_shared_tokens_as_multisets()
    {
        // [denver, broncos, won] against [denver, broncos]: P 2/3, R 1, F1 = 2·(2/3)·1 / (5/3) = 0.8
        Assert.Equal(0.8, AnswerScoring.F1("the Denver Broncos won", "Denver Broncos"), 12);
        // [gold, gold, gold] against [gold]: one shared token, P 1/3, R 1, F1 = 0.5
        Assert.Equal(0.5, AnswerScoring.F1("gold gold gold", "gold"), 12);
        // [a1, x] against [a1, x, y, z]: P 1, R 1/2, F1 = 2/3
        Assert.Equal(2.0 / 3, AnswerScoring.F1("a1 x", "a1 x y z"), 12);
        Assert.Equal(0, AnswerScoring.F1("Carolina Panthers", "Denver Broncos"));
        Assert.Equal(0, AnswerScoring.F1("the", "a"));                        // v1.1: both empty scores 0 (exact match 1)
        Assert.Equal(1, AnswerScoring.F1("THE Denver, Broncos!", "denver broncos"));
        // max over gold answers: [santa, clara] against [santa, clara, california]: P 1, R 2/3, F1 0.8; the other 0
        Assert.Equal(0.8, AnswerScoring.MaxF1("Santa Clara", ["Levi's Stadium", "Santa Clara, California"]), 12);
    }

    [Theory]
    [InlineData("Denver Broncos [1].", "Denver Broncos  .")]
    [InlineData("Carolina[2, 13]Panthers", "Carolina Panthers")]
    [InlineData("[1][2] it is [3,4]", "   it is  ")]
    [InlineData("a [1 2] b [x] c []", "a [1 2] b [x] c []")]                 // not markers CitationFilter passes
    public void Citation_markers_are_removed_before_scoring(string answer, string expected) =>
        Assert.Equal(expected, AnswerScoring.WithoutCitations(answer));

    [Fact]
    public void An_answer_that_cites_scores_as_the_same_answer_without_markers()
    {
        string cited = AnswerScoring.WithoutCitations("Denver Broncos [1, 2].");
        Assert.Equal(1, AnswerScoring.MaxExactMatch(cited, ["Denver Broncos"]));
        // without removal the marker's digits would be tokens: [denver, broncos, 1, 2] → F1 2/3, EM 0
        Assert.Equal(0, AnswerScoring.MaxExactMatch("Denver Broncos [1, 2].", ["Denver Broncos"]));
        Assert.Equal(2.0 / 3, AnswerScoring.MaxF1("Denver Broncos [1, 2].", ["Denver Broncos"]), 12);
    }

    [Fact]
    public void Containment_is_of_normalised_tokens_in_a_row()
    {
        const string passage = "The game was played on February 7, 2016, at Levi's Stadium; the golden anniversary.";
        Assert.True(AnswerScoring.ContainsAnswer(passage, ["February 7, 2016"]));
        Assert.True(AnswerScoring.ContainsAnswer(passage, ["nothing", "Levi's Stadium"]));
        Assert.True(AnswerScoring.ContainsAnswer(passage, ["the Golden Anniversary"]));
        Assert.False(AnswerScoring.ContainsAnswer(passage, ["gold"]));                 // "golden" is another token
        Assert.False(AnswerScoring.ContainsAnswer(passage, ["Stadium Levi's"]));
        Assert.False(AnswerScoring.ContainsAnswer(passage, ["the"]));                  // normalises to nothing: found nowhere
        Assert.False(AnswerScoring.ContainsAnswer(passage, []));
    }
}
