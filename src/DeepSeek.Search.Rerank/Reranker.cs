using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;

namespace DeepSeek.Search.Rerank;

/// <summary>One candidate of a first-stage ranking: its key (a document id), the passage the re-ranker reads, its first-stage score.</summary>
public sealed record RerankCandidate(string Id, string Passage, float Score);

/// <summary>A re-ranked candidate: its index in the input list, the final score, and the re-ranker's raw score (null below the depth).</summary>
public readonly record struct Reranked(int Index, float Score, float? RerankScore);

/// <summary>
/// Re-ranks the top <see cref="RerankOptions.Depth"/> of a first-stage ranking: the scorer scores each candidate's passage,
/// and the final score interpolates re-ranker and first stage with <see cref="RerankOptions.Weight"/> by Core's min-max
/// fusion (both sides normalised over the re-scored candidates). Candidates below the depth follow in their first-stage order,
/// with scores below every re-scored one.
/// </summary>
public sealed class Reranker
{
    public Reranker(IPassageScorer scorer, RerankOptions? options = null)
    {
        Scorer = scorer ?? throw new ArgumentNullException(nameof(scorer));
        Options = options ?? new RerankOptions();
        Options.Validate();
    }

    public IPassageScorer Scorer { get; }
    public RerankOptions Options { get; }

    /// <summary>The new order of <paramref name="candidates"/> (given best first), best first.</summary>
    public IReadOnlyList<Reranked> Rerank(string query, IReadOnlyList<RerankCandidate> candidates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        int depth = Math.Min(Options.Depth, candidates.Count);
        if (depth == 0) return Array.Empty<Reranked>();
        var head = candidates.Take(depth).ToArray();
        if (head.Select(c => c.Id).Distinct(StringComparer.Ordinal).Count() != head.Length)
            throw new InvalidInputException("re-ranking candidates must have distinct ids");
        var raw = Scorer.Score(query, head.Select(c => c.Passage).ToArray(), cancellationToken);
        if (raw.Length != head.Length) throw new InvalidOperationException($"the scorer returned {raw.Length} scores for {head.Length} passages");
        var index = new Dictionary<string, int>(head.Length, StringComparer.Ordinal);
        for (int i = 0; i < head.Length; i++) index[head[i].Id] = i;
        var first = head.Select(c => new Hit(c.Id, c.Score)).ToArray();
        var second = head.Select((c, i) => new Hit(c.Id, raw[i])).ToArray();
        var fused = MinMaxFusion.Fuse(first, second, Options.Weight, head.Length);
        var result = new List<Reranked>(candidates.Count);
        foreach (var h in fused) result.Add(new Reranked(index[h.DocumentId], h.Score, raw[index[h.DocumentId]]));
        // below the depth: first-stage order, scored under the lowest re-scored candidate
        float floor = fused.Count > 0 ? fused[^1].Score : 0;
        for (int i = depth; i < candidates.Count; i++) result.Add(new Reranked(i, floor - (i - depth + 1), null));
        return result;
    }
}
