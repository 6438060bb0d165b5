using DeepSeek.Search.Encode;
using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// Fills a new snapshot's FAISS index, streamed: chunk texts are encoded <see cref="BuildOptions.EncodeSliceChunks"/> at a
/// time (<see cref="AddChunks"/>), or vectors arrive ready-made (<see cref="AddVectors"/>: a compaction copying the old
/// snapshot's), and each slice goes straight into the index under its chunk ids. An index that needs training first holds
/// the first <see cref="BuildOptions.TrainingSampleVectors"/> vectors, trains on them, adds them, and from then on adds
/// slice by slice. Memory is one slice plus that sample plus the FAISS index itself, whatever the corpus size.
/// </summary>
sealed class DenseIndexBuilder : IDisposable
{
    readonly IChunkEmbedder? _embedder;
    readonly FaissIndex _index;
    readonly IProgress<BuildProgress>? _progress;
    readonly string _factory;
    readonly int _slice, _sampleLimit, _dimension;
    readonly List<string> _pendingTexts;
    readonly List<long> _pendingIds;
    bool _trained;
    float[] _sample = [];
    long[] _sampleIds = [];
    int _sampleCount;
    long _added;

    DenseIndexBuilder(IChunkEmbedder? embedder, int dimension, FaissIndex index, string factory, int slice, int sampleLimit, IProgress<BuildProgress>? progress)
    {
        _embedder = embedder;
        _dimension = dimension;
        _index = index;
        _factory = factory;
        _progress = progress;
        _slice = slice;
        _sampleLimit = sampleLimit;
        _pendingTexts = new List<string>(Math.Min(_slice, 4096));
        _pendingIds = new List<long>(Math.Min(_slice, 4096));
        _trained = index.IsTrained;
    }

    /// <summary>Vectors added so far (including a held training sample).</summary>
    public long Count => _added + _pendingIds.Count;

    /// <summary>
    /// Creates the empty FAISS index for <paramref name="dimension"/>-d vectors. <paramref name="embedder"/> is needed only
    /// for <see cref="AddChunks"/>. Throws for a factory FAISS rejects or slice sizes that do not fit one array.
    /// </summary>
    public static DenseIndexBuilder Start(IChunkEmbedder? embedder, int dimension, string factory, int slice, int sampleLimit, IProgress<BuildProgress>? progress)
    {
        foreach (var (count, what) in new[] { ((long)slice, "encode slice"), (sampleLimit, "training sample") })
            if (count * dimension > Array.MaxLength)
                throw new InvalidInputException($"{what} of {count:N0} {dimension}-d vectors does not fit one array: use fewer");
        var index = FaissIndex.Create(dimension, factory, FaissMetric.InnerProduct);
        return new DenseIndexBuilder(embedder, dimension, index, factory, slice, sampleLimit, progress);
    }

    /// <summary>Queues chunk texts for encoding; encodes and indexes a slice whenever one fills.</summary>
    public void AddChunks(IReadOnlyList<Chunk> chunks, CancellationToken cancellationToken)
    {
        if (_embedder == null) throw new InvalidOperationException("no embedder: add vectors instead");
        foreach (var c in chunks)
        {
            _pendingTexts.Add(c.Text);
            _pendingIds.Add(c.ChunkId);
            if (_pendingTexts.Count == _slice)
            {
                cancellationToken.ThrowIfCancellationRequested();
                EncodePending();
            }
        }
    }

    /// <summary>Adds ready-made vectors (row-major, ids.Length × dimension) under their chunk ids.</summary>
    public void AddVectors(ReadOnlySpan<float> rows, ReadOnlySpan<long> ids)
    {
        if (rows.Length != ids.Length * _dimension)
            throw new IndexMismatchException($"{rows.Length} floats for {ids.Length} vectors of dimension {_dimension}");
        int n = ids.Length, from = 0;
        if (!_trained)
        {
            from = Math.Min(n, _sampleLimit - _sampleCount);
            AppendToSample(rows[..(from * _dimension)], ids[..from]);
            if (_sampleCount == _sampleLimit) TrainOnSample();
        }
        if (from < n) _index.Add(rows[(from * _dimension)..], ids[from..]);
        _added += n;
    }

    /// <summary>Encodes the last slice, trains if still needed, and writes the index to <paramref name="path"/>.</summary>
    public void Complete(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EncodePending();
        _progress?.Report(new("encode", _added, _added));
        cancellationToken.ThrowIfCancellationRequested();
        // The whole collection fitted in the sample. An empty collection of a factory that needs training stays untrained
        // (nothing to train on); its first vectors arrive as live upserts and are trained on at the next compaction.
        if (!_trained && _sampleCount > 0) TrainOnSample();
        _index.Write(path);
        _progress?.Report(new("faiss", _added, _added));
    }

    /// <summary>The manifest's dense section for this index.</summary>
    public Manifest.DenseSection Describe(string encoderPath, IChunkEmbedder embedder) =>
        new(EncoderPath: encoderPath, EncoderIdentity: embedder.Identity, Dimension: _dimension, Pooling: embedder.Pooling, Normalize: embedder.Normalize,
            ChunkTokens: embedder.Window, ChunkOverlap: embedder.Overlap, Factory: _factory, Metric: "inner_product", Vectors: _added,
            Precision: EncoderPrecisions.ManifestName(embedder.Precision));

    void EncodePending()
    {
        int n = _pendingTexts.Count;
        if (n == 0) return;
        var rows = _embedder!.Encode(_pendingTexts);
        var ids = _pendingIds.ToArray();
        _pendingTexts.Clear();
        _pendingIds.Clear();
        AddVectors(rows, ids);
        _progress?.Report(new("encode", _added, 0));
    }

    void AppendToSample(ReadOnlySpan<float> vectors, ReadOnlySpan<long> ids)
    {
        int need = _sampleCount + ids.Length;
        if (need > _sampleIds.Length)
        {
            int size = (int)Math.Min(Math.Max(need, 2L * _sampleIds.Length), _sampleLimit);
            Array.Resize(ref _sample, size * _dimension);
            Array.Resize(ref _sampleIds, size);
        }
        vectors.CopyTo(_sample.AsSpan(_sampleCount * _dimension));
        ids.CopyTo(_sampleIds.AsSpan(_sampleCount));
        _sampleCount += ids.Length;
    }

    // The sample: trained on, then added under its ids, then let go.
    void TrainOnSample()
    {
        _progress?.Report(new("train", 0, _sampleCount));
        var sample = _sample.AsSpan(0, _sampleCount * _dimension);
        _index.Train(sample);
        _index.Add(sample, _sampleIds.AsSpan(0, _sampleCount));
        _progress?.Report(new("train", _sampleCount, _sampleCount));
        _trained = true;
        _sample = [];
        _sampleIds = [];
        _sampleCount = 0;
    }

    public void Dispose() => _index.Dispose();
}
