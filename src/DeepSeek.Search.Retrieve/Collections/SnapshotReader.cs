using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// What a searcher holds open of one snapshot folder while any of its views is in use: the reader lease (the folder is
/// not removed meanwhile), the document store, the FAISS file's index (never changed once written), the chunk map and the
/// encoder. Reference-counted by its views; the last release closes everything.
/// </summary>
sealed class SnapshotReader
{
    int _refs = 1;
    readonly ReaderLease _lease;

    SnapshotReader(Snapshot snapshot, ReaderLease lease, DocumentStore documents, FaissIndex? dense, SharedEncoder? encoder)
    {
        Snapshot = snapshot;
        _lease = lease;
        Documents = documents;
        Dense = dense;
        Encoder = encoder;
    }

    public Snapshot Snapshot { get; }
    public string Name => Path.GetFileName(Snapshot.Directory);
    public DocumentStore Documents { get; }
    public FaissIndex? Dense { get; }
    public SharedEncoder? Encoder { get; }
    public ChunkMap Chunks { get; } = new();
    /// <summary>The sequence number up to which <see cref="Chunks"/> holds ranges.</summary>
    public long ChunksLoadedTo { get; set; }

    /// <summary>
    /// Opens the snapshot <paramref name="snapshot"/> (leased). The encoder is <paramref name="reuse"/> when it is the one
    /// this snapshot was indexed with, else loaded from <paramref name="encoderPath"/> or the snapshot's own copy.
    /// </summary>
    public static SnapshotReader Open(Snapshot snapshot, ReaderLease lease, ReaderSettings settings, SharedEncoder? reuse)
    {
        var (encoderPath, device, denseParameters, queryPrecision) = settings;
        var m = snapshot.Manifest;
        DocumentStore? documents = null;
        FaissIndex? dense = null;
        SharedEncoder? encoder = null;
        try
        {
            documents = DocumentStore.Open(snapshot.DocumentStorePath);
            if (m.Dense is { } d)
            {
                dense = FaissIndex.Read(snapshot.DensePath);
                if (dense.Dimension != d.Dimension)
                    throw new IndexCorruptException($"{snapshot.DensePath} holds {dense.Dimension}-d vectors, manifest says {d.Dimension}");
                if (dense.Count != d.Vectors)
                    throw new IndexCorruptException($"{snapshot.DensePath} holds {dense.Count} vectors, manifest says {d.Vectors}");
                if (!string.IsNullOrWhiteSpace(denseParameters)) dense.SetSearchParameters(denseParameters);
                if (reuse != null && reuse.Encoder.Identity == d.EncoderIdentity && reuse.Encoder.Dimension == d.Dimension
                    && reuse.Encoder.Precision == queryPrecision)
                    encoder = reuse.Retain();
                else
                {
                    var dir = encoderPath ?? Path.Combine(snapshot.Directory, CollectionStore.EncoderFolderName);
                    if (!Directory.Exists(dir)) throw new InvalidInputException($"encoder folder not found: {dir}");
                    encoder = new SharedEncoder(TextEncoder.Load(dir, new EncoderOptions { Device = device, Precision = queryPrecision }));
                    if (encoder.Encoder.Dimension != d.Dimension)
                        throw new IndexMismatchException($"encoder {dir} makes {encoder.Encoder.Dimension}-d vectors but collection '{m.Collection}' was indexed with {d.Dimension}-d vectors");
                    if (encoder.Encoder.Identity != d.EncoderIdentity)
                        throw new IndexMismatchException($"encoder {dir} ({encoder.Encoder.Identity}) is not the one collection '{m.Collection}' was indexed with ({d.EncoderIdentity})");
                }
            }
            return new SnapshotReader(snapshot, lease, documents, dense, encoder);
        }
        catch
        {
            encoder?.Release();
            dense?.Dispose();
            documents?.Dispose();
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Loads the chunk ranges of batches after <see cref="ChunksLoadedTo"/> up to <paramref name="seq"/> (one refresher at a time).</summary>
    public void LoadChunksTo(long seq)
    {
        if (seq <= ChunksLoadedTo) return;
        foreach (var (first, count, doc) in Documents.ChunkRanges(ChunksLoadedTo, seq)) Chunks.Append(first, count, doc);
        ChunksLoadedTo = seq;
    }

    public SnapshotReader Retain()
    {
        Interlocked.Increment(ref _refs);
        return this;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) != 0) return;
        Encoder?.Release();
        Dense?.Dispose();
        Documents.Dispose();
        _lease.Dispose();
    }
}

/// <summary>An encoder shared by the snapshots indexed with it; queries are encoded one call at a time.</summary>
/// <summary>How a searcher opens each snapshot: an encoder folder overriding the stored one, the device, FAISS search-time
/// parameters and the query encoder's precision.</summary>
sealed record ReaderSettings(string? EncoderPath, string Device, string? DenseParameters, EncoderPrecision QueryPrecision);

sealed class SharedEncoder(TextEncoder encoder)
{
    int _refs = 1;
    readonly Lock _encode = new();

    public TextEncoder Encoder { get; } = encoder;

    public float[][] EncodeQueries(IReadOnlyList<string> queries)
    {
        lock (_encode) return Encoder.EncodeQueries(queries);
    }

    public SharedEncoder Retain()
    {
        Interlocked.Increment(ref _refs);
        return this;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) Encoder.Dispose();
    }
}
