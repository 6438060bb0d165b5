using DeepSeek.Search.Core;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Lexical.Filtering;
using DeepSeek.Search.Index.Lexical.Scoring;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// A read-only BM25 index built by <see cref="LexicalIndexWriter"/>. Queries are plain user text: it is run through the
/// index's analyzer and becomes a bag of words (a BooleanQuery of SHOULD term queries, each boosted by the term's
/// count in the query, as Anserini's BagOfWordsQueryGenerator does), so query syntax characters are never interpreted.
/// In multifield mode the title and body bags are summed. Results are ordered by score, then document id (ordinal).
/// <see cref="Search"/> is safe to call from several threads at once.
/// <para>
/// An index reads one commit: <see cref="Seq"/> is the sequence number of the batch it ends with. <see cref="Reopen"/>
/// gives a reader of a newer commit (sharing the unchanged segments); each reader keeps its own commit until disposed.
/// A search may carry a caller and a metadata filter: the filter is a Lucene pre-filter (<see cref="FilterQuery"/>), so
/// scores are those of the unfiltered query and k permitted documents come back whenever k exist.
/// </para>
/// </summary>
public sealed class LexicalIndex : IDisposable
{
    /// <summary>Most distinct query terms used per field (Lucene's default clause limit); extra terms are ignored.</summary>
    public const int MaxQueryTerms = 1024;

    static readonly Sort ScoreThenId = new(SortField.FIELD_SCORE, new SortField(LexicalFields.Id, SortFieldType.STRING));

    readonly SharedDirectory _dir;
    readonly DirectoryReader _reader;
    readonly IndexSearcher _searcher;
    readonly Analyzer _analyzer;
    readonly IReadOnlyList<string> _fields;
    readonly MaxScoreSearch.ScratchPool _scratch;

    /// <summary>A Lucene directory shared by the readers of successive commits; closed with the last of them.</summary>
    sealed class SharedDirectory(Lucene.Net.Store.Directory directory)
    {
        int _refs = 1;
        public Lucene.Net.Store.Directory Directory { get; } = directory;
        public void Retain() => Interlocked.Increment(ref _refs);
        public void Release() { if (Interlocked.Decrement(ref _refs) == 0) Directory.Dispose(); }
    }

    LexicalIndex(string path, LexicalIndexInfo info, SharedDirectory dir, DirectoryReader reader)
    {
        Path = path;
        Info = info;
        _dir = dir;
        _reader = reader;
        _analyzer = LexicalAnalyzers.Create(info.Analyzer);
        _searcher = new IndexSearcher(reader) { Similarity = new BM25Similarity(info.K1, info.B) };
        _fields = LexicalFields.Searched(info.FieldMode);
        _scratch = new MaxScoreSearch.ScratchPool(_fields.Count);
    }

    /// <summary>The index folder.</summary>
    public string Path { get; }

    /// <summary>What <c>lexical.json</c> records.</summary>
    public LexicalIndexInfo Info { get; }

    /// <summary>The options the index was built with.</summary>
    public Bm25Options Options => Info.Options;

    /// <summary>Number of indexed (live) documents.</summary>
    public int DocumentCount => _reader.NumDocs;

    /// <summary>
    /// Whether every document of this view was indexed without an ACL (readable by all), so that restricting a search to what a
    /// caller may read changes nothing: every document ever written here, deleted ones included, carries the open marker. One
    /// term lookup; false as soon as any document, live or deleted, has an ACL.
    /// </summary>
    public bool EveryDocumentOpen => _reader.MaxDoc > 0 && _reader.DocFreq(new Term(FilterFields.AclOpen, FilterFields.OpenValue)) == _reader.MaxDoc;

    /// <summary>The sequence number of the batch this reader's commit ends with (0 for an index committed without one).</summary>
    public long Seq { get; private init; }

    static long SeqOf(DirectoryReader reader) =>
        reader.IndexCommit.UserData.TryGetValue(LexicalFields.CommitSeq, out var s)
            ? long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0;

