using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// A FAISS index of float32 vectors with caller-chosen int64 ids, run in-process through the C-ABI shim
/// (native/faiss_shim → libdss_faiss.so, Debian's FAISS 1.7.3).
/// <para>
/// Data layout: every batch of vectors — <see cref="Train"/>, <see cref="Add"/>, <see cref="Search(ReadOnlySpan{float}, int)"/>
/// queries, <see cref="Reconstruct"/> results — is one row-major span of n × <see cref="Dimension"/> floats: vector i occupies
/// elements [i·d, (i+1)·d).
/// </para>
/// <para>
/// Index types come from FAISS factory strings: "IDMap2,Flat" (exact search; the default), "IDMap2,HNSW32,Flat"
/// (graph search; no removal; see <see cref="SetHnswEfConstruction"/>), "IVF16,Flat" (needs <see cref="Train"/> before <see cref="Add"/>).
/// Files written by <see cref="Write"/> are ordinary FAISS files (Python's <c>faiss.read_index</c> opens them).
/// </para>
/// <para>
/// Errors: bad arguments raise <see cref="InvalidInputException"/> before reaching FAISS; anything FAISS itself rejects
/// (C++ exceptions are caught in the shim) raises <see cref="FaissNativeException"/> with FAISS's message; an unreadable
/// file raises <see cref="IndexCorruptException"/>.
/// </para>
/// <para>
/// Filtering: <see cref="Search(ReadOnlySpan{float}, int, IdSelection?)"/> returns only ids in an <see cref="IdSelection"/>;
/// <see cref="Reconstruct"/> reads stored vectors back by id (IDMap2 and IVF indexes).
/// </para>
/// <para>
/// Thread safety: searches (filtered or not), <see cref="Reconstruct"/> and property reads may run concurrently;
/// <see cref="Train"/>, <see cref="Add"/>, <see cref="Remove"/>, <see cref="Reset"/>, <see cref="SetSearchParameters"/>,
/// <see cref="SetHnswEfConstruction"/>, <see cref="Dispose"/> and the first <see cref="Reconstruct"/> of an IVF index (it
/// builds the direct map) take the index exclusively (FAISS indexes are not safe to mutate while searched).
/// </para>
/// </summary>
public sealed class FaissIndex : IDisposable
{
    const string DefaultFactory = "IDMap2,Flat";

    readonly FaissIndexHandle _handle;
    // Never disposed: threads may still be queued on it when Dispose runs; it holds no resources until contended.
    readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    readonly Lock _writeGate = new();
    bool _disposed;

