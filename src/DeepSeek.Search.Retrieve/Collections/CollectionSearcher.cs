using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// Searches one committed snapshot of a collection: BM25 over Lucene, dense over FAISS chunk vectors (a document
/// scores as its best chunk), or both fused. Opened once, used for many queries; not thread-safe for concurrent
/// dense queries on one encoder.
/// </summary>
public sealed class CollectionSearcher : IDisposable
{
    readonly LexicalIndex _lexical;
    readonly DocumentStore _documents;
    readonly FaissIndex? _dense;
    readonly TextEncoder? _encoder;

    CollectionSearcher(Snapshot snapshot, LexicalIndex lexical, DocumentStore documents, FaissIndex? dense, TextEncoder? encoder)
    {
        Snapshot = snapshot;
        _lexical = lexical;
        _documents = documents;
        _dense = dense;
        _encoder = encoder;
    }

    public Snapshot Snapshot { get; }
    public Manifest Manifest => Snapshot.Manifest;
    public bool HasDense => _dense != null;

    /// <summary>
    /// Opens the current snapshot. <paramref name="encoderPath"/> overrides the encoder stored with the index; its
    /// identity and dimension must match what the index was built with. <paramref name="denseParameters"/> are FAISS
    /// search-time parameters such as "efSearch=128" (HNSW) or "nprobe=16" (IVF).
    /// </summary>
    public static CollectionSearcher Open(CollectionStore store, string? encoderPath = null, string device = "cpu", string? denseParameters = null)
    {
        var gen = store.OpenCurrent();
        var m = gen.Manifest;
        LexicalIndex? lexical = null;
        DocumentStore? documents = null;
        FaissIndex? dense = null;
        TextEncoder? encoder = null;
        try
        {
            lexical = LexicalIndex.Open(gen.LexicalPath);
            documents = DocumentStore.Open(gen.DocumentStorePath);
            if (documents.DocumentCount != m.Documents)
                throw new IndexCorruptException($"document store holds {documents.DocumentCount} documents, manifest says {m.Documents}");
            if (m.Dense is { } d)
            {
                dense = FaissIndex.Read(gen.DensePath);
                if (dense.Dimension != d.Dimension)
                    throw new IndexCorruptException($"{gen.DensePath} holds {dense.Dimension}-d vectors, manifest says {d.Dimension}");
                if (dense.Count != d.Vectors)
                    throw new IndexCorruptException($"{gen.DensePath} holds {dense.Count} vectors, manifest says {d.Vectors}");
                if (!string.IsNullOrWhiteSpace(denseParameters)) dense.SetSearchParameters(denseParameters);
                var dir = encoderPath ?? Path.Combine(gen.Directory, CollectionStore.EncoderFolderName);
                if (!Directory.Exists(dir)) throw new InvalidInputException($"encoder folder not found: {dir}");
                encoder = TextEncoder.Load(dir, new EncoderOptions { Device = device });
                if (encoder.Dimension != d.Dimension)
                    throw new IndexMismatchException($"encoder {dir} makes {encoder.Dimension}-d vectors but collection '{m.Collection}' was indexed with {d.Dimension}-d vectors");
                if (encoder.Identity != d.EncoderIdentity)
                    throw new IndexMismatchException($"encoder {dir} ({encoder.Identity}) is not the one collection '{m.Collection}' was indexed with ({d.EncoderIdentity})");
            }
            return new CollectionSearcher(gen, lexical, documents, dense, encoder);
        }
        catch
        {
            encoder?.Dispose(); dense?.Dispose(); documents?.Dispose(); lexical?.Dispose();
            throw;
        }
    }

    public IReadOnlyList<SearchHit> Search(string query, SearchOptions options) => Describe(Rank(query, options));

    /// <summary>The ranked document ids and scores, without stored fields (what eval needs).</summary>
    public IReadOnlyList<Hit> Rank(string query, SearchOptions options) => Rank(query, options, null);

