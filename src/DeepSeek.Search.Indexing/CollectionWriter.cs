using DeepSeek.Search.Encode;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// The one writer of a live collection: <see cref="Upsert"/> and <see cref="Delete"/> batches, <see cref="Compact"/>.
/// <para>
/// <b>What an acknowledgement means.</b> A call returns only after its batch is durable and visible: (1) the batch is one
/// SQLite transaction in the snapshot's document store (WAL mode, <c>synchronous=FULL</c>: the rows, the chunk vectors
/// and the batch's sequence number are fsynced before the commit returns) — the store is the write-ahead log; (2) the
/// batch is applied to Lucene and committed with its sequence number (Lucene's two-phase commit, fsynced). A search that
/// starts after the return sees the batch. kill -9 after the return loses nothing; kill -9 before it leaves the batch
/// either absent or, when (1) completed, replayed into Lucene by the next <see cref="Open"/> (durable, so it becomes
/// visible whole; never half).
/// </para>
/// <para>
/// <b>Consistency.</b> Readers pin the sequence number of the Lucene commit they open and read the store and the vectors
/// as of that number, so a search sees exactly one committed batch boundary. The FAISS file of a snapshot is never
/// changed: upserted chunks' vectors live in the store until a compaction builds a new snapshot, and deleted chunks are
/// excluded by the Lucene view's live documents.
/// </para>
/// <para>One writer per collection across processes (<see cref="WriterLock"/>); calls on one writer are serialized.</para>
/// </summary>
public sealed class CollectionWriter : IDisposable
{
    readonly CollectionStore _store;
    readonly WriterLock _lock;
    readonly WriterOptions _options;
    readonly object _gate = new();
    Snapshot _snapshot;
    ReaderLease _lease;
    DocumentStoreWriter _ds;
    DocumentStore _reader;
    LexicalIndexWriter _lexical;
    DocumentEmbedder? _embedder;
    long _lastSeq, _nextChunk;
    Exception? _fault;
    bool _disposed;
    int _compacting;

    CollectionWriter(CollectionStore store, WriterLock writerLock, WriterOptions options, Snapshot snapshot, ReaderLease lease,
        DocumentStoreWriter ds, DocumentStore reader, LexicalIndexWriter lexical, DocumentEmbedder? embedder)
    {
        _store = store;
        _lock = writerLock;
        _options = options;
        _snapshot = snapshot;
        _lease = lease;
        _ds = ds;
        _reader = reader;
        _lexical = lexical;
        _embedder = embedder;
        (_lastSeq, _nextChunk) = ds.ReadState();
    }

    /// <summary>Raised after each acknowledged batch (and after a compaction switches snapshots) with the last sequence number.</summary>
    public event EventHandler<long>? Committed;

    public CollectionStore Store => _store;
    public Snapshot Snapshot => _snapshot;
    public long LastSeq { get { lock (_gate) return _lastSeq; } }
    public bool HasDense => _embedder != null;

    /// <summary>
    /// Takes the collection's writer lock (a second writer fails at once, naming the holder), creates the collection when it
    /// does not exist and <see cref="WriterOptions.CreateWith"/> says how, removes what a crashed writer left behind, and
    /// replays into Lucene any batch the store holds but Lucene's last commit does not.
    /// </summary>
    public static CollectionWriter Open(CollectionStore store, WriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new WriterOptions();
        var writerLock = store.LockWriter("live writer");
        try
        {
            store.RemoveAbandonedBuilds();
            if (!store.Exists)
            {
                if (options.CreateWith is null) throw new CollectionNotFoundException(store.Name, store.Root);
                CollectionBuilder.Build(store, writerLock, [], options.CreateWith, allowEmpty: true, null, CancellationToken.None);
            }
            var (snapshot, lease) = store.OpenCurrentLeased();
            var writer = OpenParts(store, writerLock, options, snapshot, lease);
            store.PruneSnapshots(Path.GetFileName(snapshot.Directory));
            return writer;
        }
        catch
        {
            writerLock.Dispose();
            throw;
        }
    }

