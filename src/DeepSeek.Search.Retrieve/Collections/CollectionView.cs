using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Index.Lexical;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// One committed state of a collection, as a search sees it: the Lucene commit of batch <see cref="Seq"/>, and the
/// snapshot's store, FAISS index and pending vectors read as of that batch. Immutable; reference-counted by the searches
/// using it, so a refresh never changes the state under a search in progress.
/// </summary>
sealed class CollectionView
{
    int _refs = 1;
    readonly Lazy<(IdSelection Live, long LiveChunks)> _live;

    public CollectionView(SnapshotReader snapshot, LexicalIndex lexical, ExactVectors? pending)
    {
        Snapshot = snapshot;
        Lexical = lexical;
        Seq = lexical.Seq;
        Pending = pending;
        ChunkPrefix = snapshot.Chunks.Count;
        ChunkEnd = snapshot.Chunks.EndAt(ChunkPrefix);
        _live = new Lazy<(IdSelection, long)>(() => Select(null, null), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public SnapshotReader Snapshot { get; }
    public LexicalIndex Lexical { get; }
    public long Seq { get; }
    /// <summary>Vectors of chunks upserted since the snapshot was built (held in the store, searched exactly).</summary>
    public ExactVectors? Pending { get; }
    public int ChunkPrefix { get; }
    /// <summary>One past the highest chunk id this view knows: the capacity of its id selections.</summary>
    public long ChunkEnd { get; }

    public long VectorCount => (Snapshot.Dense?.Count ?? 0) + (Pending?.Count ?? 0);

    public string? DocumentOfChunk(long chunkId) => Snapshot.Chunks.Find(chunkId, ChunkPrefix);

    /// <summary>
    /// The chunk ids a dense search may return for this caller and filter: null when every vector of the view is permitted
    /// (no caller, no filter, nothing deleted or superseded since the snapshot was built).
    /// </summary>
    public IdSelection? Permitted(Caller? caller, FilterExpression? filter, out long permittedChunks)
    {
        if (caller is null && filter is null)
        {
            var (live, liveChunks) = _live.Value;
            permittedChunks = liveChunks;
            // Every stored vector is live: no selection needed (the common case of a freshly built or compacted collection).
            return liveChunks == VectorCount ? null : live;
        }
        (var selection, permittedChunks) = Select(caller, filter);
        return selection;
    }

    /// <summary>The permitted chunks as a selection, also when every vector is permitted (an exact scan needs the ids).</summary>
    public IdSelection PermittedIds(Caller? caller, FilterExpression? filter) =>
        caller is null && filter is null ? _live.Value.Live : Select(caller, filter).Selection;

    (IdSelection Selection, long Chunks) Select(Caller? caller, FilterExpression? filter)
    {
        var selection = new IdSelection(Math.Max(1, ChunkEnd));
        long n = 0;
        Lexical.ForEachPermitted(caller, filter, (first, count) =>
        {
            selection.AddRange(first, count);
            n += count;
        });
        return (selection, n);
    }

    public CollectionView Retain()
    {
        Interlocked.Increment(ref _refs);
        return this;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) != 0) return;
        Lexical.Dispose();
        Snapshot.Release();
    }
}
