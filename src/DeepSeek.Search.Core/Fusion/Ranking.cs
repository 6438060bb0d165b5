using DeepSeek.Search.Core;

namespace DeepSeek.Search.Core.Fusion;

/// <summary>Top-n of a score table: score descending, then document id ascending (ordinal) for ties.</summary>
internal static class Ranking
{
    public static IReadOnlyList<Hit> Top(Dictionary<string, double> scores, int limit) =>
        scores.OrderByDescending(kv => kv.Value)
              .ThenBy(kv => kv.Key, StringComparer.Ordinal)
              .Take(Math.Max(0, limit))
              .Select(kv => new Hit(kv.Key, (float)kv.Value))
              .ToList();
}