    // Takes ownership of the lease (the writer holds one on its snapshot, so no prune removes it under the writer).
    static CollectionWriter OpenParts(CollectionStore store, WriterLock writerLock, WriterOptions options, Snapshot snapshot, ReaderLease lease, bool loadEmbedder = true)
    {
        DocumentStoreWriter? ds = null;
        DocumentStore? reader = null;
        LexicalIndexWriter? lexical = null;
        DocumentEmbedder? embedder = null;
        try
        {
            ds = DocumentStoreWriter.OpenLive(snapshot.DocumentStorePath);
            reader = DocumentStore.Open(snapshot.DocumentStorePath);
            lexical = LexicalIndexWriter.OpenLive(snapshot.LexicalPath);
            if (loadEmbedder && snapshot.Manifest.Dense is { } d)
                embedder = DocumentEmbedder.Load(Path.Combine(snapshot.Directory, CollectionStore.EncoderFolderName), d.ChunkTokens, d.ChunkOverlap,
                    options.Device, options.EncodeBatchSize, EncoderPrecisions.Parse(d.Precision));
            CatchUpLexical(reader, lexical, snapshot.LexicalPath);
            return new CollectionWriter(store, writerLock, options, snapshot, lease, ds, reader, lexical, embedder);
        }
        catch
        {
            lease.Dispose();
            embedder?.Dispose();
            lexical?.Dispose();
            reader?.Dispose();
            ds?.Dispose();
            throw;
        }
    }

    /// <summary>Replays into Lucene the batches after its last commit that the store holds (a crash between the two commits).</summary>
    static void CatchUpLexical(DocumentStore reader, LexicalIndexWriter lexical, string lexicalPath)
    {
        long luceneSeq = LexicalIndexWriter.CommittedSeq(lexicalPath), storeSeq = reader.LastSeq;
        if (luceneSeq > storeSeq)
            throw new IndexCorruptException($"lexical index at {lexicalPath} is at batch {luceneSeq} but the document store only at {storeSeq}");
        if (luceneSeq == storeSeq) return;
        foreach (var b in reader.BatchesSince(luceneSeq)) ReplayIntoLexical(reader, lexical, b.Seq);
        lexical.CommitBatch(storeSeq);
    }

    static void ReplayIntoLexical(DocumentStore reader, LexicalIndexWriter lexical, long seq)
    {
        var effect = reader.EffectOf(seq);
        foreach (var d in effect.Written) lexical.Upsert(d.ToDocument(), d.Version, d.FirstChunk, d.ChunkCount);
        foreach (var (id, _) in effect.Deleted) lexical.Delete(id);
    }

    /// <summary>
    /// Adds or replaces the documents of <paramref name="batch"/>, atomically: every document of the batch or none. A
    /// document whose content (title, text, metadata, ACL) equals its live version is left as it is. Bad input (a null
    /// document, an empty, overlong or repeated id, metadata that is not a JSON object, too many documents) throws
    /// <see cref="InvalidInputException"/> before anything is written.
    /// </summary>
    public WriteResult Upsert(IReadOnlyList<Document> batch, CancellationToken cancellationToken = default) =>
        Upsert(batch, null, cancellationToken);