    /// <summary>
    /// <see cref="Rank(string, SearchOptions)"/> for many queries: the same rankings, with the dense side's query embeddings
    /// computed in batches (one encoder call per batch instead of one per query: what makes a 10,000-query evaluation fast).
    /// An empty query gets an empty ranking.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<Hit>> RankMany(IReadOnlyList<string> queries, SearchOptions options, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(queries);
        options.Validate();
        var mode = options.Mode ?? (HasDense ? SearchMode.Hybrid : SearchMode.Bm25);
        var results = new IReadOnlyList<Hit>[queries.Count];
        for (int start = 0; start < queries.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, queries.Count - start);
            var texts = Enumerable.Range(start, n).Select(i => queries[i]).ToList();
            var usable = texts.Select((t, i) => (t, i)).Where(x => !string.IsNullOrWhiteSpace(x.t) && x.t.Length <= options.MaxQueryChars).ToList();
            float[][]? vectors = mode != SearchMode.Bm25 && HasDense && usable.Count > 0 ? _encoder!.EncodeQueries(usable.Select(x => x.t).ToList()) : null;
            var byIndex = new float[]?[n];
            if (vectors != null) for (int j = 0; j < usable.Count; j++) byIndex[usable[j].i] = vectors[j];
            for (int i = 0; i < n; i++)
                results[start + i] = string.IsNullOrWhiteSpace(texts[i]) ? Array.Empty<Hit>() : Rank(texts[i], options, byIndex[i]);
        }
        return results;
    }

    IReadOnlyList<Hit> Rank(string query, SearchOptions options, float[]? queryVector)
    {
        options.Validate();
        if (string.IsNullOrWhiteSpace(query)) throw new InvalidInputException("empty query");
        if (query.Length > options.MaxQueryChars)
            throw new InvalidInputException($"query of {query.Length} characters is longer than the limit of {options.MaxQueryChars}");
        var mode = options.Mode ?? (HasDense ? SearchMode.Hybrid : SearchMode.Bm25);
        if (mode != SearchMode.Bm25 && !HasDense)
            throw new NoDenseIndexException(Manifest.Collection, mode.ToString().ToLowerInvariant());
        int depth = Math.Max(options.Depth, options.K);
        return mode switch
        {
            SearchMode.Bm25 => _lexical.Search(query, options.K),
            SearchMode.Dense => DenseSearch(query, options.K, queryVector),
            _ => EffectiveFusion(options) is var (fusion, alpha) && fusion == FusionMethod.Rrf
                ? ReciprocalRankFusion.Fuse([_lexical.Search(query, depth), DenseSearch(query, depth, queryVector)], options.K)
                : MinMaxFusion.Fuse(_lexical.Search(query, depth), DenseSearch(query, depth, queryVector), alpha, options.K),
        };
    }

    /// <summary>
    /// The hybrid fusion a search with <paramref name="options"/> uses: what the options say, else what the collection's encoder
    /// recommends in its dual_encoder.json (dss train records min-max with a small dense weight for self-supervised encoders,
    /// which are weaker than BM25 alone), else RRF (k = 60) and alpha <see cref="MinMaxFusion.DefaultAlpha"/>.
    /// </summary>
    public (FusionMethod Fusion, float Alpha) EffectiveFusion(SearchOptions options)
    {
        var config = _encoder?.Config;
        var fusion = options.Fusion ?? (config?.HybridFusion == "minmax" ? FusionMethod.MinMax : FusionMethod.Rrf);
        float alpha = options.Alpha ?? config?.HybridAlpha ?? MinMaxFusion.DefaultAlpha;
        return (fusion, alpha);
    }

    IReadOnlyList<Hit> DenseSearch(string query, int k, float[]? queryVector = null)
    {
        var q = queryVector ?? _encoder!.EncodeQueries([query])[0];
        // A document may own several chunks: fetch more chunks than documents wanted, keep each document's best.
        double chunksPerDoc = Math.Max(1.0, (double)_dense!.Count / Math.Max(1, Manifest.Documents));
        int fetch = (int)Math.Min(_dense.Count, Math.Ceiling(k * Math.Min(chunksPerDoc * 2, 16)) + 8);
        var best = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var h in _dense.Search(q, Math.Max(1, fetch))[0])
        {
            var doc = _documents.DocumentOfChunk(h.Id);
            if (!best.TryGetValue(doc, out var s) || h.Score > s) best[doc] = h.Score;
        }
        return best.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(k).Select(kv => new Hit(kv.Key, kv.Value)).ToList();
    }

    IReadOnlyList<SearchHit> Describe(IReadOnlyList<Hit> hits) =>
        hits.Select((h, i) =>
        {
            var d = _documents.Get(h.DocumentId);
            return new SearchHit(i + 1, h.DocumentId, h.Score, d?.Title ?? "", d?.Text ?? "");
        }).ToList();

    public void Dispose()
    {
        _encoder?.Dispose();
        _dense?.Dispose();
        _documents.Dispose();
        _lexical.Dispose();
    }
}
