namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// One result of a collection search, with the stored title, text and metadata for display, and the document's version
/// (the sequence number of the batch that wrote it).
/// </summary>
public sealed record SearchHit(int Rank, string DocumentId, float Score, string Title, string Text, string? MetadataJson = null, long Version = 0);

/// <summary>The hits of one search and the sequence number of the committed state it saw (every hit is as of that batch).</summary>
public sealed record SearchResponse(long Seq, IReadOnlyList<SearchHit> Hits);
