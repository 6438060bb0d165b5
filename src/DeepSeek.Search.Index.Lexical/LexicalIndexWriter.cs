using System.Globalization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical.Filtering;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Directory = System.IO.Directory;
using LuceneDocument = Lucene.Net.Documents.Document;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// Writes a lexical (BM25) index. Two modes:
/// <list type="bullet">
/// <item><see cref="Open"/>: a fresh Lucene directory, filled by <see cref="Add(Core.Document)"/> and written in one
/// <see cref="Commit()"/>, then <c>lexical.json</c>. Any index already in the folder is replaced; until the commit the
/// folder has no <c>lexical.json</c> and cannot be opened, so a failed build never leaves a half-written index that looks
/// valid. Lucene buffers at most 128 MB before flushing a segment, so memory does not grow with the collection.
/// <see cref="Rollback"/> or <see cref="Dispose"/> without a commit discards everything added; <see cref="Build"/> does
/// all three over a sequence.</item>
/// <item><see cref="OpenLive"/>: a committed index, changed by <see cref="Upsert"/> and <see cref="Delete"/> and made
/// durable and visible batch by batch with <see cref="CommitBatch"/> (Lucene's two-phase commit: every file fsynced, then
/// the new segments file; the commit records the batch's sequence number, which readers report as
/// <see cref="LexicalIndex.Seq"/>). A crash before the commit leaves the previous commit.</item>
/// </list>
/// Every document carries its version and its chunk range as doc values, and its ACL and metadata as filter fields
/// (<see cref="FilterFields"/>).
/// </summary>
public sealed class LexicalIndexWriter : IDisposable
{
    readonly string _directory;
    readonly Bm25Options _options;
    readonly Lucene.Net.Analysis.Analyzer _analyzer;
    readonly FSDirectory _dir;
    readonly IndexWriter _writer;
    readonly HashSet<string>? _seen;
    readonly bool _live;
    bool _closed;