    /// <summary>
    /// A reader of the index's latest commit, or null when this reader is already at it. The new reader shares unchanged
    /// segments with this one; both stay usable and are disposed separately.
    /// </summary>
    public LexicalIndex? Reopen()
    {
        DirectoryReader? newer;
        try { newer = DirectoryReader.OpenIfChanged(_reader); }
        catch (Exception ex) when (ex is not SearchException && ex is not OutOfMemoryException)
        {
            throw new IndexCorruptException($"lexical index at {Path} cannot be reopened: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
        if (newer == null) return null;
        _dir.Retain();
        return new LexicalIndex(Path, Info, _dir, newer) { Seq = SeqOf(newer) };
    }

    /// <summary>Whether a newer commit than this reader's exists.</summary>
    public bool IsCurrent() => _reader.IsCurrent();

    /// <summary>Opens the index with the options recorded in its <c>lexical.json</c>.</summary>
    public static LexicalIndex Open(string directory) => OpenCore(directory, null);

    /// <summary>
    /// Opens the index and checks that it was built with <paramref name="options"/> (analyzer, field mode, k1, b);
    /// a difference throws <see cref="IndexMismatchException"/>. A missing or damaged index throws
    /// <see cref="IndexCorruptException"/>.
    /// </summary>
    public static LexicalIndex Open(string directory, Bm25Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return OpenCore(directory, options);
    }

    static LexicalIndex OpenCore(string directory, Bm25Options? expected)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new InvalidInputException("lexical index directory is empty");
        if (!System.IO.Directory.Exists(directory)) throw new IndexCorruptException($"no lexical index at {directory} (folder not found)");
        var info = LexicalIndexInfo.Read(directory);
        if (info.Format != LexicalIndexInfo.CurrentFormat)
            throw new IndexMismatchException($"lexical index at {directory} has format {info.Format}; this build reads format {LexicalIndexInfo.CurrentFormat} (rebuild the index)");
        try { info.Options.Validate(); }
        catch (InvalidInputException ex) { throw new IndexCorruptException($"{System.IO.Path.Combine(directory, LexicalIndexInfo.FileName)}: {ex.Message}", ex); }
        if (expected != null) CheckMatch(directory, info, expected);

        Lucene.Net.Store.Directory? dir = null;
        DirectoryReader? reader = null;
        try
        {
            dir = FSDirectory.Open(new DirectoryInfo(directory));
            reader = DirectoryReader.Open(dir);
            long seq = SeqOf(reader);
            // An index written batch by batch changes size after lexical.json; one written in one commit must match it.
            if (seq == 0 && reader.NumDocs != info.DocumentCount)
                throw new IndexCorruptException($"lexical index at {directory} holds {reader.NumDocs} documents but {LexicalIndexInfo.FileName} records {info.DocumentCount}");
            return new LexicalIndex(directory, info, new SharedDirectory(dir), reader) { Seq = seq };
        }
        catch (Exception ex) when (ex is not SearchException && ex is not OutOfMemoryException)
        {
            reader?.Dispose();
            dir?.Dispose();
            throw new IndexCorruptException($"lexical index at {directory} is missing or corrupt: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
        catch
        {
            reader?.Dispose();
            dir?.Dispose();
            throw;
        }
    }

    static void CheckMatch(string directory, LexicalIndexInfo info, Bm25Options expected)
    {
        var diffs = new List<string>();
        if (info.Analyzer != expected.Analyzer) diffs.Add($"analyzer {info.Analyzer} vs {expected.Analyzer}");
        if (info.FieldMode != expected.FieldMode) diffs.Add($"fields {info.FieldMode} vs {expected.FieldMode}");
        if (MathF.Abs(info.K1 - expected.K1) > 1e-6f) diffs.Add($"k1 {info.K1:R} vs {expected.K1:R}");
        if (MathF.Abs(info.B - expected.B) > 1e-6f) diffs.Add($"b {info.B:R} vs {expected.B:R}");
        if (diffs.Count > 0)
            throw new IndexMismatchException($"lexical index at {directory} was built with different settings (index vs requested): {string.Join(", ", diffs)}");
    }

    /// <summary>
    /// The top <paramref name="k"/> documents for <paramref name="query"/>, best first (score descending, then id
    /// ascending). An empty or whitespace query, or k &lt; 1, throws <see cref="InvalidInputException"/>; a query with no
    /// indexable terms (only stopwords or punctuation) returns an empty list.
    /// </summary>
    public IReadOnlyList<Hit> Search(string query, int k) => Search(query, k, null, null);

    /// <summary>
    /// <see cref="Search(string, int)"/> over the documents <paramref name="caller"/> may read that match
    /// <paramref name="filter"/> (either null: no restriction of that kind).
    /// </summary>
    public IReadOnlyList<Hit> Search(string query, int k, Caller? caller, FilterExpression? filter) => Search(query, k, caller, filter, null);

    /// <summary>
    /// <see cref="Search(string, int, Caller?, FilterExpression?)"/> with BM25's corpus statistics taken from
    /// <paramref name="statistics"/> (the sum over the shards of a collection, <see cref="CorpusStatistics.Sum"/>) wherever it
    /// has them, so that this index scores as the whole collection would; null: this index's own.
    /// </summary>
    public IReadOnlyList<Hit> Search(string query, int k, Caller? caller, FilterExpression? filter, CorpusStatistics? statistics) =>
        Search(query, k, caller, filter, statistics, exhaustive: false);

    /// <summary>
    /// The search <see cref="Search(string, int, Caller?, FilterExpression?, CorpusStatistics?)"/> makes, prepared but not run:
    /// threads that call <see cref="LexicalSearch.Work"/> share its ranges of document ids (a hybrid search's BM25 side starts
    /// it on a pool thread and the searching thread joins once its own side is done), and <see cref="LexicalSearch.Hits"/>
    /// gives the same list the search would. Input errors are thrown here.
    /// </summary>
    public LexicalSearch Begin(string query, int k, Caller? caller, FilterExpression? filter, CorpusStatistics? statistics)
    {
        if (Parse(query, k) is not var (order, counts, n)) return new LexicalSearch(this, null);
        var restriction = FilterQuery.Build(caller, filter);
        return new LexicalSearch(this, Guarded(() =>
            MaxScoreSearch.Prepare(Searcher(statistics), _reader, _scratch, _fields, order.ConvertAll(t => (t, (float)counts[t])), Info.K1, Info.B, n, restriction)));
    }

    /// <summary>The query's distinct terms in order with their counts, and the hits wanted; null when there is nothing to find.</summary>
    (List<string> Order, Dictionary<string, int> Counts, int N)? Parse(string query, int k)
    {
        if (string.IsNullOrWhiteSpace(query)) throw new InvalidInputException("query is empty");
        if (k < 1) throw new InvalidInputException($"k must be >= 1, got {k}");
        var (order, counts) = QueryTerms(query);
        int n = Math.Min(k, _reader.MaxDoc);
        return order.Count == 0 || n == 0 ? null : (order, counts, n);
    }

    IndexSearcher Searcher(CorpusStatistics? statistics) =>
        statistics is null ? _searcher : new StatisticsSearcher(_reader, statistics) { Similarity = _searcher.Similarity };

    /// <summary><paramref name="run"/>, with Lucene's failures while reading the index reported as a corrupt index.</summary>
    internal T Guarded<T>(Func<T> run)
    {
        try { return run(); }
        catch (Exception ex) when (ex is not ObjectDisposedException
                                   && ex is IOException or InvalidOperationException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new IndexCorruptException($"lexical index at {Path} failed while searching: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }

    /// <summary>
    /// The one search. <paramref name="exhaustive"/> false (every caller's): MaxScore dynamic pruning over the term postings
    /// (<see cref="MaxScoreSearch"/>); true: Lucene's own BooleanQuery scorer, which scores every posting: the reference the
    /// pruned search is checked against, bit for bit (tests and benchmarks only).
    /// </summary>
    internal IReadOnlyList<Hit> Search(string query, int k, Caller? caller, FilterExpression? filter, CorpusStatistics? statistics, bool exhaustive)
    {
        if (!exhaustive) return Begin(query, k, caller, filter, statistics).Run();
        if (Parse(query, k) is not var (order, counts, n)) return [];
        var restriction = FilterQuery.Build(caller, filter);
        return Guarded<IReadOnlyList<Hit>>(() =>
        {
            var top = Searcher(statistics).Search(BuildQuery(order, counts), restriction == null ? null : new QueryWrapperFilter(restriction), n, ScoreThenId, doDocScores: true, doMaxScore: false);
            var hits = new Hit[top.ScoreDocs.Length];
            for (int i = 0; i < hits.Length; i++)
            {
                var fd = (FieldDoc)top.ScoreDocs[i];
                hits[i] = new Hit(((BytesRef)fd.Fields[1]).Utf8ToString(), fd.Score);
            }
            return hits;
        });
    }

    /// <summary>
    /// Calls <paramref name="range"/> with (first chunk id, chunk count) for every live document <paramref name="caller"/> may
    /// read that matches <paramref name="filter"/>, and returns how many documents that is: the permitted set of a
    /// filtered dense search.
    /// </summary>
    public long ForEachPermitted(Caller? caller, FilterExpression? filter, Action<long, int> range)
    {
        ArgumentNullException.ThrowIfNull(range);
        var restriction = FilterQuery.Build(caller, filter) ?? new MatchAllDocsQuery();
        var collector = new ChunkRangeCollector(range);
        _searcher.Search(restriction, collector);
        return collector.Count;
    }

    /// <summary>Every live document: id, version and chunk range, from the doc values (for consistency checks).</summary>
    public IEnumerable<(string Id, long Version, long FirstChunk, int ChunkCount)> LiveDocuments()
    {
        foreach (var leaf in _reader.Leaves)
        {
            var r = leaf.AtomicReader;
            var live = r.LiveDocs;
            var ids = r.GetSortedDocValues(LexicalFields.Id);
            if (ids == null) continue;
            var version = r.GetNumericDocValues(LexicalFields.Version);
            var first = r.GetNumericDocValues(LexicalFields.ChunkFirst);
            var count = r.GetNumericDocValues(LexicalFields.ChunkCount);
            var bytes = new BytesRef();
            for (int d = 0; d < r.MaxDoc; d++)
            {
                if (live != null && !live.Get(d)) continue;
                ids.Get(d, bytes);
                yield return (bytes.Utf8ToString(), version?.Get(d) ?? 0, first?.Get(d) ?? 0, (int)(count?.Get(d) ?? 0));
            }
        }
    }

    sealed class ChunkRangeCollector(Action<long, int> range) : ICollector
    {
        NumericDocValues? _first, _count;
        public long Count { get; private set; }
        public bool AcceptsDocsOutOfOrder => true;
        public void SetScorer(Scorer scorer) { }
        public void SetNextReader(AtomicReaderContext context)
        {
            _first = context.AtomicReader.GetNumericDocValues(LexicalFields.ChunkFirst);
            _count = context.AtomicReader.GetNumericDocValues(LexicalFields.ChunkCount);
        }
        public void Collect(int doc)
        {
            Count++;
            int n = (int)(_count?.Get(doc) ?? 0);
            if (n > 0) range(_first!.Get(doc), n);
        }
    }

    /// <summary>The analysed terms of <paramref name="text"/>, in order, with repeats: what a query or document becomes.</summary>
    public IReadOnlyList<string> Analyze(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = new List<string>();
        using var ts = _analyzer.GetTokenStream(_fields[0], new StringReader(text));
        var term = ts.AddAttribute<ICharTermAttribute>();
        ts.Reset();
        while (ts.IncrementToken()) terms.Add(term.ToString());
        ts.End();
        return terms;
    }

    /// <summary>
    /// The character spans (start, end exclusive, in UTF-16 units of <paramref name="text"/>) of the tokens of
    /// <paramref name="text"/> whose analysed term is a term of <paramref name="query"/> under this index's analyzer: what a
    /// BM25 match of the query rests on (stemmed, so "volcanoes" marks "volcano"). In text order; empty when nothing matches.
    /// </summary>
    public IReadOnlyList<(int Start, int End)> MatchingSpans(string query, string text)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(text);
        var terms = new HashSet<string>(Analyze(query), StringComparer.Ordinal);
        var spans = new List<(int, int)>();
        if (terms.Count == 0 || text.Length == 0) return spans;
        using var ts = _analyzer.GetTokenStream(_fields[^1], new StringReader(text));
        var term = ts.AddAttribute<ICharTermAttribute>();
        var offset = ts.AddAttribute<IOffsetAttribute>();
        ts.Reset();
        while (ts.IncrementToken())
            if (terms.Contains(term.ToString())) spans.Add((offset.StartOffset, offset.EndOffset));
        ts.End();
        return spans;
    }

    /// <summary>
    /// The corpus statistics a BM25 search of <paramref name="query"/> reads from this index: per searched field Lucene's
    /// collection statistics, per distinct query term (the first <see cref="MaxQueryTerms"/>) its term statistics. What a query
    /// front sums over shards (<see cref="CorpusStatistics.Sum"/>) and hands back to <see cref="Search(string, int, Caller?, FilterExpression?, CorpusStatistics?)"/>.
    /// They count every document, readable by the caller or not, exactly as the BM25 scores of one index do.
    /// </summary>
    public CorpusStatistics Statistics(string query)
    {
        if (string.IsNullOrWhiteSpace(query)) throw new InvalidInputException("query is empty");
        var (order, _) = QueryTerms(query);
        var fields = new List<FieldStatistics>();
        var terms = new List<TermStatistic>();
        foreach (var field in _fields)
        {
            var c = _searcher.CollectionStatistics(field);
            fields.Add(new FieldStatistics(field, c.MaxDoc, c.DocCount, c.SumTotalTermFreq, c.SumDocFreq));
            foreach (var t in order)
            {
                var term = new Term(field, t);
                var ts = _searcher.TermStatistics(term, TermContext.Build(_reader.Context, term));
                terms.Add(new TermStatistic(field, t, ts.DocFreq, ts.TotalTermFreq));
            }
        }
        return new CorpusStatistics(fields, terms);
    }

    /// <summary>An IndexSearcher whose BM25 weights read the given corpus statistics where they have the field or term.</summary>
    sealed class StatisticsSearcher(IndexReader reader, CorpusStatistics statistics) : IndexSearcher(reader)
    {
        public override CollectionStatistics CollectionStatistics(string field) =>
            statistics.Field(field) is { } f ? new CollectionStatistics(field, f.MaxDoc, f.DocCount, f.SumTotalTermFreq, f.SumDocFreq) : base.CollectionStatistics(field);

        public override TermStatistics TermStatistics(Term term, TermContext context) =>
            statistics.Term(term.Field, term.Text) is { } t ? new TermStatistics(term.Bytes, t.DocFreq, t.TotalTermFreq) : base.TermStatistics(term, context);
    }

    /// <summary>The distinct analysed terms of <paramref name="text"/> in first-seen order (at most <see cref="MaxQueryTerms"/>) and their counts.</summary>
    (List<string> Order, Dictionary<string, int> Counts) QueryTerms(string text)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var t in Analyze(text))
        {
            if (counts.TryGetValue(t, out int c)) counts[t] = c + 1;
            else if (order.Count < MaxQueryTerms) { counts[t] = 1; order.Add(t); }
        }
        return (order, counts);
    }

    /// <summary>The bag-of-words query of the distinct terms <paramref name="order"/> (at least one) boosted by their counts.</summary>
    Query BuildQuery(List<string> order, Dictionary<string, int> counts)
    {

        BooleanQuery PerField(string field)
        {
            var bq = new BooleanQuery(disableCoord: true);
            foreach (var t in order)
                bq.Add(new TermQuery(new Term(field, t)) { Boost = counts[t] }, Occur.SHOULD);
            return bq;
        }

        if (_fields.Count == 1) return PerField(_fields[0]);
        var all = new BooleanQuery(disableCoord: true);
        foreach (var f in _fields) all.Add(PerField(f), Occur.SHOULD);
        return all;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _dir.Release();
        _analyzer.Dispose();
    }
}
