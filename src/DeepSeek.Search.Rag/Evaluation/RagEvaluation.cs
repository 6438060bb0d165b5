namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>
/// One question answered and scored: the answer, its exact match and F1 (SQuAD v1.1, citation markers removed, the best
/// over the gold answers), the documents of the sources it was given in prompt order, the rank of the first gold one
/// among them, whether any source contains a gold answer, the documents it cites (each once, in order of first citation)
/// and how many of those sources contain a gold answer.
/// </summary>
public sealed record RagQuestionScore(
    string Id,
    string Question,
    IReadOnlyList<string> GoldAnswers,
    IReadOnlyList<string> GoldDocuments,
    string Answer,
    double ExactMatch,
    double F1,
    IReadOnlyList<string> SourceIds,
    int? GoldRank,
    bool AnswerInSources,
    IReadOnlyList<string> CitedSourceIds,
    int SupportedCitations,
    bool NoSources,
    string FinishReason,
    RagTimings Timings)
{
    public CitationCheck Citations => new(CitedSourceIds.Count, SupportedCitations);
}

/// <summary>The means over the questions evaluated (<see cref="RagEvaluation.Summarize"/>).</summary>
public sealed record RagEvalSummary(
    int Questions,
    int NoSourceAnswers,
    IReadOnlyDictionary<string, int> FinishReasons,
    double ExactMatch,
    double F1,
    double RecallAt1,
    double RecallAt3,
    double RecallAt5,
    double RecallAtAll,
    double AnswerInSources,
    CitationSummary Citations,
    IReadOnlyList<StageLatency> Latency);

/// <summary>Scores answers against their questions' gold answers and passages, and averages the scores.</summary>
public static class RagEvaluation
{
    /// <summary>The score of <paramref name="answer"/> to <paramref name="question"/>.</summary>
    public static RagQuestionScore Score(RagQuestion question, RagAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(answer);
        string scored = AnswerScoring.WithoutCitations(answer.Answer);
        var sourceIds = answer.Sources.Select(s => s.DocumentId).ToList();
        var cited = answer.Citations.Select(c => answer.Sources.Single(s => s.Number == c.Number)).ToList();
        var check = CitationScoring.Check(cited.Select(s => s.Passage).ToList(), question.Answers);
        return new RagQuestionScore(
            question.Id,
            question.Text,
            question.Answers,
            question.GoldDocuments.Order(StringComparer.Ordinal).ToList(),
            answer.Answer,
            AnswerScoring.MaxExactMatch(scored, question.Answers),
            AnswerScoring.MaxF1(scored, question.Answers),
            sourceIds,
            SourceRecall.GoldRank(sourceIds, question.GoldDocuments),
            answer.Sources.Any(s => AnswerScoring.ContainsAnswer(s.Passage, question.Answers)),
            cited.Select(s => s.DocumentId).ToList(),
            check.Supported,
            answer.NoSources,
            answer.FinishReason,
            answer.Timings);
    }

    /// <summary>The means of <paramref name="scores"/>: every question counts in each mean (a no-sources answer too, as given).</summary>
    public static RagEvalSummary Summarize(IReadOnlyList<RagQuestionScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var ranks = scores.Select(s => s.GoldRank).ToList();
        double Mean(Func<RagQuestionScore, double> f) => scores.Count == 0 ? 0 : scores.Average(f);
        return new RagEvalSummary(
            scores.Count,
            scores.Count(s => s.NoSources),
            scores.GroupBy(s => s.FinishReason, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            Mean(s => s.ExactMatch),
            Mean(s => s.F1),
            SourceRecall.RecallAt(ranks, 1),
            SourceRecall.RecallAt(ranks, 3),
            SourceRecall.RecallAt(ranks, 5),
            SourceRecall.RecallAt(ranks, null),
            Mean(s => s.AnswerInSources ? 1 : 0),
            CitationScoring.Summarize(scores.Select(s => s.Citations).ToList()),
            StageLatency.OfAll(scores.Select(s => s.Timings).ToList()));
    }
}
