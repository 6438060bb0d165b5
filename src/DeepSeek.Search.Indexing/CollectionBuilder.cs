using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// Builds one new snapshot of a collection from a document stream (<c>dss index</c>, and the empty snapshot a live
/// collection starts from): document store, Lucene BM25 index, and, with an encoder, chunk embeddings in a FAISS
/// inner-product index. The whole build is one batch of the collection's sequence: it continues the sequence number and the
/// chunk ids of the snapshot it replaces (ids are never reused), so every document gets that batch's number as its version.
/// The stream is read once and nothing is held per document: each document goes to the store, the Lucene writer and the
/// chunker as it is read, and chunks are encoded and indexed a slice at a time (<see cref="DenseIndexBuilder"/>), so memory
/// does not grow with the collection. Everything is written inside the snapshot's build folder under the collection's writer
/// lock and made visible by one atomic commit; any failure (bad input, cancellation, a FAISS or encoder error, a crash)
/// leaves the previously committed snapshot serving.
/// <para>
/// Progress stages: <c>read</c> (documents; total 0 until the stream ends), <c>encode</c> (chunks, likewise),
/// <c>bm25</c> (the Lucene commit), <c>train</c> (only for a factory that needs it), <c>faiss</c> (the index written).
/// </para>
/// </summary>
public static class CollectionBuilder
{
    /// <summary>A bulk build with vectors from <paramref name="embedder"/> instead of an encoder (benchmarks: random vectors).</summary>
    internal static Snapshot BuildWith(CollectionStore store, IEnumerable<Document> documents, BuildOptions options, IChunkEmbedder embedder,
        IProgress<BuildProgress>? progress = null)
    {
        using var writerLock = store.LockWriter("bulk build");
        return Build(store, writerLock, documents, options, allowEmpty: false, progress, CancellationToken.None, embedder);
    }

    public static Snapshot Build(CollectionStore store, IEnumerable<Document> documents, BuildOptions options,
        IProgress<BuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var writerLock = store.LockWriter("bulk build");
        return Build(store, writerLock, documents, options, allowEmpty: false, progress, cancellationToken);
    }

    /// <summary>The build, for a caller that holds the writer lock; <paramref name="allowEmpty"/> makes an empty collection.</summary>
    internal static Snapshot Build(CollectionStore store, WriterLock writerLock, IEnumerable<Document> documents, BuildOptions options,
        bool allowEmpty, IProgress<BuildProgress>? progress, CancellationToken cancellationToken, IChunkEmbedder? substitute = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        options.Validate();
        var (lastSeq, nextChunk) = PreviousState(store);
        long seq = lastSeq + 1;
        using var writer = store.BeginSnapshot(writerLock);
        using var ds = DocumentStoreWriter.Create(writer.DocumentStorePath);
        using var lexical = LexicalIndexWriter.Open(writer.LexicalPath, options.Bm25, trackIds: false);
        string? encoderCopy = options.EncoderPath != null ? Path.Combine(writer.Directory, CollectionStore.EncoderFolderName) : null;
        if (encoderCopy != null) CopyFolder(options.EncoderPath!, encoderCopy);
        using IChunkEmbedder? embedder = substitute ?? (encoderCopy != null
            ? DocumentEmbedder.Load(encoderCopy, options.ChunkTokens, options.ChunkOverlap, options.Device, options.EncodeBatchSize, options.EncoderPrecision)
            : null);
        using var dense = embedder != null
            ? DenseIndexBuilder.Start(embedder, embedder.Dimension, options.Factory, options.EncodeSliceChunks, options.TrainingSampleVectors, progress)
            : null;

        long count = 0, firstChunk = nextChunk;
        foreach (var d in documents)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (d is null) throw new InvalidInputException("document sequence contains null");
            if (string.IsNullOrEmpty(d.Id)) throw new InvalidInputException("document with an empty id");
            var chunks = embedder?.Chunk(d, nextChunk) ?? [];
            ds.Insert(new StoredDocument(d.Id, seq, ContentHash.Of(d), d.Title ?? "", d.Text ?? "", d.MetadataJson, d.Acl, nextChunk, chunks.Count));
            foreach (var c in chunks) ds.InsertChunk(new StoredChunk(c.ChunkId, d.Id, seq, c.Ordinal, c.Start, c.End));
            ds.RecordChange(seq, d.Id, ChangeKind.Upsert);
            lexical.Add(d, seq, nextChunk, chunks.Count);
            dense?.AddChunks(chunks, cancellationToken);
            nextChunk += chunks.Count;
            if (++count % 1000 == 0) progress?.Report(new("read", count, 0));
        }
        if (count == 0 && !allowEmpty) throw new InvalidInputException("the corpus holds no documents: nothing to index");
        progress?.Report(new("read", count, count));

        progress?.Report(new("bm25", 0, count));
        lexical.Commit(seq);
        progress?.Report(new("bm25", count, count));

        Manifest.DenseSection? denseSection = null;
        if (dense != null)
        {
            dense.Complete(writer.DensePath, cancellationToken);
            denseSection = dense.Describe(options.EncoderPath is { } e ? Path.GetFullPath(e) : "", embedder!);
        }
        ds.CommitBatch(seq, "bulk", (int)Math.Min(count, int.MaxValue), 0, nextChunk);
        if (PreviousStorePath(store) is { } previous) ds.CopyRegistryFrom(previous);
        ds.Complete();

        var manifest = new Manifest
        {
            Collection = store.Name,
            Snapshot = writer.SnapshotName,
            CreatedUtc = DateTime.UtcNow,
            Source = options.Source,
            Documents = count,
            Chunks = nextChunk - firstChunk,
            BuiltAtSeq = seq,
            Lexical = new Manifest.LexicalSection(options.Bm25.Analyzer, options.Bm25.K1, options.Bm25.B,
                options.Bm25.FieldMode.ToString().ToLowerInvariant()),
            Dense = denseSection,
        };
        cancellationToken.ThrowIfCancellationRequested();
        return writer.Commit(manifest);
    }

    /// <summary>
    /// The sequence number and next chunk id of the snapshot a build replaces, so neither ever goes back; (0, 0) for a new
    /// collection or one whose snapshot this build cannot read (an older format).
    /// </summary>
    internal static (long LastSeq, long NextChunkId) PreviousState(CollectionStore store)
    {
        if (!store.Exists) return (0, 0);
        try
        {
            var current = store.OpenCurrent();
            using var ds = DocumentStore.Open(current.DocumentStorePath);
            return (ds.LastSeq, ds.NextChunkId);
        }
        catch (SearchException)
        {
            return (0, 0);
        }
    }

    /// <summary>The document store of the snapshot a build replaces (its re-index registry is carried over), or null.</summary>
    static string? PreviousStorePath(CollectionStore store)
    {
        if (!store.Exists) return null;
        try { return store.OpenCurrent().DocumentStorePath; }
        catch (SearchException) { return null; }
    }

    internal static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, f);
            var dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }
    }
}
