namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>One answer's citations: how many sources it cites, and how many of those hold a gold answer.</summary>
public sealed record CitationCheck(int Cited, int Supported)
{
    /// <summary>Supported / cited; null when the answer cites nothing.</summary>
    public double? Precision => Cited == 0 ? null : (double)Supported / Cited;
}

/// <summary>
/// Citation precision over answers. <see cref="Precision"/> is the mean, over the answers that cite at least one source, of
/// each answer's supported / cited sources (an answer without citations has 0 citations and takes no part in it; null when
/// no answer cites); <see cref="PooledPrecision"/> pools the citations of all answers instead (supported / cited, summed).
/// <see cref="CitationRate"/> is the fraction of all answers with at least one citation.
/// </summary>
public sealed record CitationSummary(int Answers, int CitingAnswers, double CitationRate, double? Precision, int CitedSources, int SupportedSources,
    double? PooledPrecision);

/// <summary>Citation precision: of the sources an answer cites, the fraction whose text contains a gold answer (normalised, <see cref="AnswerScoring.ContainsAnswer"/>).</summary>
public static class CitationScoring
{
    /// <summary>The check of one answer citing the sources whose texts are <paramref name="citedTexts"/> (each cited source once).</summary>
    public static CitationCheck Check(IReadOnlyList<string> citedTexts, IReadOnlyList<string> golds)
    {
        ArgumentNullException.ThrowIfNull(citedTexts);
        return new CitationCheck(citedTexts.Count, citedTexts.Count(t => AnswerScoring.ContainsAnswer(t, golds)));
    }

    public static CitationSummary Summarize(IReadOnlyList<CitationCheck> checks)
    {
        ArgumentNullException.ThrowIfNull(checks);
        var citing = checks.Where(c => c.Cited > 0).ToList();
        int cited = checks.Sum(c => c.Cited), supported = checks.Sum(c => c.Supported);
        return new CitationSummary(
            checks.Count,
            citing.Count,
            checks.Count == 0 ? 0 : (double)citing.Count / checks.Count,
            citing.Count == 0 ? null : citing.Average(c => c.Precision!.Value),
            cited,
            supported,
            cited == 0 ? null : (double)supported / cited);
    }
}
