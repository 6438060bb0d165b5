using DeepSeek.Search.Encode;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// Searches a collection: BM25 over Lucene, dense over chunk vectors (a document scores as its best chunk), or both fused.
/// Opened once, used for many queries, from many threads at once.
/// <para>
/// Every search runs on one <see cref="CollectionView"/>: the latest Lucene commit of the current snapshot and the store
/// and vectors as of that commit's batch, so it sees exactly one committed state (never a document in BM25 but missing
/// from the dense side or the store, never half a batch). Before each search the searcher checks, cheaply, whether a newer
/// batch or snapshot was committed (by this process or another) and moves to it: a search that starts after a write is
/// acknowledged sees it.
/// </para>
/// <para>
/// A caller and a metadata filter restrict every mode before ranking: a Lucene filter for BM25, an id selection for the
/// FAISS search and the pending vectors, and an exact search over the permitted chunks when they are few (or when an
/// approximate index could not fill k); hybrid fuses permitted hits only. When k permitted documents match, k come back.
/// </para>
/// </summary>
public sealed class CollectionSearcher : IDisposable
{
    /// <summary>Permitted chunks at or below which a filtered dense search is exact (as Lucene falls back to exact search).</summary>
    public const int ExactSearchMaxChunks = 4096;

    readonly CollectionStore _store;
    readonly ReaderSettings _settings;
    readonly Lock _refresh = new();
    CollectionView _view;
    bool _disposed;

    CollectionSearcher(CollectionStore store, ReaderSettings settings, CollectionView view)
    {
        _store = store;
        _settings = settings;
        _view = view;
    }

    /// <summary>The snapshot the latest view reads.</summary>
    public Snapshot Snapshot => _view.Snapshot.Snapshot;
    public Manifest Manifest => Snapshot.Manifest;
    public bool HasDense => _view.Snapshot.Dense != null;
    /// <summary>The sequence number of the batch the latest view ends with.</summary>
    public long Seq => _view.Seq;
    /// <summary>Live documents in the latest view.</summary>
    public long DocumentCount => _view.Lexical.DocumentCount;
    /// <summary>Whether each search first moves to the newest committed state (default true).</summary>
    public bool AutoRefresh { get; set; } = true;

    /// <summary>
    /// Opens the current snapshot. <paramref name="encoderPath"/> overrides the encoder stored with the index; its
    /// identity and dimension must match what the index was built with. <paramref name="denseParameters"/> are FAISS
    /// search-time parameters such as "efSearch=128" (HNSW) or "nprobe=16" (IVF). <paramref name="queryPrecision"/>: the query
    /// encoder in float32 (default) or <see cref="EncoderPrecision.Int8"/> (CPU; a query encodes about 3× faster here, its vector
    /// within quantization error of the float32 one).
    /// </summary>
    public static CollectionSearcher Open(CollectionStore store, string? encoderPath = null, string device = "cpu", string? denseParameters = null,
        EncoderPrecision queryPrecision = EncoderPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(store);
        var settings = new ReaderSettings(encoderPath, device, denseParameters, queryPrecision);
        var view = OpenView(store, settings, null);
        return new CollectionSearcher(store, settings, view);
    }

    static CollectionView OpenView(CollectionStore store, ReaderSettings settings, SharedEncoder? reuse)
    {
        var (snapshot, lease) = store.OpenCurrentLeased();
        var reader = SnapshotReader.Open(snapshot, lease, settings, reuse);
        try
        {
            var lexical = LexicalIndex.Open(snapshot.LexicalPath);
            try { return NewView(reader, lexical, null); }
            catch { lexical.Dispose(); throw; }
        }
        catch
        {
            reader.Release();
            throw;
        }
    }

