namespace DeepSeek.Search.Store;

/// <summary>
/// The registry row of a document that <c>dss reindex</c> read from a source: the source that claims it (a normalized,
/// stable string: the absolute path of the folder or JSONL file), the source's modification time for this document when it
/// was read (the file's for a folder document, the JSONL file's otherwise; null where the source has none), and the run that
/// last saw it. The content hash and version are the document's own (<see cref="StoredDocument"/>).
/// </summary>
public sealed record SourceEntry(string DocumentId, string Source, DateTime? SourceModifiedUtc, string LastRun);

/// <summary>
/// A live document as the re-index diff sees it: id, version and content hash from its row, and its registry entry's source,
/// modification time and last run (all null when no source claims it: written by <c>dss index</c> or <c>dss upsert</c>).
/// </summary>
public sealed record RegisteredDocument(string Id, long Version, string Sha256, string? Source, DateTime? SourceModifiedUtc, string? LastRun);

/// <summary>
/// One re-index run as the store records it: its sources (one per line), when it started and finished (null: unfinished, the
/// next run continues it), the collection's sequence number when it started (documents it wrote have versions above it), how
/// many attempts it took, and its counts so far (<paramref name="Unchanged"/> is set when it finishes).
/// </summary>
public sealed record ReindexRunRecord(
    string RunId, string Sources, DateTime StartedUtc, DateTime? FinishedUtc, long StartSeq, int Attempts,
    long Added, long Changed, long Unchanged, long Deleted, long Chunks);

/// <summary>
/// Registry changes that go into the same store transaction as a batch (or into one of their own): entries to set, the
/// sources whose remaining entries a finished run marks as seen (<paramref name="SeenBySources"/>, with the run's id), and the
/// run record to store.
/// </summary>
public sealed record RegistryUpdate(IReadOnlyList<SourceEntry> Entries, ReindexRunRecord? Run = null, IReadOnlyList<string>? SeenBySources = null)
{
    public bool IsEmpty => Entries.Count == 0 && Run is null && (SeenBySources is null || SeenBySources.Count == 0);
}
