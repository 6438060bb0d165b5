namespace DeepSeek.Search.Core;

/// <summary>
/// A token window of one document, the unit the dense index stores.
/// <paramref name="ChunkId"/> is the 64-bit id stored in the vector index; <paramref name="Start"/>/<paramref name="End"/>
/// are character offsets into the document's encoded text (title + separator + body).
/// </summary>
public sealed record Chunk(long ChunkId, string DocumentId, int Ordinal, int Start, int End, string Text);