    FaissIndex(FaissIndexHandle handle, string? factory)
    {
        _handle = handle;
        try
        {
            NativeMethods.Check(NativeMethods.IndexDimension(handle, out int dimension), "Index.d");
            NativeMethods.Check(NativeMethods.IndexMetric(handle, out int metric), "Index.metric_type");
            Dimension = dimension;
            Metric = (FaissMetric)metric;
            Factory = string.IsNullOrEmpty(factory) ? Describe(handle) : factory;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds an empty index with FAISS's <c>index_factory</c>.
    /// </summary>
    /// <param name="dimension">Vector dimension d (&gt; 0).</param>
    /// <param name="factory">FAISS factory description, e.g. "IDMap2,Flat", "IDMap2,HNSW32,Flat", "IVF16,Flat".</param>
    /// <param name="metric">Inner product (default; cosine for unit vectors) or L2.</param>
    /// <exception cref="InvalidInputException">dimension ≤ 0, empty factory, or unknown metric.</exception>
    /// <exception cref="FaissNativeException">FAISS rejects the description (e.g. "Foo123").</exception>
    public static FaissIndex Create(int dimension, string factory = DefaultFactory, FaissMetric metric = FaissMetric.InnerProduct)
    {
        if (dimension <= 0)
            throw new InvalidInputException($"FAISS index dimension must be positive (got {dimension})");
        if (string.IsNullOrWhiteSpace(factory))
            throw new InvalidInputException("FAISS factory string is empty (e.g. \"IDMap2,Flat\" or \"IDMap2,HNSW32,Flat\")");
        if (!Enum.IsDefined(metric))
            throw new InvalidInputException($"unknown FAISS metric {(int)metric} (use InnerProduct or L2)");
        factory = factory.Trim();
        int code = NativeMethods.IndexFactory(out var handle, dimension, factory, (int)metric);
        if (code != 0)
        {
            var error = new FaissNativeException((FaissErrorCode)code, $"index_factory(d={dimension}, \"{factory}\", {metric})",
                NativeMethods.LastError());
            handle.Dispose();
            throw error;
        }
        return new FaissIndex(handle, factory);
    }

    /// <summary>
    /// Reads a FAISS index file (ours, or one Python's <c>faiss.write_index</c> wrote).
    /// </summary>
    /// <exception cref="InvalidInputException">The file does not exist.</exception>
    /// <exception cref="IndexCorruptException">FAISS cannot read it (truncated, garbage, unsupported); carries FAISS's message.</exception>
    public static FaissIndex Read(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException("FAISS index path is empty");
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new InvalidInputException($"FAISS index file not found: {fullPath}",
                new FileNotFoundException("FAISS index file not found", fullPath));
        int code = NativeMethods.ReadIndex(fullPath, 0, out var handle);
        if (code != 0)
        {
            var native = new FaissNativeException((FaissErrorCode)code, $"read_index({fullPath})", NativeMethods.LastError());
            handle.Dispose();
            throw new IndexCorruptException($"cannot read FAISS index {fullPath}: {FaissNativeException.Summarize(native.NativeMessage)}", native);
        }
        return new FaissIndex(handle, factory: null);
    }

    /// <summary>Vector dimension d: every vector is d floats.</summary>
    public int Dimension { get; }

    /// <summary>
    /// How vectors are compared (and what <see cref="DenseHit.Score"/> means). A file written elsewhere may carry another
    /// FAISS metric; its raw FAISS value is kept.
    /// </summary>
    public FaissMetric Metric { get; }

    /// <summary>
    /// The factory description: as given to <see cref="Create"/>, or for a file read back, reconstructed from the index
    /// type when it is one of IDMap/IDMap2 over Flat, HNSW&lt;M&gt;,Flat or IVF&lt;n&gt;,Flat; null when unknown.
    /// </summary>
    public string? Factory { get; }

    /// <summary>Number of vectors in the index (FAISS's ntotal).</summary>
    public long Count
    {
        get
        {
            using var _ = EnterRead();
            return CountUnlocked();
        }
    }

    /// <summary>False for an index that needs <see cref="Train"/> before <see cref="Add"/> (IVF, PQ, ...).</summary>
    public bool IsTrained
    {
        get
        {
            using var _ = EnterRead();
            NativeMethods.Check(NativeMethods.IndexIsTrained(_handle, out int trained), "Index.is_trained");
            return trained != 0;
        }
    }

    /// <summary>
    /// Thread count FAISS uses (OpenMP, and OpenBLAS for batched flat search), process-wide, and the one our own exact scans
    /// use too (<see cref="FlatScan"/>, from a FAISS index or <see cref="ExactVectors"/>). Setting it applies to calls from
    /// every thread.
    /// </summary>
    public static int Threads
    {
        get => NativeMethods.OmpGetMaxThreads();
        set
        {
            if (value < 1) throw new InvalidInputException($"FAISS thread count must be at least 1 (got {value})");
            NativeMethods.Check(NativeMethods.OmpSetNumThreads(value), $"omp_set_num_threads({value})");
        }
    }

    /// <summary>The FAISS version the native shim was built against, e.g. "1.7.3".</summary>
    public static string NativeVersion => System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.Version()) ?? "";

    /// <summary>Trains the index on n vectors (row-major n × d). Needed by IVF/PQ indexes before <see cref="Add"/>; a no-op for Flat.</summary>
    /// <exception cref="InvalidInputException">No vectors, or a length that is not a multiple of d.</exception>
    /// <exception cref="FaissNativeException">FAISS refuses (e.g. fewer training vectors than IVF lists).</exception>
    public unsafe void Train(ReadOnlySpan<float> vectors)
    {
        int n = Rows(vectors, "training vectors");
        if (n == 0) throw new InvalidInputException("FAISS training needs at least one vector");
        using var _ = EnterWrite();
        fixed (float* x = vectors)
            NativeMethods.Check(NativeMethods.IndexTrain(_handle, n, x), $"train(n={n})");
    }

    /// <summary>Adds n vectors (row-major n × d) under the n given ids. Empty input is a no-op.</summary>
    /// <exception cref="InvalidInputException">Length not a multiple of d, or ids.Length ≠ n.</exception>
    /// <exception cref="FaissNativeException">FAISS refuses (e.g. the index is not trained, or it does not take ids).</exception>
    public unsafe void Add(ReadOnlySpan<float> vectors, ReadOnlySpan<long> ids)
    {
        int n = Rows(vectors, "vectors");
        if (ids.Length != n)
            throw new InvalidInputException($"got {ids.Length} ids for {n} vectors of dimension {Dimension}: need one id per vector");
        using var _ = EnterWrite();
        if (n == 0) return;
        fixed (float* x = vectors)
        fixed (long* xids = ids)
            NativeMethods.Check(NativeMethods.IndexAddWithIds(_handle, n, x, xids), $"add_with_ids(n={n})");
    }

    /// <summary>
    /// Finds the k nearest vectors of each query (row-major n × d), all queries in one native call. Hits come best first;
    /// a query gets fewer than k when the index holds fewer (FAISS's -1 padding is dropped).
    /// The same as <see cref="Search(ReadOnlySpan{float}, int, IdSelection?)"/> with no selection.
    /// </summary>
    /// <exception cref="InvalidInputException">k ≤ 0, or a length that is not a multiple of d.</exception>
    public SearchResult Search(ReadOnlySpan<float> queries, int k) => Search(queries, k, selection: null);

    /// <summary>
    /// Finds the k nearest vectors of each query (row-major n × d) among the vectors whose id (the one given at
    /// <see cref="Add"/>) is in <paramref name="selection"/>; all vectors when it is null. All queries go in one native call.
    /// Hits come best first and only selected ids come back; a query gets fewer than k when fewer are found (FAISS's -1
    /// padding is dropped). Ids at or beyond the selection's <see cref="IdSelection.Capacity"/> are not selected.
    /// <para>
    /// The filter runs inside FAISS's search: FAISS 1.7.3 <c>SearchParameters.sel</c>, an <c>IDSelectorBitmap</c> over the
    /// selection's bytes (no copy). FAISS 1.7.3's IDMap/IDMap2 refuse search parameters, so the shim searches the index they
    /// wrap and tests the id stored for each vector against the bitmap. The search-time parameters set by
    /// <see cref="SetSearchParameters"/> still apply (efSearch, nprobe: copied into SearchParametersHNSW/IVF).
    /// What that means per type:
    /// Flat is exact: the best k selected vectors, exactly k whenever the selection holds k ids present in the index.
    /// HNSW filters during the graph walk: only vectors the walk visits can be returned, so a selective filter gives fewer
    /// than k hits, and a larger efSearch finds more (20k random vectors, d = 32, 0.1% = 20 selected, k = 10: about 0.8
    /// hits per query with efSearch 16, 6 with efSearch 256, all 10 with efSearch 2048). IVF filters the probed lists:
    /// only selected vectors in the nprobe nearest lists are found (same data, IVF64, nprobe 4: about 0.8 hits). For a
    /// very selective filter, search the selected vectors exactly instead (<see cref="Reconstruct"/> them into an
    /// <see cref="ExactVectors"/>).
    /// </para>
    /// <para>Thread safety: like the unfiltered search; the selection must not change while the search runs.</para>
    /// </summary>
    /// <exception cref="InvalidInputException">k ≤ 0, or a length that is not a multiple of d.</exception>
    /// <exception cref="FaissNativeException">
    /// The index type takes no selector (supported: Flat, SQ8 (filtered by FlatScan), HNSW&lt;M&gt;,Flat, IVF&lt;n&gt; with any codes, bare or in IDMap/IDMap2); the
    /// message names the type. An empty selection returns no hits without asking FAISS.
    /// </exception>
    public unsafe SearchResult Search(ReadOnlySpan<float> queries, int k, IdSelection? selection)
    {
        if (k <= 0) throw new InvalidInputException($"k must be positive (got {k})");
        int n = Rows(queries, "queries");
        using var _ = EnterRead();
        long count = CountUnlocked();
        if (n == 0 || count == 0 || selection is { Count: 0 })
        {
            // Nothing to find; also keeps FAISS away from an empty HNSW graph (no entry point).
            var empty = new DenseHit[n][];
            Array.Fill(empty, Array.Empty<DenseHit>());
            return new SearchResult(empty);
        }
        // No index returns more than ntotal hits, nor more than the selection holds; clamping keeps the result buffers
        // small when k is huge.
        int kk = (int)Math.Min(Math.Min(k, count), selection?.Count ?? long.MaxValue);
        long total = (long)n * kk;
        if (total > Array.MaxLength)
            throw new InvalidInputException($"search of {n} queries × k={kk} is too large for one batch: split the queries");
        var distances = new float[total];
        var labels = new long[total];
        if ((ScanFlat(queries, n, kk, selection) ?? ScanIvf(queries, n, kk, selection)) is { } scanned) return new SearchResult(scanned);
        fixed (float* x = queries)
        fixed (float* d = distances)
        fixed (long* l = labels)
        {
            if (selection is null)
            {
                NativeMethods.Check(NativeMethods.IndexSearch(_handle, n, x, kk, d, l), $"search(n={n}, k={kk})");
            }
            else
            {
                fixed (byte* bits = selection.Bits)
                    NativeMethods.Check(NativeMethods.IndexSearchSelected(_handle, n, x, kk, bits, selection.Capacity, d, l),
                        $"search_selected(n={n}, k={kk}) on {TypeName}");
            }
        }

        var perQuery = new DenseHit[n][];
        for (int q = 0; q < n; q++)
        {
            int row = q * kk, found = 0;
            for (int j = 0; j < kk; j++)
                if (labels[row + j] != -1) found++;
            var hits = new DenseHit[found];
            for (int j = 0, h = 0; j < kk; j++)
                if (labels[row + j] != -1) hits[h++] = new DenseHit(labels[row + j], distances[row + j]);
            perQuery[q] = hits;
        }
        return new SearchResult(perQuery);
    }

    /// <summary>
    /// FAISS 1.7.3 switches exact search to BLAS (sgemm) at this many queries (<c>distance_compute_blas_threshold</c>); below
    /// it, it scores one query per thread, and <see cref="FlatScan"/> is faster (all threads on each query).
    /// </summary>
    internal const int FlatScanMaxQueries = 20;

    /// <summary>
    /// Flat and 8-bit scalar-quantised (SQ8) inner-product indexes (bare or in IDMap/IDMap2) searched by
    /// <see cref="FlatScan"/> over FAISS's own storage (floats, or codes with their quantiser): for fewer than <see cref="FlatScanMaxQueries"/> queries, and for every filtered search (FAISS 1.7.3 tests
    /// its selector per scored vector, after reading it). Null for other types, metrics and batch sizes: FAISS searches.
    /// Runs under the read lock, which keeps Add/Remove/Reset (the only things that move the storage) out.
    /// </summary>
    unsafe DenseHit[][]? ScanFlat(ReadOnlySpan<float> queries, int n, int k, IdSelection? selection)
    {
        if (Metric != FaissMetric.InnerProduct || (selection is null && n >= FlatScanMaxQueries) || !UseFlatScan) return null;
        NativeMethods.Check(NativeMethods.IndexFlatData(_handle, out float* rows, out long* ids, out long count), "flat_data");
        byte* codes = null;
        float* trained = null;
        if (rows == null)
        {
            NativeMethods.Check(NativeMethods.IndexSq8Data(_handle, out codes, out trained, out ids, out count), "sq8_data");
            if (codes == null) return null;
        }
        fixed (float* x = queries)
        fixed (byte* bits = selection is null ? default : selection.Bits)
        {
            long capacity = selection?.Capacity ?? 0;
            return rows != null
                ? FlatScan.Search(rows, ids, count, Dimension, x, n, k, Threads, bits, capacity)
                : FlatScan.SearchSq8(codes, trained, ids, count, Dimension, x, n, k, Threads, bits, capacity);
        }
    }

    /// <summary>
    /// Inner-product IVF,Flat and IVF,SQ8 indexes (bare or in IDMap/IDMap2, lists in memory, no max_codes) searched by
    /// <see cref="FlatScan"/> over FAISS's own storage, for the same searches as <see cref="ScanFlat"/>: the query's nprobe
    /// best centroids by inner product (FAISS's flat quantizer's choice), then the rows of those lists cut into one range per
    /// thread; SQ8 codes are scored without decoding them, plus the query's inner product with the list's centroid where they
    /// encode residuals (FAISS's default for IVF,SQ8). FAISS 1.7.3 scans a lone query's lists on one thread (parallel_mode 0)
    /// or splits them with OpenMP (1). Null for other types, metrics and batch sizes.
    /// </summary>
    unsafe DenseHit[][]? ScanIvf(ReadOnlySpan<float> queries, int n, int k, IdSelection? selection)
    {
        if (Metric != FaissMetric.InnerProduct || (selection is null && n >= FlatScanMaxQueries) || !UseFlatScan) return null;
        NativeMethods.Check(NativeMethods.IvfScanStorage(_handle, out int kind, out long nlist, out float* centroids, out long nprobe,
            out long maxCodes, out long* idMap, out float* trained, out int byResidual), "ivf_scan_storage");
        if (kind == NativeMethods.IvfScanNone || nlist == 0 || maxCodes != 0) return null;
        int probes = (int)Math.Clamp(nprobe, 1, nlist);
        int d = Dimension;
        var result = new DenseHit[n][];
        fixed (float* x = queries)
        fixed (byte* bits = selection is null ? default : selection.Bits)
        {
            long capacity = selection?.Capacity ?? 0;
            for (int q = 0; q < n; q++)
            {
                float* query = x + (long)q * d;
                var lists = FlatScan.Search(centroids, null, nlist, d, query, 1, probes, threads: 1)[0];
                var rows = new byte*[lists.Length];
                var ids = new long*[lists.Length];
                var sizes = new long[lists.Length];
                for (int j = 0; j < lists.Length; j++)
                    NativeMethods.Check(NativeMethods.IvfScanList(_handle, lists[j].Id, out rows[j], out ids[j], out sizes[j]), $"ivf_scan_list({lists[j].Id})");
                bool sq8 = kind == NativeMethods.IvfScanSq8;
                result[q] = FlatScan.SearchLists(rows, ids, sizes, idMap, d, query, k, Threads, bits, capacity,
                    sq8 ? trained : null, sq8 && byResidual != 0 ? Array.ConvertAll(lists, l => l.Score) : null);
            }
        }
        return result;
    }

    /// <summary>
    /// Whether few-query searches of flat, SQ8, IVF,Flat and IVF,SQ8 inner-product indexes go through <see cref="FlatScan"/> (the default)
    /// rather than FAISS's own search; for benchmarks and parity tests that measure or check one against the other.
    /// </summary>
    internal bool UseFlatScan { get; set; } = true;

    /// <summary>
    /// The stored vectors of <paramref name="ids"/> (the ids given at <see cref="Add"/>): row-major ids.Length ×
    /// <see cref="Dimension"/> floats, row i the vector of ids[i], read in one native call. Flat and HNSW (inside IDMap2)
    /// return exactly the floats that were added.
    /// <para>
    /// Works for IDMap2 over Flat, HNSW&lt;M&gt;,Flat or IVF&lt;n&gt;,Flat, for bare Flat/HNSW (ids are positions) and bare IVF.
    /// An IVF index needs FAISS's direct map (id → list entry): the first Reconstruct builds one (inside IDMap2 an array over
    /// its positions, for a bare IVF a hashtable over the ids; later adds keep it up to date, removals from a bare IVF too,
    /// and it is written with the index), taking the index exclusively for that, like <see cref="Add"/>; the reads
    /// themselves run beside searches.
    /// </para>
    /// </summary>
    /// <exception cref="InvalidInputException">An id the index does not hold (the message names it), or too many ids for one array.</exception>
    /// <exception cref="FaissNativeException">
    /// The index type cannot return vectors by id: "IDMap,…" keeps no map from ids back to vectors (use IDMap2), and some
    /// types cannot decode theirs. The message names the factory.
    /// </exception>
    public unsafe float[] Reconstruct(ReadOnlySpan<long> ids)
    {
        long total = (long)ids.Length * Dimension;
        if (total > Array.MaxLength)
            throw new InvalidInputException($"cannot reconstruct {ids.Length} vectors of dimension {Dimension} into one array: split the ids");
        int support;
        using (EnterRead())
            NativeMethods.Check(NativeMethods.IndexCanReconstruct(_handle, out support), $"can_reconstruct on {TypeName}");
        if (support == NativeMethods.ReconstructNeedsDirectMap)
        {
            // Building the direct map changes the index: not while it is searched. A no-op when another thread was first.
            using var write = EnterWrite();
            NativeMethods.Check(NativeMethods.IvfMakeDirectMap(_handle), $"IndexIVF.make_direct_map on {TypeName}");
        }

        var vectors = new float[total];
        using (EnterRead())
        {
            int code;
            long missing;
            fixed (long* p = ids)
            fixed (float* v = vectors)
                code = NativeMethods.IndexReconstructBatch(_handle, ids.Length, p, v, out missing);
            if (code != 0 && missing >= 0 && missing < ids.Length)
                throw new InvalidInputException(
                    $"id {ids[(int)missing]} is not in the FAISS index ({TypeName}, {CountUnlocked()} vectors): no stored vector to return");
            NativeMethods.Check(code, $"reconstruct(n={ids.Length}) on {TypeName}");
        }
        return vectors;
    }

    /// <summary>Removes the vectors with these ids; returns how many were removed (ids not present are ignored).</summary>
    /// <exception cref="FaissNativeException">
    /// The index type cannot remove: HNSW, and IDMap/IDMap2 over IVF (FAISS 1.7.3 would leave the remaining vectors under
    /// wrong ids; the shim refuses). A bare IVF index ("IVF16,Flat") can.
    /// </exception>
    public unsafe long Remove(ReadOnlySpan<long> ids)
    {
        using var _ = EnterWrite();
        if (ids.IsEmpty) return 0;
        long removed;
        fixed (long* p = ids)
            NativeMethods.Check(NativeMethods.IndexRemoveIds(_handle, ids.Length, p, out removed), $"remove_ids(n={ids.Length})");
        return removed;
    }

    /// <summary>Removes every vector; training (IVF centroids) is kept.</summary>
    public void Reset()
    {
        using var _ = EnterWrite();
        NativeMethods.Check(NativeMethods.IndexReset(_handle), "reset");
    }

    /// <summary>
    /// Sets search-time parameters through FAISS's ParameterSpace, e.g. "efSearch=64" (HNSW) or "nprobe=8" (IVF);
    /// several as "nprobe=8,efSearch=64". Looks through IDMap wrappers.
    /// </summary>
    /// <exception cref="FaissNativeException">FAISS does not know the parameter for this index type, or cannot parse it.</exception>
    public void SetSearchParameters(string parameters)
    {
        if (string.IsNullOrWhiteSpace(parameters))
            throw new InvalidInputException("FAISS search parameters are empty (e.g. \"efSearch=64\" or \"nprobe=8\")");
        using var _ = EnterWrite();
        NativeMethods.Check(NativeMethods.SetIndexParameters(_handle, parameters.Trim()), $"set_index_parameters(\"{parameters.Trim()}\")");
    }

    /// <summary>HNSW's build-time beam width (efConstruction; FAISS's default is 40), or null for a non-HNSW index.</summary>
    public int? HnswEfConstruction
    {
        get
        {
            using var _ = EnterRead();
            NativeMethods.Check(NativeMethods.HnswEfConstruction(_handle, out int ef), "IndexHNSW.efConstruction");
            return ef < 0 ? null : ef;
        }
    }

    /// <summary>The IVF index's FAISS direct map type (0 none, 1 array, 2 hashtable), or -1 for a non-IVF index; for tests.</summary>
    internal int IvfDirectMapType
    {
        get
        {
            using var _ = EnterRead();
            NativeMethods.Check(NativeMethods.IvfDirectMapType(_handle, out int type), "IndexIVF.direct_map_type");
            return type;
        }
    }

    /// <summary>
    /// Sets HNSW's efConstruction for vectors added from now on: larger builds a better graph, more slowly.
    /// Looks through IDMap wrappers.
    /// </summary>
    /// <exception cref="InvalidInputException"><paramref name="efConstruction"/> &lt; 1.</exception>
    /// <exception cref="FaissNativeException">The index is not HNSW.</exception>
    public void SetHnswEfConstruction(int efConstruction)
    {
        if (efConstruction < 1) throw new InvalidInputException($"HNSW efConstruction must be at least 1 (got {efConstruction})");
        using var _ = EnterWrite();
        NativeMethods.Check(NativeMethods.HnswSetEfConstruction(_handle, efConstruction), $"IndexHNSW.set_efConstruction({efConstruction})");
    }

    /// <summary>
    /// Writes the index atomically: FAISS writes <c>path + ".tmp"</c>, which is fsynced, then renamed over
    /// <paramref name="path"/> (and the folder fsynced). Readers see the old file or the new one, never a partial one.
    /// </summary>
    /// <exception cref="InvalidInputException">Empty path, or its folder does not exist.</exception>
    /// <exception cref="FaissNativeException">The write failed (disk full, permissions); the .tmp file is removed.</exception>
    public void Write(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException("FAISS index path is empty");
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(directory))
            throw new InvalidInputException($"cannot write FAISS index {fullPath}: folder {directory} does not exist");
        string temporary = fullPath + ".tmp";
        // Searches may go on while the file is written; two Writes of this index never share the .tmp file at once.
        lock (_writeGate)
        using (EnterRead())
        {
            try
            {
                NativeMethods.Check(NativeMethods.WriteIndex(_handle, temporary), $"write_index({temporary})");
                File.Move(temporary, fullPath, overwrite: true);
            }
            catch
            {
                TryDelete(temporary);
                throw;
            }
        }
        if (!OperatingSystem.IsWindows())
            NativeMethods.Check(NativeMethods.FsyncDirectory(directory), $"fsync({directory})");
    }

