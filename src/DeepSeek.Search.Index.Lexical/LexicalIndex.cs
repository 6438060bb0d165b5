using DeepSeek.Search.Core;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// A read-only BM25 index built by <see cref="LexicalIndexWriter"/>. Queries are plain user text: it is run through the
/// index's analyzer and becomes a bag of words (a BooleanQuery of SHOULD term queries, each boosted by the term's
/// count in the query, as Anserini's BagOfWordsQueryGenerator does), so query syntax characters are never interpreted.
/// In multifield mode the title and body bags are summed. Results are ordered by score, then document id (ordinal).
/// <see cref="Search"/> is safe to call from several threads at once.
/// </summary>
public sealed class LexicalIndex : IDisposable
{
    /// <summary>Most distinct query terms used per field (Lucene's default clause limit); extra terms are ignored.</summary>
    public const int MaxQueryTerms = 1024;

    static readonly Sort ScoreThenId = new(SortField.FIELD_SCORE, new SortField(LexicalFields.Id, SortFieldType.STRING));

    readonly Lucene.Net.Store.Directory _dir;
    readonly DirectoryReader _reader;
    readonly IndexSearcher _searcher;
    readonly Analyzer _analyzer;
    readonly IReadOnlyList<string> _fields;

    LexicalIndex(string path, LexicalIndexInfo info, Lucene.Net.Store.Directory dir, DirectoryReader reader)
    {
        Path = path;
        Info = info;
        _dir = dir;
        _reader = reader;
        _analyzer = LexicalAnalyzers.Create(info.Analyzer);
        _searcher = new IndexSearcher(reader) { Similarity = new BM25Similarity(info.K1, info.B) };
        _fields = LexicalFields.Searched(info.FieldMode);
    }

    /// <summary>The index folder.</summary>
    public string Path { get; }

    /// <summary>What <c>lexical.json</c> records.</summary>
    public LexicalIndexInfo Info { get; }

    /// <summary>The options the index was built with.</summary>
    public Bm25Options Options => Info.Options;

    /// <summary>Number of indexed documents.</summary>
    public int DocumentCount => _reader.NumDocs;

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
            if (reader.NumDocs != info.DocumentCount)
                throw new IndexCorruptException($"lexical index at {directory} holds {reader.NumDocs} documents but {LexicalIndexInfo.FileName} records {info.DocumentCount}");
            return new LexicalIndex(directory, info, dir, reader);
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
    public IReadOnlyList<Hit> Search(string query, int k)
    {
        if (string.IsNullOrWhiteSpace(query)) throw new InvalidInputException("query is empty");
        if (k < 1) throw new InvalidInputException($"k must be >= 1, got {k}");
        var q = BuildQuery(query);
        int n = Math.Min(k, _reader.MaxDoc);
        if (q == null || n == 0) return [];
        TopFieldDocs top;
        try
        {
            top = _searcher.Search(q, null, n, ScoreThenId, doDocScores: true, doMaxScore: false);
        }
        catch (Exception ex) when (ex is not ObjectDisposedException
                                   && ex is IOException or InvalidOperationException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new IndexCorruptException($"lexical index at {Path} failed while searching: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
        var hits = new Hit[top.ScoreDocs.Length];
        for (int i = 0; i < hits.Length; i++)
        {
            var fd = (FieldDoc)top.ScoreDocs[i];
            hits[i] = new Hit(((BytesRef)fd.Fields[1]).Utf8ToString(), fd.Score);
        }
        return hits;
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

    /// <summary>The bag-of-words query for <paramref name="text"/>, or null when it has no terms.</summary>
    Query? BuildQuery(string text)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var t in Analyze(text))
        {
            if (counts.TryGetValue(t, out int c)) counts[t] = c + 1;
            else if (order.Count < MaxQueryTerms) { counts[t] = 1; order.Add(t); }
        }
        if (order.Count == 0) return null;

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
        _dir.Dispose();
        _analyzer.Dispose();
    }
}
