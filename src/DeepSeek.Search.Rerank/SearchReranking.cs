using System.Diagnostics;
using DeepSeek.Search.Retrieve.Collections;

namespace DeepSeek.Search.Rerank;

/// <summary>
/// Re-ranking of a collection search: the passage of a hit is its title and the text of the chunk it rests on (the winning
/// chunk: the best dense chunk, else the one holding most query-term matches); hits are re-ordered by <see cref="Reranker"/>,
/// renumbered, cut to k, and keep their first-stage score in <see cref="SearchHit.FirstStageScore"/>.
/// </summary>
public static class SearchReranking
{
    /// <summary>The passage a re-ranker reads for <paramref name="hit"/>: "title. chunk text" (the chunker's "title. body" form).</summary>
    public static string PassageOf(SearchHit hit)
    {
        var (start, end) = ChunkSpan(hit);
        string body = hit.Text[start..end];
        return string.IsNullOrWhiteSpace(hit.Title) ? body : $"{hit.Title.Trim()}. {body}";
    }

    /// <summary>The character span [start, end) of the winning chunk in the hit's text; the whole text when the hit has no usable chunk span.</summary>
    public static (int Start, int End) ChunkSpan(SearchHit hit)
    {
        ArgumentNullException.ThrowIfNull(hit);
        return hit.Chunk is { } c && c.Start >= 0 && c.End <= hit.Text.Length && c.Start <= c.End ? (c.Start, c.End) : (0, hit.Text.Length);
    }

    /// <summary>The hits of <paramref name="first"/> (retrieved at least <see cref="RerankOptions.Depth"/> deep) re-ranked, best <paramref name="k"/>.</summary>
    public static SearchResponse Apply(Reranker reranker, string query, SearchResponse first, int k, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reranker);
        ArgumentNullException.ThrowIfNull(first);
        var sw = Stopwatch.StartNew();
        var candidates = first.Hits.Select(h => new RerankCandidate(h.DocumentId, PassageOf(h), h.Score)).ToList();
        var order = reranker.Rerank(query, candidates, cancellationToken);
        var hits = order.Take(k).Select((r, i) => first.Hits[r.Index] with
        {
            Rank = i + 1,
            Score = r.Score,
            FirstStageScore = first.Hits[r.Index].Score,
            RerankScore = r.RerankScore,
        }).ToList();
        return first with { Hits = hits, Timings = first.Timings with { RerankMs = sw.Elapsed.TotalMilliseconds } };
    }
}
