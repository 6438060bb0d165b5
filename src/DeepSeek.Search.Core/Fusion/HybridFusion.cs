namespace DeepSeek.Search.Core.Fusion;

/// <summary>
/// The fusion of a hybrid search's two lists, and the merge of per-shard lists before it: the one place both a collection
/// and a query front over its shards rank with, so a sharded collection ranks as one would.
/// </summary>
public static class HybridFusion
{
    /// <summary>The top <paramref name="limit"/> of <paramref name="lexical"/> and <paramref name="dense"/> fused by <paramref name="method"/>.</summary>
    public static IReadOnlyList<Hit> Fuse(FusionMethod method, IReadOnlyList<Hit> lexical, IReadOnlyList<Hit> dense, float alpha, int limit) =>
        method == FusionMethod.Rrf ? ReciprocalRankFusion.Fuse([lexical, dense], limit) : MinMaxFusion.Fuse(lexical, dense, alpha, limit);

    /// <summary>
    /// The top <paramref name="limit"/> of the union of per-shard rankings whose scores are comparable (BM25 under the same
    /// corpus statistics, or inner products): score descending, then document id (ordinal) — the order one index returns, so
    /// the merge of the shards' top-k lists is the whole collection's top-k. A document listed twice keeps its best score.
    /// </summary>
    public static IReadOnlyList<Hit> MergeShards(IEnumerable<IReadOnlyList<Hit>> lists, int limit)
    {
        ArgumentNullException.ThrowIfNull(lists);
        var best = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var list in lists)
            foreach (var h in list)
                if (!best.TryGetValue(h.DocumentId, out var s) || h.Score > s) best[h.DocumentId] = h.Score;
        return Ranking.Top(best, limit);
    }
}
