using DeepSeek.Search.Core;
using Microsoft.Data.Sqlite;

namespace DeepSeek.Search.Store;

/// <summary>Writes a new document store file in batched transactions. Duplicate document ids are rejected.</summary>
public sealed class DocumentStoreWriter : IDisposable
{
    const int BatchSize = 2000;
    readonly SqliteConnection _db;
    SqliteTransaction? _tx;
    int _pending;
    readonly SqliteCommand _insertDoc, _insertChunk;

    public DocumentStoreWriter(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" +
             "CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT);" +
             "CREATE TABLE chunks (chunk_id INTEGER PRIMARY KEY, document_id TEXT NOT NULL, ordinal INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL);");
        _insertDoc = _db.CreateCommand();
        _insertDoc.CommandText = "INSERT INTO documents (id, title, text, metadata) VALUES ($id, $title, $text, $meta)";
        _insertChunk = _db.CreateCommand();
        _insertChunk.CommandText = "INSERT INTO chunks (chunk_id, document_id, ordinal, start, end) VALUES ($c, $d, $o, $s, $e)";
    }

    public long Documents { get; private set; }
    public long Chunks { get; private set; }

    public void Add(Document doc)
    {
        Begin();
        _insertDoc.Parameters.Clear();
        _insertDoc.Parameters.AddWithValue("$id", doc.Id);
        _insertDoc.Parameters.AddWithValue("$title", doc.Title);
        _insertDoc.Parameters.AddWithValue("$text", doc.Text);
        _insertDoc.Parameters.AddWithValue("$meta", (object?)doc.MetadataJson ?? DBNull.Value);
        try { _insertDoc.ExecuteNonQuery(); }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) { throw new InvalidInputException($"duplicate document id '{doc.Id}'"); }
        Documents++;
        Tick();
    }

    public void Add(Chunk chunk)
    {
        Begin();
        _insertChunk.Parameters.Clear();
        _insertChunk.Parameters.AddWithValue("$c", chunk.ChunkId);
        _insertChunk.Parameters.AddWithValue("$d", chunk.DocumentId);
        _insertChunk.Parameters.AddWithValue("$o", chunk.Ordinal);
        _insertChunk.Parameters.AddWithValue("$s", chunk.Start);
        _insertChunk.Parameters.AddWithValue("$e", chunk.End);
        _insertChunk.ExecuteNonQuery();
        Chunks++;
        Tick();
    }

    /// <summary>Commits the last batch and closes the file.</summary>
    public void Complete()
    {
        _tx?.Commit();
        _tx = null;
        Exec("CREATE INDEX chunks_by_document ON chunks(document_id)");
        _db.Close();
    }

    void Begin()
    {
        if (_tx != null) return;
        _tx = _db.BeginTransaction();
        _insertDoc.Transaction = _tx;
        _insertChunk.Transaction = _tx;
    }

    void Tick()
    {
        if (++_pending < BatchSize) return;
        _tx!.Commit();
        _tx = null;
        _pending = 0;
    }

    void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _tx?.Dispose();
        _insertDoc.Dispose();
        _insertChunk.Dispose();
        _db.Dispose();
    }
}
