using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Lexical.Filtering;
using DeepSeek.Search.TestKit;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using LuceneDocument = Lucene.Net.Documents.Document;

namespace DeepSeek.Search.Index.Lexical.Tests.Filtering;

/// <summary>
/// A real Lucene index on disk (FSDirectory in a temp folder) laid out like the lexical index (id, contents, title, body,
/// English analyzer, BM25 k1 0.9 b 0.4) plus <see cref="FilterFields"/>, and the searches the tests run on it.
/// </summary>
sealed class FilterIndex : IDisposable
{
    readonly TempDir _dir = new("dss-filter");
    readonly FSDirectory _fs;
    readonly DirectoryReader _reader;
    public IndexSearcher Searcher { get; }

    public FilterIndex(IEnumerable<Core.Document> docs, bool withFilterFields = true)
    {
        _fs = FSDirectory.Open(new DirectoryInfo(_dir.Path));
        using (var analyzer = LexicalAnalyzers.Create(LexicalAnalyzers.English))
        using (var writer = new IndexWriter(_fs, new IndexWriterConfig(LexicalAnalyzers.Version, analyzer) { Similarity = new BM25Similarity(0.9f, 0.4f) }))
        {
            foreach (var d in docs)
            {
                var doc = new LuceneDocument
                {
                    new StringField(LexicalFields.Id, d.Id, Field.Store.YES),
                    new TextField(LexicalFields.Contents, d.Title + "\n" + d.Text, Field.Store.NO),
                    new TextField(LexicalFields.Title, d.Title, Field.Store.NO),
                    new TextField(LexicalFields.Body, d.Text, Field.Store.NO),
                };
                if (withFilterFields) FilterFields.AddTo(doc, d);
                writer.AddDocument(doc);
            }
            writer.Commit();
        }
        _reader = DirectoryReader.Open(_fs);
        Searcher = new IndexSearcher(_reader) { Similarity = new BM25Similarity(0.9f, 0.4f) };
    }

    public int Count => _reader.NumDocs;

    /// <summary>The ids the filter query admits, run as a query and (checked equal) as a QueryWrapperFilter over all documents.</summary>
    public SortedSet<string> Visible(Caller? caller, FilterExpression? filter)
    {
        var q = FilterQuery.Build(caller, filter);
        if (q is null) return Ids(Searcher.Search(new MatchAllDocsQuery(), Count));
        var asQuery = Ids(Searcher.Search(q, Count));
        var asFilter = Ids(Searcher.Search(new MatchAllDocsQuery(), FilterQuery.BuildFilter(caller, filter), Count));
        Assert.Equal(asQuery, asFilter);
        return asQuery;
    }

    public SortedSet<string> Ids(TopDocs top) => new(top.ScoreDocs.Select(sd => Searcher.Doc(sd.Doc).Get(LexicalFields.Id)), StringComparer.Ordinal);

    public string Id(int doc) => Searcher.Doc(doc).Get(LexicalFields.Id);

    public void Dispose()
    {
        _reader.Dispose();
        _fs.Dispose();
        _dir.Dispose();
    }
}
