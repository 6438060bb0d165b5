using DeepSeek.Search.Core;

namespace DeepSeek.Search.Core.Fusion;

/// <summary>
/// Convex combination of min-max normalised scores: score(d) = α · dense'(d) + (1 − α) · lexical'(d), where each
/// list's scores are mapped to [0, 1] by (s − min) / (max − min) over that list. A document absent from a list gets 0
/// on that side (its list's minimum). A list whose scores are all equal normalises to 1 for each of its documents.
/// Raw BM25 and cosine scores are never averaged directly: their scales differ by orders of magnitude.
/// </summary>
public static class MinMaxFusion
{
    public const float DefaultAlpha = 0.5f;

    public static IReadOnlyList<Hit> Fuse(IReadOnlyList<Hit> lexical, IReadOnlyList<Hit> dense, float alpha, int limit)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new InvalidInputException($"alpha must be in [0, 1], got {alpha}");
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        Accumulate(scores, lexical, 1 - alpha);
        Accumulate(scores, dense, alpha);
        return Ranking.Top(scores, limit);
    }

    static void Accumulate(Dictionary<string, double> scores, IReadOnlyList<Hit> list, double weight)
    {
        if (list.Count == 0) return;
        double min = list.Min(h => (double)h.Score), max = list.Max(h => (double)h.Score);
        double range = max - min;
        foreach (var h in list)
        {
            double norm = range > 0 ? (h.Score - min) / range : 1.0;
            scores.TryGetValue(h.DocumentId, out var s);
            scores[h.DocumentId] = s + weight * norm;
        }
    }
}
