using DeepSeek.Search.Core;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Directory = System.IO.Directory;
using LuceneDocument = Lucene.Net.Documents.Document;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// Writes a lexical (BM25) index: a fresh Lucene directory written in one commit, then <c>lexical.json</c>.
/// Any index already in the folder is replaced; from <see cref="Open"/> until <see cref="Commit"/> the folder has no
/// <c>lexical.json</c> and cannot be opened, so a failed or abandoned build never leaves a half-written index that looks valid.
/// <para>
/// Incremental use: <see cref="Open"/>, <see cref="Add"/> each document as it is read (Lucene buffers at most
/// 128 MB before flushing a segment, so memory does not grow with the collection), then <see cref="Commit"/>;
/// <see cref="Rollback"/> or <see cref="Dispose"/> without a commit discards everything added. <see cref="Build"/> does all
/// three over a sequence. After an exception from <see cref="Add"/> other than the id checks, roll back.
/// </para>
/// </summary>
public sealed class LexicalIndexWriter : IDisposable
{
    readonly string _directory;
    readonly Bm25Options _options;
    readonly Lucene.Net.Analysis.Analyzer _analyzer;
    readonly FSDirectory _dir;
    readonly IndexWriter _writer;
    readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    readonly StringField _idField = new(LexicalFields.Id, "", Field.Store.YES);
    readonly SortedDocValuesField _idSort = new(LexicalFields.Id, new BytesRef());
    readonly TextField _contents = new(LexicalFields.Contents, "", Field.Store.NO);
    readonly TextField _title = new(LexicalFields.Title, "", Field.Store.NO);
    readonly TextField _body = new(LexicalFields.Body, "", Field.Store.NO);
    readonly LuceneDocument _doc;
    bool _closed;

    LexicalIndexWriter(string directory, Bm25Options options)
    {
        _directory = directory;
        _options = options;
        _analyzer = LexicalAnalyzers.Create(options.Analyzer);
        try
        {
            _dir = FSDirectory.Open(new DirectoryInfo(directory));
            var config = new IndexWriterConfig(LexicalAnalyzers.Version, _analyzer)
            {
                OpenMode = OpenMode.CREATE,
                Similarity = new BM25Similarity(options.K1, options.B),
                RAMBufferSizeMB = 128,
            };
            _writer = new IndexWriter(_dir, config);
        }
        catch
        {
            _dir?.Dispose();
            _analyzer.Dispose();
            throw;
        }
        _doc = new LuceneDocument { _idField, _idSort };
        if (options.FieldMode == LexicalFieldMode.Flat) _doc.Add(_contents);
        else { _doc.Add(_title); _doc.Add(_body); }
    }

    /// <summary>Documents added so far.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Starts a new index in <paramref name="directory"/> (created if missing; an index already there stops being openable
    /// at once and is replaced on <see cref="Commit"/>). Throws <see cref="InvalidInputException"/> for an empty path or
    /// invalid options.
    /// </summary>
    public static LexicalIndexWriter Open(string directory, Bm25Options? options = null)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new InvalidInputException("lexical index directory is empty");
        options ??= Bm25Options.Default;
        options.Validate();

        Directory.CreateDirectory(directory);
        string infoPath = Path.Combine(directory, LexicalIndexInfo.FileName);
        if (File.Exists(infoPath)) File.Delete(infoPath);
        return new LexicalIndexWriter(directory, options);
    }

    /// <summary>
    /// Indexes <paramref name="docs"/> (streamed once) into <paramref name="directory"/>: <see cref="Open"/>, <see cref="Add"/>
    /// each, <see cref="Commit"/>. Throws <see cref="InvalidInputException"/> for invalid options, an empty id or a duplicate id.
    /// </summary>
    public static LexicalIndexInfo Build(string directory, IEnumerable<Core.Document> docs, Bm25Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(docs);
        using var writer = Open(directory, options);
        foreach (var d in docs) writer.Add(d);
        return writer.Commit();
    }

    /// <summary>
    /// Adds one document. Throws <see cref="InvalidInputException"/> for a null document, an empty id or an id already added
    /// (the document is then not added and the writer stays usable).
    /// </summary>
    public void Add(Core.Document d)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (d is null) throw new InvalidInputException("document sequence contains null");
        if (string.IsNullOrEmpty(d.Id)) throw new InvalidInputException("document with an empty id");
        if (!_seen.Add(d.Id)) throw new InvalidInputException($"duplicate document id '{d.Id}'");
        _idField.SetStringValue(d.Id);
        _idSort.SetBytesValue(new BytesRef(d.Id));
        string t = d.Title ?? "", b = d.Text ?? "";
        if (_options.FieldMode == LexicalFieldMode.Flat)
            _contents.SetStringValue(t.Length == 0 ? b : b.Length == 0 ? t : t + "\n" + b);
        else
        {
            _title.SetStringValue(t);
            _body.SetStringValue(b);
        }
        _writer.AddDocument(_doc);
        Count++;
    }

    /// <summary>Commits the Lucene index, then writes <c>lexical.json</c>; the index can be opened from then on. Closes the writer.</summary>
    public LexicalIndexInfo Commit()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        try
        {
            _writer.Commit();
            _writer.Dispose();
        }
        catch
        {
            Rollback();
            throw;
        }
        Close();
        var info = new LexicalIndexInfo
        {
            Analyzer = _options.Analyzer, K1 = _options.K1, B = _options.B, FieldMode = _options.FieldMode, DocumentCount = Count,
        };
        info.Write(_directory);
        return info;
    }

    /// <summary>Discards everything added and closes the writer; the folder holds no openable index. Idempotent.</summary>
    public void Rollback()
    {
        if (_closed) return;
        try { _writer.Rollback(); }
        finally { Close(); }
    }

    /// <summary>Rolls back unless <see cref="Commit"/> ran.</summary>
    public void Dispose() => Rollback();

    void Close()
    {
        _closed = true;
        _dir.Dispose();
        _analyzer.Dispose();
    }
}
