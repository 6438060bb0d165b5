using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>
/// Ranking metrics with trec_eval's conventions. Every function takes document ids already in trec_eval order
/// (<see cref="TrecOrder"/>: score descending, then document id descending, ordinal) and one query's judgments.
/// <list type="bullet">
/// <item>nDCG@k (trec_eval <c>ndcg_cut</c>): gain = the judged grade when &gt; 0 (linear, not 2^g − 1), discount
/// log2(rank + 1); the ideal ranking sorts all judged documents with grade &gt; 0 by grade and is cut at k; 0 when the
/// query has no relevant document.</item>
/// <item>Recall@k: relevant documents in the top k / relevant documents judged (grade ≥ 1); 0 when none are judged.</item>
/// <item>MRR@k: 1 / rank of the first relevant document within the top k, else 0.</item>
/// </list>
/// </summary>
public static class Metrics
{
    /// <summary>
    /// Orders hits as trec_eval does (score descending, ties by document id descending) and keeps only the first
    /// occurrence of a document id that appears more than once.
    /// </summary>
    public static IReadOnlyList<Hit> TrecOrder(IEnumerable<Hit> hits)
    {
        var sorted = hits.OrderByDescending(h => h.Score)
            .ThenByDescending(h => h.DocumentId, StringComparer.Ordinal)
            .ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        sorted.RemoveAll(h => !seen.Add(h.DocumentId));
        return sorted;
    }

    /// <summary>nDCG@<paramref name="k"/> of <paramref name="ranked"/> document ids.</summary>
    public static double Ndcg(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        CheckK(k);
        double dcg = 0;
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgments.TryGetValue(ranked[i], out int g) && g > 0) dcg += g / Math.Log2(i + 2);
        var ideal = judgments.Values.Where(g => g > 0).OrderByDescending(g => g).Take(k).ToList();
        double idcg = 0;
        for (int i = 0; i < ideal.Count; i++) idcg += ideal[i] / Math.Log2(i + 2);
        return idcg > 0 ? dcg / idcg : 0;
    }

    /// <summary>Recall@<paramref name="k"/> of <paramref name="ranked"/> document ids.</summary>
    public static double Recall(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        CheckK(k);
        int relevant = judgments.Values.Count(g => g >= Qrels.RelevanceLevel);
        if (relevant == 0) return 0;
        int found = 0;
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgments.TryGetValue(ranked[i], out int g) && g >= Qrels.RelevanceLevel) found++;
        return (double)found / relevant;
    }

    /// <summary>Reciprocal rank of the first relevant document within the top <paramref name="k"/>, else 0.</summary>
    public static double ReciprocalRank(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        CheckK(k);
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgments.TryGetValue(ranked[i], out int g) && g >= Qrels.RelevanceLevel) return 1.0 / (i + 1);
        return 0;
    }

    static void CheckK(int k)
    {
        if (k < 1) throw new InvalidInputException($"metric cutoff must be >= 1, got {k}");
    }
}