    // Takes ownership of lexical; retains reader.
    static CollectionView NewView(SnapshotReader reader, LexicalIndex lexical, CollectionView? previous)
    {
        long seq = lexical.Seq;
        reader.LoadChunksTo(seq);
        ExactVectors? pending = previous?.Pending;
        long from = previous?.Seq ?? 0;
        if (reader.Dense != null && seq > from)
        {
            var fresh = reader.Documents.PendingVectors(from, seq).ToList();
            if (fresh.Count > 0)
            {
                int dim = reader.Dense.Dimension;
                var rows = new float[fresh.Count * dim];
                var ids = new long[fresh.Count];
                for (int i = 0; i < fresh.Count; i++)
                {
                    if (fresh[i].Vector.Length != dim)
                        throw new IndexCorruptException($"document store {reader.Snapshot.DocumentStorePath} holds a {fresh[i].Vector.Length}-d vector for chunk {fresh[i].ChunkId}, expected {dim}");
                    fresh[i].Vector.CopyTo(rows, i * dim);
                    ids[i] = fresh[i].ChunkId;
                }
                pending = (pending ?? ExactVectors.Empty(dim)).Append(rows, ids);
            }
        }
        // Checked when a snapshot is opened (a count over the store; refreshes trust the batch boundaries).
        var docs = previous == null ? reader.Documents.CountAt(seq) : lexical.DocumentCount;
        if (docs != lexical.DocumentCount)
            throw new IndexCorruptException($"collection '{reader.Snapshot.Manifest.Collection}' at batch {seq}: the document store holds {docs} documents, the lexical index {lexical.DocumentCount}");
        return new CollectionView(previous == null ? reader : reader.Retain(), lexical, pending);
    }

