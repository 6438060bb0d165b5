namespace DeepSeek.Search.Indexing;

/// <summary>
/// An acknowledged batch: <see cref="Seq"/> is its sequence number (the version of every document it wrote), and it is on
/// disk and visible to every search that starts from now on. <see cref="Unchanged"/> counts upserted documents whose content
/// equalled their live version's (nothing written for them). A batch that changed nothing has <see cref="Seq"/> 0.
/// </summary>
public sealed record WriteResult(long Seq, int Upserted, int Unchanged, int Deleted, int Chunks, TimeSpan Elapsed);

/// <summary>A finished compaction: the new snapshot, the sequence number it was copied at and caught up to, and what it reclaimed.</summary>
public sealed record CompactionResult(string Snapshot, long CopiedAtSeq, long CaughtUpToSeq, long Documents, long ReclaimedRows, long IndexedVectors, TimeSpan Elapsed);

/// <summary>Where a live collection stands: its last batch, live documents, rows waiting to be reclaimed, vectors not yet in FAISS.</summary>
public sealed record CollectionStatus(string Snapshot, long LastSeq, long Documents, long RemovedRows, long PendingVectors, long NextChunkId);

/// <summary>Settings of a live writer.</summary>
public sealed record WriterOptions
{
    /// <summary>"cpu", "cuda", "cuda:N" or "auto": where upserted chunks are encoded.</summary>
    public string Device { get; init; } = "cpu";
    public int EncodeBatchSize { get; init; } = 64;
    /// <summary>Most documents (or ids) one batch may hold.</summary>
    public int MaxBatchDocuments { get; init; } = 10_000;
    /// <summary>Longest document id, in characters.</summary>
    public int MaxIdLength { get; init; } = 512;
    /// <summary>Compaction is advised when removed rows reach this fraction of live documents…</summary>
    public double CompactRemovedFraction { get; init; } = 0.10;
    /// <summary>…or this many chunk vectors wait in the store for the FAISS file.</summary>
    public long CompactPendingVectors { get; init; } = 50_000;
    /// <summary>How a collection that does not exist yet is created (an empty snapshot); null: opening it is an error.</summary>
    public BuildOptions? CreateWith { get; init; }
}
