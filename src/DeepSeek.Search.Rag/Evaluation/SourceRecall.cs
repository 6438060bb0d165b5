namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>
/// Answer-passage recall of the sources a model was given: whether a gold passage (a document the qrels judge relevant to
/// the question) is among the first k sources, in the order they were numbered in the prompt.
/// </summary>
public static class SourceRecall
{
    /// <summary>The 1-based rank of the first source that is a gold document, or null when none is.</summary>
    public static int? GoldRank(IReadOnlyList<string> sourceDocumentIds, IReadOnlySet<string> goldDocuments)
    {
        ArgumentNullException.ThrowIfNull(sourceDocumentIds);
        ArgumentNullException.ThrowIfNull(goldDocuments);
        for (int i = 0; i < sourceDocumentIds.Count; i++)
            if (goldDocuments.Contains(sourceDocumentIds[i])) return i + 1;
        return null;
    }

    /// <summary>
    /// Recall@<paramref name="k"/> over questions with these gold ranks: the fraction whose gold rank is at most k (null
    /// <paramref name="k"/>: any rank, i.e. a gold passage among all the sources given). 0 for no questions.
    /// </summary>
    public static double RecallAt(IReadOnlyList<int?> goldRanks, int? k)
    {
        ArgumentNullException.ThrowIfNull(goldRanks);
        if (k is < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "recall@k needs k >= 1");
        if (goldRanks.Count == 0) return 0;
        return (double)goldRanks.Count(r => r is int rank && (k is null || rank <= k)) / goldRanks.Count;
    }
}