    LexicalIndexWriter(string directory, Bm25Options options, bool live, bool trackIds)
    {
        _directory = directory;
        _options = options;
        _live = live;
        _seen = trackIds ? new HashSet<string>(StringComparer.Ordinal) : null;
        _analyzer = LexicalAnalyzers.Create(options.Analyzer);
        try
        {
            _dir = FSDirectory.Open(new DirectoryInfo(directory));
            var config = new IndexWriterConfig(LexicalAnalyzers.Version, _analyzer)
            {
                OpenMode = live ? OpenMode.APPEND : OpenMode.CREATE,
                Similarity = new BM25Similarity(options.K1, options.B),
                RAMBufferSizeMB = live ? 32 : 128,
            };
            _writer = new IndexWriter(_dir, config);
        }
        catch (Exception e) when (live && e is not OutOfMemoryException)
        {
            _dir?.Dispose();
            _analyzer.Dispose();
            throw new IndexCorruptException($"lexical index at {directory} cannot be opened for writing: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        catch
        {
            _dir?.Dispose();
            _analyzer.Dispose();
            throw;
        }
    }

    /// <summary>Documents added or upserted through this writer.</summary>
    public int Count { get; private set; }

    /// <summary>The options the index is written with.</summary>
    public Bm25Options Options => _options;

    /// <summary>
    /// Starts a new index in <paramref name="directory"/> (created if missing; an index already there stops being openable
    /// at once and is replaced on <see cref="Commit()"/>). With <paramref name="trackIds"/> the writer itself rejects a
    /// repeated id (a caller that checks ids elsewhere, such as the collection's document store, passes false and keeps the
    /// writer's memory flat). Throws <see cref="InvalidInputException"/> for an empty path or invalid options.
    /// </summary>
    public static LexicalIndexWriter Open(string directory, Bm25Options? options = null, bool trackIds = true)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new InvalidInputException("lexical index directory is empty");
        options ??= Bm25Options.Default;
        options.Validate();

        Directory.CreateDirectory(directory);
        string infoPath = Path.Combine(directory, LexicalIndexInfo.FileName);
        if (File.Exists(infoPath)) File.Delete(infoPath);
        return new LexicalIndexWriter(directory, options, live: false, trackIds);
    }

    /// <summary>Opens a committed index for live batches, with the options its <c>lexical.json</c> records.</summary>
    public static LexicalIndexWriter OpenLive(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new InvalidInputException("lexical index directory is empty");
        var info = LexicalIndexInfo.Read(directory);
        return new LexicalIndexWriter(directory, info.Options, live: true, trackIds: false);
    }

    /// <summary>
    /// Indexes <paramref name="docs"/> (streamed once) into <paramref name="directory"/>: <see cref="Open"/>, <see cref="Add(Core.Document)"/>
    /// each, <see cref="Commit()"/>. Throws <see cref="InvalidInputException"/> for invalid options, an empty id or a duplicate id.
    /// </summary>
    public static LexicalIndexInfo Build(string directory, IEnumerable<Core.Document> docs, Bm25Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(docs);
        using var writer = Open(directory, options);
        foreach (var d in docs) writer.Add(d);
        return writer.Commit();
    }

    /// <summary>
    /// Adds one document (a new index only), with no version and no chunks. Throws <see cref="InvalidInputException"/> for
    /// a null document, an empty id or (when ids are tracked) an id already added; the document is then not added and the
    /// writer stays usable.
    /// </summary>
    public void Add(Core.Document d) => Add(d, 0, 0, 0);

    /// <summary>Adds one document of a new index with its version and chunk range.</summary>
    public void Add(Core.Document d, long version, long firstChunk, int chunkCount)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_live) throw new InvalidOperationException("a live index takes Upsert, not Add");
        Check(d);
        if (_seen != null && !_seen.Add(d.Id)) throw new InvalidInputException($"duplicate document id '{d.Id}'");
        _writer.AddDocument(ToLucene(d, version, firstChunk, chunkCount));
        Count++;
    }

    /// <summary>Live mode: adds the document, replacing any document with its id (visible at the next <see cref="CommitBatch"/>).</summary>
    public void Upsert(Core.Document d, long version, long firstChunk, int chunkCount)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Check(d);
        _writer.UpdateDocument(new Term(LexicalFields.Id, d.Id), ToLucene(d, version, firstChunk, chunkCount));
        Count++;
    }

    /// <summary>Live mode: deletes the document with this id, if any (visible at the next <see cref="CommitBatch"/>).</summary>
    public void Delete(string id)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _writer.DeleteDocuments(new Term(LexicalFields.Id, id));
    }

    static void Check(Core.Document d)
    {
        if (d is null) throw new InvalidInputException("document sequence contains null");
        if (string.IsNullOrEmpty(d.Id)) throw new InvalidInputException("document with an empty id");
    }

    LuceneDocument ToLucene(Core.Document d, long version, long firstChunk, int chunkCount)
    {
        var doc = new LuceneDocument
        {
            new StringField(LexicalFields.Id, d.Id, Field.Store.YES),
            new SortedDocValuesField(LexicalFields.Id, new BytesRef(d.Id)),
            new NumericDocValuesField(LexicalFields.Version, version),
            new NumericDocValuesField(LexicalFields.ChunkFirst, firstChunk),
            new NumericDocValuesField(LexicalFields.ChunkCount, chunkCount),
        };
        string t = d.Title ?? "", b = d.Text ?? "";
        if (_options.FieldMode == LexicalFieldMode.Flat)
            doc.Add(new TextField(LexicalFields.Contents, t.Length == 0 ? b : b.Length == 0 ? t : t + "\n" + b, Field.Store.NO));
        else
        {
            doc.Add(new TextField(LexicalFields.Title, t, Field.Store.NO));
            doc.Add(new TextField(LexicalFields.Body, b, Field.Store.NO));
        }
        FilterFields.AddTo(doc, d);
        return doc;
    }

    /// <summary>
    /// New index: commits the Lucene index (recording <paramref name="seq"/> as its batch), then writes <c>lexical.json</c>;
    /// the index can be opened from then on. Closes the writer.
    /// </summary>
    public LexicalIndexInfo Commit(long seq = 0)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_live) throw new InvalidOperationException("a live index commits with CommitBatch");
        try
        {
            _writer.SetCommitData(CommitData(seq));
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

    /// <summary>Live mode: commits every change since the last commit as batch <paramref name="seq"/>; durable on return.</summary>
    public void CommitBatch(long seq)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (!_live) throw new InvalidOperationException("a new index commits once, with Commit");
        _writer.SetCommitData(CommitData(seq));
        _writer.Commit();
    }

    /// <summary>
    /// Live mode: merges away deleted documents, so that BM25's collection statistics (document count, document
    /// frequencies) count only live documents again; committed with the next batch.
    /// </summary>
    public void ExpungeDeletes()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _writer.ForceMergeDeletes(doWait: true);
    }

    /// <summary>The sequence number of the last commit (0 for an index committed without one).</summary>
    public static long CommittedSeq(string directory)
    {
        using var dir = FSDirectory.Open(new DirectoryInfo(directory));
        var commits = DirectoryReader.ListCommits(dir);
        var last = commits[commits.Count - 1];
        return last.UserData.TryGetValue(LexicalFields.CommitSeq, out var s) ? long.Parse(s, CultureInfo.InvariantCulture) : 0;
    }

    static Dictionary<string, string> CommitData(long seq) => new() { [LexicalFields.CommitSeq] = seq.ToString(CultureInfo.InvariantCulture) };

    /// <summary>Discards every change since the last commit and closes the writer; a new index is left unopenable. Idempotent.</summary>
    public void Rollback()
    {
        if (_closed) return;
        try { _writer.Rollback(); }
        finally { Close(); }
    }

    /// <summary>Rolls back unless <see cref="Commit"/> ran (live mode: changes since the last <see cref="CommitBatch"/>).</summary>
    public void Dispose() => Rollback();

    void Close()
    {
        _closed = true;
        _dir.Dispose();
        _analyzer.Dispose();
    }
}
