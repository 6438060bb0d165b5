namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// One result of a collection search: the document (stored title, text and metadata for display, its version — the
/// sequence number of the batch that wrote it), its fused score and what each side contributed (<see cref="Bm25Score"/>,
/// <see cref="DenseScore"/>: null when that side did not retrieve the document or was not run), the chunk the hit rests
/// on (<see cref="Chunk"/>: the best dense chunk, else the chunk holding most query-term matches; null when the document
/// has no chunks), and a <see cref="Snippet"/> of the text around it with the query terms' <see cref="Snippet.Highlights"/>.
/// </summary>
public sealed record SearchHit(int Rank, string DocumentId, float Score, string Title, string Text, string? MetadataJson = null, long Version = 0)
{
    /// <summary>The BM25 score of the document, when the lexical side retrieved it.</summary>
    public float? Bm25Score { get; init; }
    /// <summary>The inner product of the query with the document's best chunk, when the dense side retrieved it.</summary>
    public float? DenseScore { get; init; }
    /// <summary>The chunk the hit rests on, with its character span in <see cref="Text"/>.</summary>
    public ChunkSpan? Chunk { get; init; }
    /// <summary>The text around <see cref="Chunk"/> with the query's matching terms marked; null when snippets were not asked for.</summary>
    public Snippet? Snippet { get; init; }
    /// <summary>The score the first stage gave the hit, when a re-ranker replaced <see cref="Score"/> (DeepSeek.Search.Rerank).</summary>
    public float? FirstStageScore { get; init; }
    /// <summary>The re-ranker's raw score of the hit's passage, when it was re-ranked.</summary>
    public float? RerankScore { get; init; }
}

/// <summary>A chunk of a document: its id and its character span [Start, End) in the document's text (UTF-16 units).</summary>
public readonly record struct ChunkSpan(long ChunkId, int Start, int End);

/// <summary>
/// A piece of a document's text: <see cref="Text"/> (with "…" at a cut end), the offset in the document where it starts
/// (<see cref="DocumentStart"/>, the first character after any leading "…"), and the spans [Start, End) within
/// <see cref="Text"/> of the tokens matching the query (UTF-16 units), in order.
/// </summary>
public sealed record Snippet(string Text, int DocumentStart, IReadOnlyList<(int Start, int End)> Highlights);

/// <summary>Where the time of one search went, in milliseconds; a stage that did not run is 0.</summary>
public sealed record SearchTimings(double EncodeMs, double Bm25Ms, double DenseMs, double FuseMs, double FetchMs)
{
    /// <summary>Time spent re-ranking (0 when the hits were not re-ranked).</summary>
    public double RerankMs { get; init; }
}

/// <summary>The hits of one search, the sequence number of the committed state it saw (every hit is as of that batch), and its stage timings.</summary>
public sealed record SearchResponse(long Seq, IReadOnlyList<SearchHit> Hits, SearchTimings Timings);