    /// <summary>Moves to the newest committed state, if there is one; returns whether it moved.</summary>
    public bool Refresh()
    {
        lock (_refresh)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var view = _view;
            string? current = ReadCurrentName();
            if (current != null && current != view.Snapshot.Name)
            {
                var next = OpenView(_store, _settings, view.Snapshot.Encoder);
                _view = next;
                view.Release();
                return true;
            }
            var lexical = view.Lexical.Reopen();
            if (lexical == null) return false;
            CollectionView fresh;
            try { fresh = NewView(view.Snapshot, lexical, view); }
            catch { lexical.Dispose(); throw; }
            _view = fresh;
            view.Release();
            return true;
        }
    }

    string? ReadCurrentName()
    {
        try { return File.ReadAllText(Path.Combine(_store.Directory, CollectionStore.CurrentFileName)).Trim(); }
        catch (IOException) { return null; }
    }

    CollectionView Acquire()
    {
        lock (_refresh)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (AutoRefresh && (!_view.Lexical.IsCurrent() || ReadCurrentName() is { } n && n != _view.Snapshot.Name)) Refresh();
            return _view.Retain();
        }
    }

    public IReadOnlyList<SearchHit> Search(string query, SearchOptions options) => Execute(query, options).Hits;

    /// <summary>
    /// The hits with their stored fields, score parts, chunk and snippet, the batch they were read at and the stage timings.
    /// <paramref name="cancellationToken"/> is checked between the stages (before and after encoding the query, between
    /// the two sides of a hybrid search, before the stored fields are read).
    /// </summary>
    public SearchResponse Execute(string query, SearchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        var view = Acquire();
        try
        {
            var clock = new StageClock();
            var ranking = Rank(view, query, options, null, clock, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            List<SearchHit> hits;
            using (clock.Time(SearchStage.Fetch)) hits = Describe(view, ranking, query, options.SnippetChars);
            return new SearchResponse(view.Seq, hits, clock.ToTimings());
        }
        finally { view.Release(); }
    }

    /// <summary>
    /// The stored document <paramref name="id"/> as of the latest view, and that view's batch; null when the collection does
    /// not hold it or <paramref name="caller"/> may not read it (the two are indistinguishable on purpose).
    /// </summary>
    public (StoredDocument? Document, long Seq) Get(string id, Caller? caller)
    {
        ArgumentNullException.ThrowIfNull(id);
        var view = Acquire();
        try
        {
            var d = view.Snapshot.Documents.Get(id, view.Seq);
            if (d is not null && caller is not null && d.Acl is { } acl && !acl.Permits(caller)) d = null;
            return (d, view.Seq);
        }
        finally { view.Release(); }
    }

    /// <summary>The ranked document ids and scores, without stored fields (what eval needs).</summary>
    public IReadOnlyList<Hit> Rank(string query, SearchOptions options)
    {
        var view = Acquire();
        try { return Rank(view, query, options, null, new StageClock()).Hits; }
        finally { view.Release(); }
    }

    /// <summary>
    /// <see cref="Rank(string, SearchOptions)"/> for many queries, all on one view: the same rankings, with the dense side's
    /// query embeddings computed in batches (one encoder call per batch instead of one per query: what makes a
    /// 10,000-query evaluation fast). An empty query gets an empty ranking.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<Hit>> RankMany(IReadOnlyList<string> queries, SearchOptions options, int batchSize = 64)
    {
        var results = new IReadOnlyList<Hit>[queries?.Count ?? 0];
        ForMany(queries!, options, batchSize, (view, i, vector) =>
            results[i] = string.IsNullOrWhiteSpace(queries![i]) ? Array.Empty<Hit>() : Rank(view, queries[i], options, vector, new StageClock()).Hits);
        return results;
    }

    /// <summary>
    /// <see cref="Execute"/> for many queries, all on one view, query embeddings computed in batches as in <see cref="RankMany"/>:
    /// the same responses (hits with stored fields and chunks; per-query timings without the shared encoding). An empty query
    /// gets an empty response.
    /// </summary>
    public IReadOnlyList<SearchResponse> ExecuteMany(IReadOnlyList<string> queries, SearchOptions options, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        var results = new SearchResponse[queries?.Count ?? 0];
        ForMany(queries!, options, batchSize, (view, i, vector) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(queries![i])) { results[i] = new SearchResponse(view.Seq, [], new StageClock().ToTimings()); return; }
            var clock = new StageClock();
            var ranking = Rank(view, queries[i], options, vector, clock, cancellationToken);
            List<SearchHit> hits;
            using (clock.Time(SearchStage.Fetch)) hits = Describe(view, ranking, queries[i], options.SnippetChars);
            results[i] = new SearchResponse(view.Seq, hits, clock.ToTimings());
        });
        return results;
    }

    /// <summary>The one batching of many queries: on one view, the dense query vectors of each batch in one encoder call, then <paramref name="each"/> per query.</summary>
    void ForMany(IReadOnlyList<string> queries, SearchOptions options, int batchSize, Action<CollectionView, int, float[]?> each)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "a batch holds at least one query");
        var view = Acquire();
        try
        {
            bool dense = view.Snapshot.Dense != null;
            var mode = options.Mode ?? (dense ? SearchMode.Hybrid : SearchMode.Bm25);
            for (int start = 0; start < queries.Count; start += batchSize)
            {
                int n = Math.Min(batchSize, queries.Count - start);
                var usable = Enumerable.Range(start, n).Where(i => !string.IsNullOrWhiteSpace(queries[i]) && queries[i].Length <= options.MaxQueryChars).ToList();
                float[][]? vectors = mode != SearchMode.Bm25 && dense && usable.Count > 0 ? view.Snapshot.Encoder!.EncodeQueries(usable.ConvertAll(i => queries[i])) : null;
                var byIndex = new float[]?[n];
                if (vectors != null) for (int j = 0; j < usable.Count; j++) byIndex[usable[j] - start] = vectors[j];
                for (int i = 0; i < n; i++) each(view, start + i, byIndex[i]);
            }
        }
        finally { view.Release(); }
    }

    /// <summary>
    /// A ranking: the final list, and per document what each side found (the lexical side's BM25 score; the dense side's
    /// best chunk and its inner product), null for a side that did not run.
    /// </summary>
    sealed record Ranking(IReadOnlyList<Hit> Hits, Dictionary<string, float>? Lexical, Dictionary<string, DenseDocument>? Dense);

    /// <summary>A document as the dense side found it: its best chunk and that chunk's score.</summary>
    readonly record struct DenseDocument(float Score, long ChunkId);

    static Ranking Rank(CollectionView view, string query, SearchOptions options, float[]? queryVector, StageClock clock, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (string.IsNullOrWhiteSpace(query)) throw new InvalidInputException("empty query");
        if (query.Length > options.MaxQueryChars)
            throw new InvalidInputException($"query of {query.Length} characters is longer than the limit of {options.MaxQueryChars}");
        bool hasDense = view.Snapshot.Dense != null;
        var mode = options.Mode ?? (hasDense ? SearchMode.Hybrid : SearchMode.Bm25);
        if (mode != SearchMode.Bm25 && !hasDense)
            throw new NoDenseIndexException(view.Snapshot.Snapshot.Manifest.Collection, mode.ToString().ToLowerInvariant());
        int depth = Math.Max(options.Depth, options.K);
        var (caller, filter) = (options.Caller, options.Filter);
        // A caller can read everything in a collection without ACLs: no pre-filter (building one visits every document).
        if (filter is null && caller is not null && view.Lexical.EveryDocumentOpen) caller = null;
        IReadOnlyList<Hit> Lexical(int k)
        {
            using (clock.Time(SearchStage.Bm25)) return view.Lexical.Search(query, k, caller, filter, options.Statistics);
        }
        List<(string Doc, DenseDocument Best)> Dense(int k)
        {
            using (clock.Time(SearchStage.Dense)) return DenseSearch(view, queryVector!, k, caller, filter);
        }

        if (mode == SearchMode.Bm25)
        {
            var bm25 = Lexical(options.K);
            return new Ranking(bm25, ByDocument(bm25), null);
        }
        // A hybrid search runs its BM25 side on a pool thread while this one encodes the query and searches the vectors, when
        // the pool has no backlog (an idle machine: the latency is the longer side, not the sum); this thread then joins the
        // BM25 side, taking the ranges of documents it has not reached. Under load, one after the other, as extra threads would
        // only queue. Both threads add their BM25 time to the clock's slot; the side's is the stage's one span.
        LexicalSearch? shared = null;
        Task? lexicalSide = null;
        if (mode == SearchMode.Hybrid && ThreadPool.PendingWorkItemCount == 0)
        {
            shared = view.Lexical.Begin(query, depth, caller, filter, options.Statistics);
            lexicalSide = Task.Run(() => { using (clock.Time(SearchStage.Bm25)) shared.Work(); }, CancellationToken.None);
        }
        try
        {
            if (queryVector is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using (clock.Time(SearchStage.Encode)) queryVector = view.Snapshot.Encoder!.EncodeQueries([query])[0];
                cancellationToken.ThrowIfCancellationRequested();
            }
            if (mode == SearchMode.Dense)
            {
                var only = Dense(options.K);
                return new Ranking(AsHits(only), null, DenseByDocument(only));
            }
            // The dense side first: it needs only the query vector, while the BM25 side may still be running.
            var dense = Dense(depth);
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<Hit> lexical;
            if (shared is null) lexical = Lexical(depth);
            else
            {
                using (clock.TimeShare(SearchStage.Bm25)) shared.Work();   // one span: the side's
                lexicalSide!.GetAwaiter().GetResult();
                lexical = shared.Hits();
            }
            return Fused(view, options, lexical, dense, clock);
        }
        finally
        {
            // never leave the BM25 side running on a view the caller is about to release
            // (its own failure, when another exception overtook it, is observed here rather than reported later)
            if (lexicalSide is { } side)
                try { side.Wait(CancellationToken.None); }
                catch (AggregateException) when (!ReferenceEquals(side.Exception, null)) { }
        }
    }

    static Dictionary<string, float> ByDocument(IReadOnlyList<Hit> hits) => hits.ToDictionary(h => h.DocumentId, h => h.Score, StringComparer.Ordinal);
    static Dictionary<string, DenseDocument> DenseByDocument(List<(string Doc, DenseDocument Best)> hits) => hits.ToDictionary(h => h.Doc, h => h.Best, StringComparer.Ordinal);
    static List<Hit> AsHits(List<(string Doc, DenseDocument Best)> hits) => hits.ConvertAll(h => new Hit(h.Doc, h.Best.Score));

    static Ranking Fused(CollectionView view, SearchOptions options, IReadOnlyList<Hit> lexical, List<(string Doc, DenseDocument Best)> dense, StageClock clock)
    {
        var (fusion, alpha) = EffectiveFusion(view, options);
        var denseHits = AsHits(dense);
        IReadOnlyList<Hit> fused;
        using (clock.Time(SearchStage.Fuse))
            fused = HybridFusion.Fuse(fusion, lexical, denseHits, alpha, options.K);
        return new Ranking(fused, ByDocument(lexical), DenseByDocument(dense));
    }

    /// <summary>
    /// The BM25 corpus statistics of <paramref name="query"/> in the current view (<see cref="LexicalIndex.Statistics"/>): what
    /// a query front sums over the shards of a collection and passes back in <see cref="SearchOptions.Statistics"/>.
    /// </summary>
    public CorpusStatistics Statistics(string query, int maxQueryChars = 8192)
    {
        if (string.IsNullOrWhiteSpace(query)) throw new InvalidInputException("empty query");
        if (query.Length > maxQueryChars)
            throw new InvalidInputException($"query of {query.Length} characters is longer than the limit of {maxQueryChars}");
        var view = Acquire();
        try { return view.Lexical.Statistics(query); }
        finally { view.Release(); }
    }

    /// <summary>
    /// The hybrid fusion a search with <paramref name="options"/> uses: what the options say, else what the collection's encoder
    /// recommends in its dual_encoder.json (dss train records min-max with a small dense weight for self-supervised encoders,
    /// which are weaker than BM25 alone), else RRF (k = 60) and alpha <see cref="MinMaxFusion.DefaultAlpha"/>.
    /// </summary>
    public (FusionMethod Fusion, float Alpha) EffectiveFusion(SearchOptions options) => EffectiveFusion(_view, options);

    static (FusionMethod Fusion, float Alpha) EffectiveFusion(CollectionView view, SearchOptions options)
    {
        var config = view.Snapshot.Encoder?.Encoder.Config;
        var fusion = options.Fusion ?? (config?.HybridFusion == "minmax" ? FusionMethod.MinMax : FusionMethod.Rrf);
        float alpha = options.Alpha ?? config?.HybridAlpha ?? MinMaxFusion.DefaultAlpha;
        return (fusion, alpha);
    }

    static List<(string Doc, DenseDocument Best)> DenseSearch(CollectionView view, float[] q, int k, Caller? caller, FilterExpression? filter)
    {
        var selection = view.Permitted(caller, filter, out long permitted);
        if (permitted == 0) return [];
        if (selection != null && permitted <= ExactSearchMaxChunks) return BestPerDocument(view, ExactOverPermitted(view, q, selection, (int)permitted), k);

        // A document may own several chunks: fetch more chunks than documents wanted, keep each document's best, and fetch
        // deeper while fewer than k documents came back and more permitted chunks exist.
        long docs = Math.Max(1, view.Lexical.DocumentCount);
        double chunksPerDoc = Math.Max(1.0, (double)permitted / docs);
        long fetch = (long)Math.Min(permitted, Math.Ceiling(k * Math.Min(chunksPerDoc * 2, 16)) + 8);
        while (true)
        {
            int f = (int)Math.Min(fetch, int.MaxValue / 2);
            var baseHits = view.Snapshot.Dense!.Search(q, f, selection)[0];
            var pendingHits = view.Pending?.Search(q, f, selection) ?? [];
            var merged = baseHits.Concat(pendingHits).OrderByDescending(h => h.Score).ThenBy(h => h.Id).Take(f).ToList();
            var best = BestPerDocument(view, merged, k);
            if (best.Count >= k || fetch >= permitted) return best;
            // An approximate index (HNSW, IVF) may return fewer hits than asked even though enough permitted chunks exist.
            if (merged.Count < Math.Min(f, permitted)) return BestPerDocument(view, ExactOverPermitted(view, q, selection ?? view.PermittedIds(caller, filter), (int)Math.Min(permitted, int.MaxValue)), k);
            fetch = Math.Min(permitted, fetch * 4);
        }
    }

    // Exact inner products with every permitted chunk: vectors from the FAISS file (reconstructed) and the pending ones.
    static List<DenseHit> ExactOverPermitted(CollectionView view, float[] q, IdSelection selection, int permitted)
    {
        var pendingIds = view.Pending?.Ids.ToArray() ?? [];
        var inIndex = new List<long>(permitted);
        for (long id = 0; id < selection.Capacity; id++)
            if (selection.Contains(id) && Array.BinarySearch(pendingIds, id) < 0) inIndex.Add(id);
        var hits = new List<DenseHit>(permitted);
        if (inIndex.Count > 0)
        {
            var ids = inIndex.ToArray();
            var index = view.Snapshot.Dense!;
            hits.AddRange(new ExactVectors(index.Dimension, index.Reconstruct(ids), ids).Search(q, ids.Length));
        }
        if (view.Pending != null) hits.AddRange(view.Pending.Search(q, Math.Max(1, view.Pending.Count), selection));
        hits.Sort((a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return hits;
    }

    static List<(string Doc, DenseDocument Best)> BestPerDocument(CollectionView view, IEnumerable<DenseHit> hits, int k)
    {
        // sized for the hits up front (no rehash per search), sorted in place (no LINQ buffers): a search's dense side runs this on ~200 chunks
        var best = new Dictionary<string, DenseDocument>(hits is ICollection<DenseHit> c ? c.Count : 0, StringComparer.Ordinal);
        foreach (var h in hits)
        {
            var doc = view.DocumentOfChunk(h.Id)
                      ?? throw new IndexCorruptException($"vector index returned chunk id {h.Id}, which the document store of '{view.Snapshot.Snapshot.Manifest.Collection}' does not hold");
            if (!best.TryGetValue(doc, out var s) || h.Score > s.Score) best[doc] = new DenseDocument(h.Score, h.Id);
        }
        var ranked = new List<(string Doc, DenseDocument Best)>(best.Count);
        foreach (var (doc, d) in best) ranked.Add((doc, d));
        ranked.Sort((x, y) => x.Best.Score != y.Best.Score ? y.Best.Score.CompareTo(x.Best.Score) : string.CompareOrdinal(x.Doc, y.Doc));
        if (ranked.Count > k) ranked.RemoveRange(k, ranked.Count - k);
        return ranked;
    }

    /// <summary>
    /// The stored fields of the ranked documents, each with its score parts, the chunk it rests on (the dense side's best
    /// chunk, else the chunk holding most of the query's term matches) and, when <paramref name="snippetChars"/> &gt; 0, a
    /// snippet around that chunk with the matches marked.
    /// </summary>
    static List<SearchHit> Describe(CollectionView view, Ranking ranking, string query, int snippetChars)
    {
        var hits = ranking.Hits;
        var docs = view.Snapshot.Documents.GetMany(hits.Select(h => h.DocumentId), view.Seq);
        var result = new List<SearchHit>(hits.Count);
        for (int i = 0; i < hits.Count; i++)
        {
            var h = hits[i];
            if (!docs.TryGetValue(h.DocumentId, out var d))
                throw new IndexCorruptException($"search of '{view.Snapshot.Snapshot.Manifest.Collection}' at batch {view.Seq} found document '{h.DocumentId}', which its store does not hold at that batch");
            float? bm25 = ranking.Lexical != null && ranking.Lexical.TryGetValue(h.DocumentId, out var b) ? b : null;
            DenseDocument? dense = ranking.Dense != null && ranking.Dense.TryGetValue(h.DocumentId, out var dd) ? dd : null;
            bool wantMatches = snippetChars > 0 || (dense is null && d.ChunkCount > 1);
            var matches = wantMatches ? view.Lexical.MatchingSpans(query, d.Text) : [];
            ChunkSpan? chunk = null;
            int bodyStart = TextChunker.BodyStart(d.Title, d.Text);
            if (dense is { } best && view.Snapshot.Documents.GetChunk(best.ChunkId) is { } c)
                chunk = InBody(c, bodyStart, d.Text.Length);
            else if (d.ChunkCount > 0)
                chunk = MostMatches(view.Snapshot.Documents.ChunksOf(d.Id, d.Version).Select(x => InBody(x, bodyStart, d.Text.Length)), matches);
            Snippet? snippet = null;
            if (snippetChars > 0)
                snippet = Snippets.Cut(d.Text, chunk?.Start ?? (matches.Count > 0 ? matches[0].Start : 0), snippetChars, matches);
            result.Add(new SearchHit(i + 1, h.DocumentId, h.Score, d.Title, d.Text, d.MetadataJson, d.Version)
            {
                Bm25Score = bm25, DenseScore = dense?.Score, Chunk = chunk, Snippet = snippet,
            });
        }
        return result;
    }

    /// <summary>A stored chunk's span (in the title + body text the chunker composed) as a span of the body.</summary>
    static ChunkSpan InBody(StoredChunk c, int bodyStart, int bodyLength) =>
        new(c.ChunkId, Math.Clamp(c.Start - bodyStart, 0, bodyLength), Math.Clamp(c.End - bodyStart, 0, bodyLength));

    /// <summary>The chunk holding most of <paramref name="matches"/> (the first such chunk on a tie), or null when there are no chunks.</summary>
    static ChunkSpan? MostMatches(IEnumerable<ChunkSpan> chunks, IReadOnlyList<(int Start, int End)> matches)
    {
        ChunkSpan? best = null;
        int bestCount = -1;
        foreach (var c in chunks)
        {
            int n = 0;
            foreach (var (s, e) in matches) if (s >= c.Start && e <= c.End) n++;
            if (n > bestCount) (best, bestCount) = (c, n);
        }
        return best;
    }

    /// <summary>
    /// Checks the latest view: Lucene, the store and the vectors must agree (reads every live document; for tests and
    /// <c>dss info --check</c>, not for serving).
    /// </summary>
    public CollectionAudit Audit()
    {
        var view = Acquire();
        try
        {
            var problems = new List<string>();
            var store = view.Snapshot.Documents.DocumentsAt(view.Seq).ToDictionary(d => d.Id, StringComparer.Ordinal);
            var lexical = view.Lexical.LiveDocuments().ToList();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long liveChunks = 0;
            var chunkIds = new List<long>();
            foreach (var (id, version, first, count) in lexical)
            {
                if (!seen.Add(id)) problems.Add($"lexical index holds '{id}' twice");
                if (!store.TryGetValue(id, out var d)) { problems.Add($"'{id}' is in the lexical index but not in the store at batch {view.Seq}"); continue; }
                if (d.Version != version) problems.Add($"'{id}': lexical version {version}, store version {d.Version}");
                if (d.FirstChunk != first || d.ChunkCount != count) problems.Add($"'{id}': lexical chunks {first}+{count}, store chunks {d.FirstChunk}+{d.ChunkCount}");
                liveChunks += count;
                for (long c = first; c < first + count; c++) chunkIds.Add(c);
            }
            foreach (var id in store.Keys)
                if (!seen.Contains(id)) problems.Add($"'{id}' is in the store at batch {view.Seq} but not in the lexical index");
            long vectors = 0;
            if (view.Snapshot.Dense is { } dense)
            {
                var pending = view.Pending?.Ids.ToArray() ?? [];
                var inIndex = chunkIds.Where(c => Array.BinarySearch(pending, c) < 0).ToArray();
                vectors = chunkIds.Count - inIndex.Length;
                try
                {
                    if (inIndex.Length > 0) dense.Reconstruct(inIndex);
                    vectors += inIndex.Length;
                }
                catch (Core.SearchException e) { problems.Add($"live chunks without a vector in {view.Snapshot.Snapshot.DensePath}: {e.Message}"); }
                if (vectors != liveChunks) problems.Add($"{liveChunks} live chunks but {vectors} vectors");
            }
            return new CollectionAudit(view.Seq, view.Snapshot.Name, store, lexical.Count, liveChunks, vectors, problems);
        }
        finally { view.Release(); }
    }

    public void Dispose()
    {
        lock (_refresh)
        {
            if (_disposed) return;
            _disposed = true;
            _view.Release();
        }
    }
}
