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
            if (schema != DocumentStoreSchema.Version)
                throw new IndexMismatchException($"document store {path} has schema version {schema}; this build reads version {DocumentStoreSchema.Version} (rebuild the collection with dss index)");
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

    internal long Meta(string key)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", key);
        var v = cmd.ExecuteScalar();
        return v is null or DBNull ? 0 : Convert.ToInt64(v, CultureInfo.InvariantCulture);
    }

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

    /// <summary>The document as of <paramref name="seq"/>, or null when it did not exist then.</summary>
    public StoredDocument? Get(string id, long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE id = $id AND {VisibleAt}";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$seq", seq);
        using var r = Execute(cmd);
        return r.Read() ? DocumentStoreSchema.ReadDocument(r) : null;
    }

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
    public long CountAt(long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM documents WHERE {VisibleAt}";
        cmd.Parameters.AddWithValue("$seq", seq);
        return Convert.ToInt64(ExecuteScalar(cmd), CultureInfo.InvariantCulture);
    }

    /// <summary>The number of chunks of the documents visible at <paramref name="seq"/>.</summary>
    public long CountChunksAt(long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT COALESCE(SUM(chunk_count), 0) FROM documents WHERE {VisibleAt}";
        cmd.Parameters.AddWithValue("$seq", seq);
        return Convert.ToInt64(ExecuteScalar(cmd), CultureInfo.InvariantCulture);
    }

    /// <summary>Every document visible at <paramref name="seq"/>, in chunk-id order (streamed).</summary>
    public IEnumerable<StoredDocument> DocumentsAt(long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE {VisibleAt} ORDER BY first_chunk, id";
        cmd.Parameters.AddWithValue("$seq", seq);
        using var r = Execute(cmd);
        while (r.Read()) yield return DocumentStoreSchema.ReadDocument(r);
    }

    /// <summary>
    /// The chunk ranges of every document version written by a batch in (<paramref name="afterSeq"/>, <paramref name="uptoSeq"/>],
    /// live or not, in chunk-id order: (first chunk, chunk count, document id).
    /// </summary>
    public IEnumerable<(long First, int Count, string DocumentId)> ChunkRanges(long afterSeq, long uptoSeq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT first_chunk, chunk_count, id FROM documents WHERE version > $a AND version <= $b AND chunk_count > 0 ORDER BY first_chunk";
        cmd.Parameters.AddWithValue("$a", afterSeq);
        cmd.Parameters.AddWithValue("$b", uptoSeq);
        using var r = Execute(cmd);
        while (r.Read()) yield return (r.GetInt64(0), r.GetInt32(1), r.GetString(2));
    }

    /// <summary>
    /// The vectors the store holds for chunks written in (<paramref name="afterSeq"/>, <paramref name="uptoSeq"/>] (live
    /// upserts not yet in the snapshot's FAISS file), in chunk-id order.
    /// </summary>
    public IEnumerable<(long ChunkId, float[] Vector)> PendingVectors(long afterSeq, long uptoSeq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT chunk_id, vector FROM chunks WHERE vector IS NOT NULL AND version > $a AND version <= $b ORDER BY chunk_id";
        cmd.Parameters.AddWithValue("$a", afterSeq);
        cmd.Parameters.AddWithValue("$b", uptoSeq);
        using var r = Execute(cmd);
        while (r.Read()) yield return (r.GetInt64(0), DocumentStoreSchema.BlobToVector((byte[])r.GetValue(1)));
    }

    /// <summary>
    /// Every chunk row of the documents visible at <paramref name="seq"/>, in chunk-id order (streamed), with its vector when
    /// the store holds one (a live upsert not yet in the snapshot's FAISS file), else null.
    /// </summary>
    public IEnumerable<(StoredChunk Chunk, float[]? Vector)> ChunksAt(long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT c.chunk_id, c.document_id, c.version, c.ordinal, c.start, c.end, c.vector FROM chunks c " +
                          "JOIN documents d ON d.id = c.document_id AND d.version = c.version " +
                          "WHERE d.version <= $seq AND (d.deleted_seq IS NULL OR d.deleted_seq > $seq) ORDER BY c.chunk_id";
        cmd.Parameters.AddWithValue("$seq", seq);
        using var r = Execute(cmd);
        while (r.Read())
            yield return (new StoredChunk(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5)),
                r.IsDBNull(6) ? null : DocumentStoreSchema.BlobToVector((byte[])r.GetValue(6)));
    }

    /// <summary>Document rows deleted or superseded (kept until a compaction drops them).</summary>
    public long CountRemoved() => CountWhere("SELECT COUNT(*) FROM documents WHERE deleted_seq IS NOT NULL");

    /// <summary>Chunk vectors held in the store rather than the FAISS file (live upserts since the snapshot was built).</summary>
    public long CountPendingVectors() => CountWhere("SELECT COUNT(*) FROM chunks WHERE vector IS NOT NULL");

    long CountWhere(string sql)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(ExecuteScalar(cmd), CultureInfo.InvariantCulture);
    }

    /// <summary>The chunk rows of one document version, in ordinal order.</summary>
    public IReadOnlyList<StoredChunk> ChunksOf(string id, long version)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT chunk_id, document_id, version, ordinal, start, end FROM chunks WHERE document_id = $id AND version = $v ORDER BY ordinal";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$v", version);
        using var r = Execute(cmd);
        var list = new List<StoredChunk>();
        while (r.Read()) list.Add(new StoredChunk(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5)));
        return list;
    }

    /// <summary>One chunk row, or null for an id the store does not hold.</summary>
    public StoredChunk? GetChunk(long chunkId)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT chunk_id, document_id, version, ordinal, start, end FROM chunks WHERE chunk_id = $c";
        cmd.Parameters.AddWithValue("$c", chunkId);
        using var r = Execute(cmd);
        return r.Read() ? new StoredChunk(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5)) : null;
    }

    /// <summary>The change log after <paramref name="afterSeq"/> up to <paramref name="uptoSeq"/>, in order.</summary>
    public IEnumerable<Change> ChangesSince(long afterSeq, long uptoSeq = long.MaxValue)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT seq, document_id, kind FROM changes WHERE seq > $a AND seq <= $b ORDER BY seq, rowid";
        cmd.Parameters.AddWithValue("$a", afterSeq);
        cmd.Parameters.AddWithValue("$b", uptoSeq);
        using var r = Execute(cmd);
        while (r.Read()) yield return new Change(r.GetInt64(0), r.GetString(1), (ChangeKind)r.GetInt32(2));
    }

    /// <summary>The committed batches after <paramref name="afterSeq"/>, in order.</summary>
    public IReadOnlyList<BatchRecord> BatchesSince(long afterSeq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT seq, kind, upserts, deletes, committed_utc FROM batches WHERE seq > $a ORDER BY seq";
        cmd.Parameters.AddWithValue("$a", afterSeq);
        using var r = Execute(cmd);
        var list = new List<BatchRecord>();
        while (r.Read())
            list.Add(new BatchRecord(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3),
                DateTime.Parse(r.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)));
        return list;
    }

    /// <summary>Document rows deleted or superseded by the batch <paramref name="seq"/>: (id, version).</summary>
    public IReadOnlyList<(string Id, long Version)> RemovedBy(long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT id, version FROM documents WHERE deleted_seq = $s";
        cmd.Parameters.AddWithValue("$s", seq);
        using var r = Execute(cmd);
        var list = new List<(string, long)>();
        while (r.Read()) list.Add((r.GetString(0), r.GetInt64(1)));
        return list;
    }

    /// <summary>Document rows written by the batch <paramref name="seq"/>.</summary>
    public IReadOnlyList<StoredDocument> WrittenBy(long seq)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE version = $s ORDER BY first_chunk, id";
        cmd.Parameters.AddWithValue("$s", seq);
        using var r = Execute(cmd);
        var list = new List<StoredDocument>();
        while (r.Read()) list.Add(DocumentStoreSchema.ReadDocument(r));
        return list;
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
