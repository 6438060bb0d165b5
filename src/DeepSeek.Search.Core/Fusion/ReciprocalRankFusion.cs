using DeepSeek.Search.Core;

namespace DeepSeek.Search.Core.Fusion;

/// <summary>
/// Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): score(d) = Σ_lists 1 / (k + rank_list(d)),
/// ranks 1-based, k = 60 by default. Uses ranks only, so the lists' raw scores never meet.
/// Ties are broken by document id (ordinal), so the output is deterministic.
/// </summary>
public static class ReciprocalRankFusion
{
    public const int DefaultK = 60;

    public static IReadOnlyList<Hit> Fuse(IReadOnlyList<IReadOnlyList<Hit>> lists, int limit, int k = DefaultK)
    {
        if (k < 0) throw new InvalidInputException($"RRF k must be >= 0, got {k}");
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var list in lists)
            for (int i = 0; i < list.Count; i++)
            {
                scores.TryGetValue(list[i].DocumentId, out var s);
                scores[list[i].DocumentId] = s + 1.0 / (k + i + 1);
            }
        return Ranking.Top(scores, limit);
    }
}