    /// <summary>
    /// <see cref="Upsert(IReadOnlyList{Document}, CancellationToken)"/> with registry changes (<c>dss reindex</c>: the
    /// sources of the batch's documents and the run's counts) in the same store transaction as the batch, so they are durable
    /// exactly when the batch is. The run record's <c>Chunks</c> is the count before this batch: the batch's chunks are added
    /// to it. When every document is unchanged the registry changes are committed on their own.
    /// </summary>
    public WriteResult Upsert(IReadOnlyList<Document> batch, RegistryUpdate? registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var sw = Stopwatch.StartNew();
        ValidateUpserts(batch);
        lock (_gate)
        {
            CheckUsable();
            var changed = new List<(Document Doc, string Sha, StoredDocument? Live)>();
            int unchanged = 0;
            foreach (var d in batch)
            {
                var sha = ContentHash.Of(d);
                var live = _ds.GetLive(d.Id);
                if (live != null && live.Sha256 == sha) unchanged++;
                else changed.Add((d, sha, live));
            }
            if (changed.Count == 0)
            {
                if (registry is { IsEmpty: false }) StoreRegistry(registry);
                return new WriteResult(0, 0, unchanged, 0, 0, sw.Elapsed);
            }

            // Chunk and encode before the batch opens: the slow part, and it may fail without touching anything.
            long next = _nextChunk;
            var chunks = new List<IReadOnlyList<Chunk>>(changed.Count);
            foreach (var (d, _, _) in changed)
            {
                var c = _embedder?.Chunk(d, next) ?? [];
                chunks.Add(c);
                next += c.Count;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var vectors = _embedder?.Encode(chunks.SelectMany(c => c).Select(c => c.Text).ToList()) ?? [];
            cancellationToken.ThrowIfCancellationRequested();

            long seq = _lastSeq + 1;
            int dim = _embedder?.Dimension ?? 0;
            StoreBatch(() =>
            {
                long row = 0;
                for (int i = 0; i < changed.Count; i++)
                {
                    var (d, sha, live) = changed[i];
                    if (live != null) _ds.MarkDeleted(live.Id, live.Version, seq);
                    var first = chunks[i].Count > 0 ? chunks[i][0].ChunkId : next;
                    _ds.Insert(new StoredDocument(d.Id, seq, sha, d.Title ?? "", d.Text ?? "", d.MetadataJson, d.Acl, chunks[i].Count > 0 ? first : 0, chunks[i].Count));
                    foreach (var c in chunks[i])
                    {
                        _ds.InsertChunk(new StoredChunk(c.ChunkId, d.Id, seq, c.Ordinal, c.Start, c.End), vectors.AsSpan((int)(row * dim), dim));
                        row++;
                    }
                    _ds.RecordChange(seq, d.Id, ChangeKind.Upsert);
                }
                if (registry != null)
                    _ds.Apply(registry.Run is { } run ? registry with { Run = run with { Chunks = run.Chunks + chunks.Sum(c => c.Count) } } : registry);
                _ds.CommitBatch(seq, "upsert", changed.Count, 0, next);
            });
            ApplyToLexical(seq, () =>
            {
                for (int i = 0; i < changed.Count; i++)
                {
                    var d = changed[i].Doc;
                    _lexical.Upsert(d, seq, chunks[i].Count > 0 ? chunks[i][0].ChunkId : 0, chunks[i].Count);
                }
            });
            _lastSeq = seq;
            _nextChunk = next;
            int chunkCount = chunks.Sum(c => c.Count);
            Raise(seq);
            return new WriteResult(seq, changed.Count, unchanged, 0, chunkCount, sw.Elapsed);
        }
    }

    /// <summary>
    /// Deletes the documents <paramref name="ids"/>, atomically. An id the collection does not hold throws
    /// <see cref="InvalidInputException"/> naming it, and nothing is deleted.
    /// </summary>
    public WriteResult Delete(IReadOnlyList<string> ids, CancellationToken cancellationToken = default) =>
        Delete(ids, null, cancellationToken);

    /// <summary>
    /// <see cref="Delete(IReadOnlyList{string}, CancellationToken)"/> with registry changes in the same store transaction.
    /// Every delete removes the deleted documents' registry entries (only live documents have one).
    /// </summary>
    public WriteResult Delete(IReadOnlyList<string> ids, RegistryUpdate? registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sw = Stopwatch.StartNew();
        if (ids.Count == 0) throw new InvalidInputException("delete of no ids: give at least one document id");
        if (ids.Count > _options.MaxBatchDocuments)
            throw new InvalidInputException($"delete of {ids.Count} ids exceeds the batch limit of {_options.MaxBatchDocuments}: split it");
        var unique = new List<string>(ids.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (string.IsNullOrEmpty(id)) throw new InvalidInputException("delete of an empty document id");
            if (seen.Add(id)) unique.Add(id);
        }
        lock (_gate)
        {
            CheckUsable();
            var live = new List<StoredDocument>(unique.Count);
            var unknown = new List<string>();
            foreach (var id in unique)
            {
                var d = _ds.GetLive(id);
                if (d == null) unknown.Add(id); else live.Add(d);
            }
            if (unknown.Count > 0)
                throw new InvalidInputException(unknown.Count == 1
                    ? $"unknown document id '{unknown[0]}' in collection '{_store.Name}': nothing deleted"
                    : $"{unknown.Count} unknown document ids in collection '{_store.Name}' (first: '{unknown[0]}'): nothing deleted");
            cancellationToken.ThrowIfCancellationRequested();
            long seq = _lastSeq + 1;
            StoreBatch(() =>
            {
                foreach (var d in live)
                {
                    _ds.MarkDeleted(d.Id, d.Version, seq);
                    _ds.RecordChange(seq, d.Id, ChangeKind.Delete);
                    _ds.RemoveSource(d.Id);
                }
                if (registry != null) _ds.Apply(registry);
                _ds.CommitBatch(seq, "delete", 0, live.Count, _nextChunk);
            });
            ApplyToLexical(seq, () => { foreach (var d in live) _lexical.Delete(d.Id); });
            _lastSeq = seq;
            Raise(seq);
            return new WriteResult(seq, 0, 0, live.Count, 0, sw.Elapsed);
        }
    }

    /// <summary>
    /// Commits registry changes alone (no batch, no new sequence number, nothing for Lucene): a re-index's sources of
    /// unchanged documents, its run record. Durable when this returns.
    /// </summary>
    public void RecordRegistry(RegistryUpdate registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        lock (_gate)
        {
            CheckUsable();
            if (!registry.IsEmpty) StoreRegistry(registry);
        }
    }

    void StoreRegistry(RegistryUpdate registry)
    {
        _ds.BeginBatch();
        try
        {
            _ds.Apply(registry);
            _ds.CommitWithoutBatch();
        }
        catch
        {
            try { _ds.RollbackBatch(); } catch (Exception e) when (e is not OutOfMemoryException) { Fault(e); }
            throw;
        }
    }

    void ValidateUpserts(IReadOnlyList<Document> batch)
    {
        if (batch.Count == 0) throw new InvalidInputException("upsert of no documents: give at least one");
        if (batch.Count > _options.MaxBatchDocuments)
            throw new InvalidInputException($"upsert of {batch.Count} documents exceeds the batch limit of {_options.MaxBatchDocuments}: split it");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < batch.Count; i++)
        {
            var d = batch[i] ?? throw new InvalidInputException($"upsert batch element {i} is null");
            if (string.IsNullOrEmpty(d.Id)) throw new InvalidInputException($"upsert batch element {i} has an empty id");
            if (d.Id.Length > _options.MaxIdLength)
                throw new InvalidInputException($"document id of {d.Id.Length} characters (element {i}) is longer than the limit of {_options.MaxIdLength}");
            if (!seen.Add(d.Id)) throw new InvalidInputException($"document id '{d.Id}' appears twice in one upsert batch");
            if (d.MetadataJson != null)
            {
                try { MetadataJson.Parse(d.MetadataJson).Dispose(); }
                catch (InvalidInputException e) { throw new InvalidInputException($"document '{d.Id}': {e.Message}", e); }
            }
            if (d.Acl is { } acl && (acl.Principals.Any(string.IsNullOrEmpty) || acl.Groups.Any(string.IsNullOrEmpty)))
                throw new InvalidInputException($"document '{d.Id}': acl names an empty principal or group");
        }
    }

