using System.Globalization;
using DeepSeek.Search.Core;
using Microsoft.Data.Sqlite;

namespace DeepSeek.Search.Store;

/// <summary>
/// Read access to a snapshot's document store (<see cref="DocumentStoreSchema"/>), safe from many threads: every call
/// takes a pooled read-only connection. Reads are made at a sequence number: a search pins one (its view's) and sees the
/// documents as they were after that batch, whatever a writer commits meanwhile.
/// </summary>
public sealed class DocumentStore : IDisposable
{
    readonly string _connectionString;
    readonly string _path;

    DocumentStore(string path, string connectionString)
    {
        _path = path;
        _connectionString = connectionString;
    }

    public static DocumentStore Open(string path)
    {
        if (!File.Exists(path)) throw new IndexCorruptException($"document store missing: {path}");
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = true }.ToString();
        var store = new DocumentStore(path, cs);
        try
        {
            var schema = store.Meta("schema");
            if (schema < DocumentStoreSchema.OldestReadable || schema > DocumentStoreSchema.Version)
                throw new IndexMismatchException($"document store {path} has schema version {schema}; this build reads versions {DocumentStoreSchema.OldestReadable} to {DocumentStoreSchema.Version} (rebuild the collection with dss index)");
        }
        catch (SqliteException e)
        {
            throw new IndexCorruptException($"corrupt document store {path}: {e.Message}", e);
        }
        return store;
    }

    /// <summary>The sequence number of the last batch the store holds.</summary>
    public long LastSeq => Meta("last_seq");

    /// <summary>The next chunk id the writer will give out (every id below it has been given out once).</summary>
    public long NextChunkId => Meta("next_chunk_id");

    internal long Meta(string key) => Query("SELECT value FROM meta WHERE key = $k", r => r.GetInt64(0), ("$k", key)).FirstOrDefault();

    SqliteConnection Connect()
    {
        var db = new SqliteConnection(_connectionString);
        try { db.Open(); }
        catch (SqliteException e)
        {
            db.Dispose();
            throw new IndexCorruptException($"corrupt document store {_path}: {e.Message}", e);
        }
        return db;
    }

    const string VisibleAt = "version <= $seq AND (deleted_seq IS NULL OR deleted_seq > $seq)";

    /// <summary>Runs <paramref name="sql"/> with its parameters on a pooled connection, streaming one result per row.</summary>
    IEnumerable<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object Value)[] parameters)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        using var r = Execute(cmd);
        while (r.Read()) yield return read(r);
    }

    long Count(string sql, params (string Name, object Value)[] parameters) =>
        Query(sql, r => r.IsDBNull(0) ? 0 : r.GetInt64(0), parameters).Single();

    static StoredChunk ReadChunk(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5));

    const string ChunkColumns = "chunk_id, document_id, version, ordinal, start, end";

    /// <summary>The document as of <paramref name="seq"/>, or null when it did not exist then.</summary>
    public StoredDocument? Get(string id, long seq) =>
        Query($"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE id = $id AND {VisibleAt}", DocumentStoreSchema.ReadDocument,
            ("$id", id), ("$seq", seq)).FirstOrDefault();

    /// <summary>The documents as of <paramref name="seq"/>, keyed by id; ids unknown then are absent.</summary>
    public Dictionary<string, StoredDocument> GetMany(IEnumerable<string> ids, long seq)
    {
        var result = new Dictionary<string, StoredDocument>(StringComparer.Ordinal);
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE id = $id AND {VisibleAt}";
        var pid = cmd.Parameters.Add("$id", SqliteType.Text);
        cmd.Parameters.AddWithValue("$seq", seq);
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            pid.Value = id;
            using var r = Execute(cmd);
            if (r.Read()) result[id] = DocumentStoreSchema.ReadDocument(r);
        }
        return result;
    }

    /// <summary>The number of documents visible at <paramref name="seq"/>.</summary>
    public long CountAt(long seq) => Count($"SELECT COUNT(*) FROM documents WHERE {VisibleAt}", ("$seq", seq));

    /// <summary>The number of chunks of the documents visible at <paramref name="seq"/>.</summary>
    public long CountChunksAt(long seq) => Count($"SELECT COALESCE(SUM(chunk_count), 0) FROM documents WHERE {VisibleAt}", ("$seq", seq));

    /// <summary>Every document visible at <paramref name="seq"/>, in chunk-id order (streamed).</summary>
    public IEnumerable<StoredDocument> DocumentsAt(long seq) =>
        Query($"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE {VisibleAt} ORDER BY first_chunk, id", DocumentStoreSchema.ReadDocument, ("$seq", seq));

    /// <summary>
    /// The chunk ranges of every document version written by a batch in (<paramref name="afterSeq"/>, <paramref name="uptoSeq"/>],
    /// live or not, in chunk-id order: (first chunk, chunk count, document id).
    /// </summary>
    public IEnumerable<(long First, int Count, string DocumentId)> ChunkRanges(long afterSeq, long uptoSeq) =>
        Query("SELECT first_chunk, chunk_count, id FROM documents WHERE version > $a AND version <= $b AND chunk_count > 0 ORDER BY first_chunk",
            r => (r.GetInt64(0), r.GetInt32(1), r.GetString(2)), ("$a", afterSeq), ("$b", uptoSeq));

    /// <summary>
    /// The vectors the store holds for chunks written in (<paramref name="afterSeq"/>, <paramref name="uptoSeq"/>] (live
    /// upserts not yet in the snapshot's FAISS file), in chunk-id order.
    /// </summary>
    public IEnumerable<(long ChunkId, float[] Vector)> PendingVectors(long afterSeq, long uptoSeq) =>
        Query("SELECT chunk_id, vector FROM chunks WHERE vector IS NOT NULL AND version > $a AND version <= $b ORDER BY chunk_id",
            r => (r.GetInt64(0), DocumentStoreSchema.BlobToVector((byte[])r.GetValue(1))), ("$a", afterSeq), ("$b", uptoSeq));

    /// <summary>
    /// Every chunk row of the documents visible at <paramref name="seq"/>, in chunk-id order (streamed), with its vector when
    /// the store holds one (a live upsert not yet in the snapshot's FAISS file), else null.
    /// </summary>
    public IEnumerable<(StoredChunk Chunk, float[]? Vector)> ChunksAt(long seq) =>
        Query("SELECT c.chunk_id, c.document_id, c.version, c.ordinal, c.start, c.end, c.vector FROM chunks c " +
              "JOIN documents d ON d.id = c.document_id AND d.version = c.version " +
              "WHERE d.version <= $seq AND (d.deleted_seq IS NULL OR d.deleted_seq > $seq) ORDER BY c.chunk_id",
            r => (ReadChunk(r), r.IsDBNull(6) ? null : DocumentStoreSchema.BlobToVector((byte[])r.GetValue(6))), ("$seq", seq));

    /// <summary>Document rows deleted or superseded (kept until a compaction drops them).</summary>
    public long CountRemoved() => Count("SELECT COUNT(*) FROM documents WHERE deleted_seq IS NOT NULL");

    /// <summary>Chunk vectors held in the store rather than the FAISS file (live upserts since the snapshot was built).</summary>
    public long CountPendingVectors() => Count("SELECT COUNT(*) FROM chunks WHERE vector IS NOT NULL");


    /// <summary>
    /// The chunk rows of one document version, in ordinal order. They are the chunk ids first_chunk .. first_chunk + chunk_count − 1
    /// of its document row, so this reads that range of the chunks' primary key (found through the documents' unique (id, version)
    /// index) rather than scanning the chunks table, which has no index on the document: a scan cost about 50 ms per call at a
    /// million chunks (ScaleBench).
    /// </summary>
    public IReadOnlyList<StoredChunk> ChunksOf(string id, long version) =>
        Query($"""
            SELECT {ChunkColumns} FROM chunks
            WHERE chunk_id >= (SELECT first_chunk FROM documents WHERE id = $id AND version = $v)
              AND chunk_id < (SELECT first_chunk + chunk_count FROM documents WHERE id = $id AND version = $v)
              AND document_id = $id AND version = $v
            ORDER BY ordinal
            """, ReadChunk, ("$id", id), ("$v", version)).ToList();

    /// <summary>One chunk row, or null for an id the store does not hold.</summary>
    public StoredChunk? GetChunk(long chunkId) =>
        Query($"SELECT {ChunkColumns} FROM chunks WHERE chunk_id = $c", ReadChunk, ("$c", chunkId)).FirstOrDefault();

    /// <summary>The change log after <paramref name="afterSeq"/> up to <paramref name="uptoSeq"/>, in order.</summary>
    public IEnumerable<Change> ChangesSince(long afterSeq, long uptoSeq = long.MaxValue) =>
        Query("SELECT seq, document_id, kind FROM changes WHERE seq > $a AND seq <= $b ORDER BY seq, rowid",
            r => new Change(r.GetInt64(0), r.GetString(1), (ChangeKind)r.GetInt32(2)), ("$a", afterSeq), ("$b", uptoSeq));

    /// <summary>The committed batches after <paramref name="afterSeq"/>, in order.</summary>
    public IReadOnlyList<BatchRecord> BatchesSince(long afterSeq) =>
        Query("SELECT seq, kind, upserts, deletes, committed_utc FROM batches WHERE seq > $a ORDER BY seq",
            r => new BatchRecord(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3),
                DateTime.Parse(r.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)),
            ("$a", afterSeq)).ToList();

    /// <summary>Whether this store has the re-index registry (schema 3; a writer's open migrates an older store).</summary>
    public bool HasRegistry => Meta("schema") >= DocumentStoreSchema.RegistrySince;

    /// <summary>
    /// Every live document (as of the last batch) with its registry entry, if any: what a re-index diffs a source against.
    /// A store without the registry yields the documents with no entries.
    /// </summary>
    public IEnumerable<RegisteredDocument> LiveDocumentsWithSources() => HasRegistry
        ? Query("SELECT d.id, d.version, d.sha256, s.source, s.source_mtime, s.last_run FROM documents d " +
                "LEFT JOIN document_sources s ON s.document_id = d.id WHERE d.deleted_seq IS NULL",
            r => new RegisteredDocument(r.GetString(0), r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                r.IsDBNull(4) ? null : DocumentStoreSchema.ParseUtc(r.GetString(4)), r.IsDBNull(5) ? null : r.GetString(5)))
        : Query("SELECT id, version, sha256 FROM documents WHERE deleted_seq IS NULL",
            r => new RegisteredDocument(r.GetString(0), r.GetInt64(1), r.GetString(2), null, null, null));

    /// <summary>The registry entries, by document id.</summary>
    public IEnumerable<SourceEntry> SourceEntries() => HasRegistry
        ? Query("SELECT document_id, source, source_mtime, last_run FROM document_sources ORDER BY document_id",
            r => new SourceEntry(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : DocumentStoreSchema.ParseUtc(r.GetString(2)), r.GetString(3)))
        : [];

    /// <summary>The reindex runs, oldest first.</summary>
    public IReadOnlyList<ReindexRunRecord> ReindexRuns() => HasRegistry
        ? Query($"SELECT {DocumentStoreSchema.RunColumns} FROM reindex_runs ORDER BY started_utc, run_id", DocumentStoreSchema.ReadRun).ToList()
        : [];

    /// <summary>
    /// What the batch <paramref name="seq"/> did, as a replay applies it (crash recovery into Lucene, a compaction's catch-up):
    /// the document rows it wrote, then the rows it removed whose id it did not write again (a superseded row is replaced by
    /// its new version, not deleted).
    /// </summary>
    public BatchEffect EffectOf(long seq)
    {
        var written = Query($"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE version = $s ORDER BY first_chunk, id",
            DocumentStoreSchema.ReadDocument, ("$s", seq)).ToList();
        var ids = written.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var deleted = Query("SELECT id, version FROM documents WHERE deleted_seq = $s", r => (r.GetString(0), r.GetInt64(1)), ("$s", seq))
            .Where(r => !ids.Contains(r.Item1)).ToList();
        return new BatchEffect(written, deleted);
    }

    SqliteDataReader Execute(SqliteCommand cmd)
    {
        try { return cmd.ExecuteReader(); }
        catch (SqliteException e) { throw new IndexCorruptException($"corrupt document store {_path}: {e.Message}", e); }
    }

    object? ExecuteScalar(SqliteCommand cmd)
    {
        try { return cmd.ExecuteScalar(); }
        catch (SqliteException e) { throw new IndexCorruptException($"corrupt document store {_path}: {e.Message}", e); }
    }

    public void Dispose() => SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
}