    /// <summary>Frees the native index. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _lock.EnterWriteLock();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _handle.Dispose();
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public override string ToString() =>
        $"FaissIndex({Factory ?? "unknown type"}, d={Dimension}, {Metric}{(_disposed ? ", disposed" : "")})";

    int Rows(ReadOnlySpan<float> data, string what)
    {
        if (data.Length % Dimension != 0)
            throw new InvalidInputException(
                $"{what}: {data.Length} floats is not a whole number of {Dimension}-dimensional vectors " +
                $"(expected n × {Dimension} floats, row-major)");
        return data.Length / Dimension;
    }

    string TypeName => Factory ?? "an index of unknown type";

    long CountUnlocked()
    {
        NativeMethods.Check(NativeMethods.IndexCount(_handle, out long count), "Index.ntotal");
        return count;
    }

    static unsafe string? Describe(FaissIndexHandle handle)
    {
        Span<byte> buffer = stackalloc byte[256];
        nuint length;
        fixed (byte* p = buffer)
            NativeMethods.Check(NativeMethods.IndexDescribe(handle, p, (nuint)buffer.Length, out length), "describe");
        if (length == 0) return null;
        if (length >= (nuint)buffer.Length)
        {
            buffer = new byte[(int)length + 1];
            fixed (byte* p = buffer)
                NativeMethods.Check(NativeMethods.IndexDescribe(handle, p, (nuint)buffer.Length, out length), "describe");
        }
        return Encoding.UTF8.GetString(buffer[..(int)length]);
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    ReadScope EnterRead()
    {
        _lock.EnterReadLock();
        if (_disposed)
        {
            _lock.ExitReadLock();
            throw new ObjectDisposedException(nameof(FaissIndex));
        }
        return new ReadScope(_lock);
    }

    WriteScope EnterWrite()
    {
        _lock.EnterWriteLock();
        if (_disposed)
        {
            _lock.ExitWriteLock();
            throw new ObjectDisposedException(nameof(FaissIndex));
        }
        return new WriteScope(_lock);
    }

    readonly ref struct ReadScope(ReaderWriterLockSlim lockObject)
    {
        public void Dispose() => lockObject.ExitReadLock();
    }

    readonly ref struct WriteScope(ReaderWriterLockSlim lockObject)
    {
        public void Dispose() => lockObject.ExitWriteLock();
    }
}