    // The store commit is the durable point. A failure before it leaves nothing; the batch is rolled back.
    void StoreBatch(Action write)
    {
        _ds.BeginBatch();
        try { write(); }
        catch
        {
            try { _ds.RollbackBatch(); } catch (Exception e) when (e is not OutOfMemoryException) { Fault(e); }
            throw;
        }
    }

    // After the store commit the batch is durable; if Lucene then fails, the writer stops (no later batch may overtake it)
    // and the next Open replays the batch into Lucene.
    void ApplyToLexical(long seq, Action apply)
    {
        try
        {
            apply();
            _lexical.CommitBatch(seq);
        }
        catch (Exception e)
        {
            Fault(e);
            throw new IndexCorruptException($"batch {seq} of collection '{_store.Name}' is stored but its Lucene commit failed ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}); reopen the collection to finish it", e);
        }
    }

    void Fault(Exception e) => _fault ??= e;

    void CheckUsable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fault != null)
            throw new InvalidInputException($"the writer of collection '{_store.Name}' stopped after an error ({_fault.Message}); reopen the collection");
    }

    void Raise(long seq) => Committed?.Invoke(this, seq);

    /// <summary>Where the collection stands now.</summary>
    public CollectionStatus Status()
    {
        lock (_gate)
        {
            CheckUsable();
            return new CollectionStatus(Path.GetFileName(_snapshot.Directory), _lastSeq, _reader.CountAt(_lastSeq), _reader.CountRemoved(),
                _reader.CountPendingVectors(), _nextChunk);
        }
    }

    /// <summary>
    /// Whether a compaction would pay: removed rows reach <see cref="WriterOptions.CompactRemovedFraction"/> of the live
    /// documents, or <see cref="WriterOptions.CompactPendingVectors"/> vectors wait for the FAISS file.
    /// </summary>
    public bool CompactionAdvised()
    {
        var s = Status();
        return (s.RemovedRows > 0 && s.RemovedRows >= _options.CompactRemovedFraction * Math.Max(1, s.Documents))
               || s.PendingVectors >= _options.CompactPendingVectors;
    }

    /// <summary>
    /// Builds a fresh snapshot from the store without blocking reads or writes: the live documents as of the current batch
    /// are copied (their versions and chunk ids kept; vectors from the FAISS file or the store; deleted and superseded rows
    /// and Lucene's deleted documents dropped, so BM25 statistics count live documents only), then the batches committed
    /// meanwhile are replayed into it under the writer's gate (writes wait only for that), then CURRENT switches to it.
    /// The old snapshot is removed once no reader holds it. A crash at any point leaves the old snapshot serving and a
    /// build folder the next writer removes.
    /// </summary>
    public CompactionResult Compact(IProgress<BuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _compacting, 1) == 1) throw new InvalidInputException($"collection '{_store.Name}' is already being compacted or re-embedded");
        try { return Compactor.Run(this, progress, cancellationToken); }
        finally { Volatile.Write(ref _compacting, 0); }
    }

    /// <summary>
    /// Whether the collection's vectors were made with another encoder (or chunk window, or precision) than <paramref name="options"/>
    /// names, i.e. whether <see cref="Reembed"/> would build a new snapshot. Reads the encoder folder's files (configuration and a
    /// hash of the weights: <see cref="DocumentEmbedder.Describe"/>), never loads the model.
    /// </summary>
    public bool EncoderDiffers(ReembedOptions options) => EncoderDiffers(_snapshot.Manifest, options);

    /// <summary>Whether the vectors of the snapshot <paramref name="manifest"/> describes were made with another encoder (or chunk
    /// window) than <paramref name="options"/> names; an encoder folder that does not exist is <see cref="InvalidInputException"/>.</summary>
    public static bool EncoderDiffers(Manifest manifest, ReembedOptions options)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(options.EncoderPath)) throw new InvalidInputException($"encoder folder not found: {options.EncoderPath}") { Setting = "encoder" };
        if (manifest.Dense is not { } d) return true;
        var probe = DocumentEmbedder.Describe(options.EncoderPath, options.ChunkTokens ?? d.ChunkTokens, options.ChunkOverlap ?? d.ChunkOverlap);
        return probe.Identity != d.EncoderIdentity || probe.Window != d.ChunkTokens || probe.Overlap != d.ChunkOverlap
            || (options.Precision is { } p && EncoderPrecisions.ManifestName(p) != d.Precision);
    }

    /// <summary>
    /// Embeds every document again with the encoder of <paramref name="options"/> into a new snapshot, in the background of
    /// reads and writes: the old snapshot serves (and takes upserts and deletes, replayed into the new one) until the new one
    /// is complete, then CURRENT switches to it and this writer embeds with the new encoder. A collection whose vectors
    /// already come from that encoder and window is left as it is (<see cref="ReembedResult.Reembedded"/> false). A crash
    /// or an error at any point leaves the old snapshot serving. No search ever mixes vectors of two encoders.
    /// </summary>
    public ReembedResult Reembed(ReembedOptions options, IProgress<BuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Interlocked.Exchange(ref _compacting, 1) == 1) throw new InvalidInputException($"collection '{_store.Name}' is already being compacted or re-embedded");
        try { return Reembedder.Run(this, options, progress, cancellationToken); }
        finally { Volatile.Write(ref _compacting, 0); }
    }

    // --- for the compactor -------------------------------------------------------------------------------------------

    internal (Snapshot Snapshot, long Seq, long NextChunk) Pin()
    {
        lock (_gate)
        {
            CheckUsable();
            return (_snapshot, _lastSeq, _nextChunk);
        }
    }

    internal WriterLock WriterLock => _lock;
    internal WriterOptions Options => _options;

    /// <summary>Gives out <paramref name="count"/> chunk ids (the first is returned) that no batch of this writer will use.</summary>
    internal long ReserveChunkIds(long count)
    {
        lock (_gate)
        {
            CheckUsable();
            long first = _nextChunk;
            _nextChunk += count;
            return first;
        }
    }
    internal object Gate => _gate;
    internal DocumentStore Reader => _reader;
    internal long NextChunk => _nextChunk;

    /// <summary>Under the gate: the compactor has committed <paramref name="snapshot"/>; switch every part to it.</summary>
    /// <summary>
    /// Under the gate: a compaction (<paramref name="embedder"/> null: the same encoder, copied with the snapshot, so the
    /// loaded copy stays) or a re-embed (its encoder, which this writer now owns) has committed <paramref name="snapshot"/>;
    /// switch every part to it.
    /// </summary>
    internal void SwitchTo(Snapshot snapshot, ReaderLease lease, DocumentEmbedder? embedder = null)
    {
        var old = (_ds, _reader, _lexical, _lease, _embedder);
        try
        {
            var fresh = OpenParts(_store, _lock, _options, snapshot, lease, loadEmbedder: false);
            (_snapshot, _ds, _reader, _lexical, _lease) = (snapshot, fresh._ds, fresh._reader, fresh._lexical, fresh._lease);
            if (embedder != null) _embedder = embedder;
            (_lastSeq, _nextChunk) = _ds.ReadState();
        }
        catch (Exception e)
        {
            Fault(e);
            throw;
        }
        old._lexical.Dispose();
        old._reader.Dispose();
        old._ds.Dispose();
        old._lease.Dispose();
        if (embedder != null) old._embedder?.Dispose();
        Raise(_lastSeq);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _embedder?.Dispose();
            _lexical.Dispose();
            _reader.Dispose();
            _ds.Dispose();
            _lease.Dispose();
            _lock.Dispose();
        }
    }
}
