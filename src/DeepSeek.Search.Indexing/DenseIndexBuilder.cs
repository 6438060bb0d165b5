using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Store;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// The dense side of a build, streamed: each document is chunked as it arrives (chunk ids 0, 1, 2, ... in corpus order,
/// rows written to the document store at once), the chunk texts are encoded <see cref="BuildOptions.EncodeSliceChunks"/>
/// at a time, and each slice's vectors go straight into the FAISS index. An index that needs training first holds the
/// vectors of the first <see cref="BuildOptions.TrainingSampleVectors"/> chunks, trains on them, adds them, and from then
/// on adds slice by slice. Memory is one slice plus that sample plus the FAISS index itself, whatever the corpus size.
/// </summary>
sealed class DenseIndexBuilder : IDisposable
{
    readonly TextEncoder _encoder;
    readonly TextChunker _chunker;
    readonly FaissIndex _index;
    readonly DocumentStoreWriter _store;
    readonly IProgress<BuildProgress>? _progress;
    readonly string _encoderPath;
    readonly string _factory;
    readonly int _slice, _sampleLimit, _window, _dimension;
    readonly List<string> _pending;
    bool _trained;
    float[] _sample = [];
    int _sampleCount;
    long _chunks, _encoded;

    DenseIndexBuilder(TextEncoder encoder, TextChunker chunker, FaissIndex index, DocumentStoreWriter store, BuildOptions options,
        int window, IProgress<BuildProgress>? progress)
    {
        _encoder = encoder;
        _chunker = chunker;
        _index = index;
        _store = store;
        _progress = progress;
        _encoderPath = Path.GetFullPath(options.EncoderPath!);
        _factory = options.Factory;
        _slice = options.EncodeSliceChunks;
        _sampleLimit = options.TrainingSampleVectors;
        _window = window;
        _dimension = encoder.Dimension;
        _pending = new List<string>(Math.Min(_slice, 4096));
        _trained = index.IsTrained;
    }

    /// <summary>
    /// Copies the encoder into <paramref name="encoderCopy"/> (the snapshot's encoder folder), loads it from there, and
    /// creates the empty FAISS index. Throws for a chunk window that does not fit the encoder or a factory FAISS rejects.
    /// </summary>
    public static DenseIndexBuilder Start(string encoderCopy, BuildOptions options, DocumentStoreWriter store, IProgress<BuildProgress>? progress)
    {
        CopyFolder(options.EncoderPath!, encoderCopy);
        var encoder = TextEncoder.Load(encoderCopy, new EncoderOptions { Device = options.Device, BatchSize = options.EncodeBatchSize });
        FaissIndex? index = null;
        try
        {
            int window = options.ChunkTokens > 0 ? options.ChunkTokens : encoder.MaxDocumentLength - 2;
            if (window + 2 > encoder.MaxDocumentLength)
                throw new InvalidInputException($"chunk of {window} tokens does not fit the encoder's document length {encoder.MaxDocumentLength} (2 are taken by [CLS] and [SEP])");
            foreach (var (count, what) in new[] { ((long)options.EncodeSliceChunks, "encode slice"), (options.TrainingSampleVectors, "training sample") })
                if (count * encoder.Dimension > Array.MaxLength)
                    throw new InvalidInputException($"{what} of {count:N0} {encoder.Dimension}-d vectors does not fit one array: use fewer");
            var chunker = new TextChunker(encoder.Tokenizer, new TextChunkerOptions { WindowTokens = window, OverlapTokens = Math.Min(options.ChunkOverlap, window - 1) });
            index = FaissIndex.Create(encoder.Dimension, options.Factory, FaissMetric.InnerProduct);
            return new DenseIndexBuilder(encoder, chunker, index, store, options, window, progress);
        }
        catch
        {
            index?.Dispose();
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Chunks one document; encodes and indexes a slice whenever one fills.</summary>
    public void Add(Document document, CancellationToken cancellationToken)
    {
        foreach (var c in _chunker.ChunkDocument(document, _chunks))
        {
            _store.Add(c);
            _pending.Add(c.Text);
            _chunks++;
            if (_pending.Count == _slice)
            {
                cancellationToken.ThrowIfCancellationRequested();
                EncodePending();
            }
        }
    }

    /// <summary>Encodes the last slice, trains if still needed, and writes the index to <paramref name="path"/>.</summary>
    public Manifest.DenseSection Complete(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EncodePending();
        _progress?.Report(new("encode", _encoded, _encoded));
        cancellationToken.ThrowIfCancellationRequested();
        if (!_trained) TrainOnSample(); // the whole collection fitted in the sample (or holds no chunk: FAISS's error then)
        _index.Write(path);
        _progress?.Report(new("faiss", _encoded, _encoded));
        return new Manifest.DenseSection(
            EncoderPath: _encoderPath, EncoderIdentity: _encoder.Identity, Dimension: _dimension,
            Pooling: _encoder.Pooling.ToString().ToLowerInvariant(), Normalize: _encoder.Normalize,
            ChunkTokens: _window, ChunkOverlap: _chunker.Options.OverlapTokens, Factory: _factory, Metric: "inner_product",
            Vectors: _encoded);
    }

    void EncodePending()
    {
        int n = _pending.Count;
        if (n == 0) return;
        var emb = _encoder.EncodeDocuments(_pending);
        var vectors = new float[(long)n * _dimension];
        for (int i = 0; i < n; i++)
        {
            if (emb[i].Length != _dimension) throw new IndexMismatchException($"encoder returned a {emb[i].Length}-d vector, expected {_dimension}");
            emb[i].CopyTo(vectors, (long)i * _dimension);
        }
        _pending.Clear();

        int from = 0;
        if (!_trained)
        {
            from = Math.Min(n, _sampleLimit - _sampleCount);
            AppendToSample(vectors.AsSpan(0, from * _dimension));
            if (_sampleCount == _sampleLimit) TrainOnSample();
        }
        if (from < n) _index.Add(vectors.AsSpan(from * _dimension), Ids(_encoded + from, n - from));
        _encoded += n;
        _progress?.Report(new("encode", _encoded, 0));
    }

    void AppendToSample(ReadOnlySpan<float> vectors)
    {
        int need = _sampleCount * _dimension + vectors.Length;
        if (need > _sample.Length)
            Array.Resize(ref _sample, (int)Math.Min(Math.Max(need, 2L * _sample.Length), (long)_sampleLimit * _dimension));
        vectors.CopyTo(_sample.AsSpan(_sampleCount * _dimension));
        _sampleCount += vectors.Length / _dimension;
    }

    // The sample is chunks 0 .. _sampleCount-1: trained on, then added under those ids, then let go.
    void TrainOnSample()
    {
        _progress?.Report(new("train", 0, _sampleCount));
        var sample = _sample.AsSpan(0, _sampleCount * _dimension);
        _index.Train(sample);
        _index.Add(sample, Ids(0, _sampleCount));
        _progress?.Report(new("train", _sampleCount, _sampleCount));
        _trained = true;
        _sample = [];
        _sampleCount = 0;
    }

    static long[] Ids(long first, int count)
    {
        var ids = new long[count];
        for (int i = 0; i < count; i++) ids[i] = first + i;
        return ids;
    }

    static void CopyFolder(string from, string to)
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

    public void Dispose()
    {
        _index.Dispose();
        _encoder.Dispose();
    }
}
