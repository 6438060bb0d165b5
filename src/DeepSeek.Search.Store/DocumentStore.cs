using System.Globalization;
using DeepSeek.Search.Core;
using Microsoft.Data.Sqlite;

namespace DeepSeek.Search.Store;

/// <summary>
/// The document store of one snapshot (SQLite): id → title, text, metadata; and chunk id → (document, span).
/// Chunk ids are dense 0..n-1 in insertion order, so the chunk → document map is held in memory as an array.
/// Opened read-only by searchers; written once by a <see cref="DocumentStoreWriter"/>.
/// </summary>
public sealed class DocumentStore : IDisposable
{
    readonly SqliteConnection _db;
    readonly string[] _documentOfChunk;

    DocumentStore(SqliteConnection db, string[] documentOfChunk, long documents)
    {
        _db = db;
        _documentOfChunk = documentOfChunk;
        DocumentCount = documents;
    }

    public long DocumentCount { get; }
    public long ChunkCount => _documentOfChunk.Length;

    public static DocumentStore Open(string path)
    {
        if (!File.Exists(path)) throw new IndexCorruptException($"document store missing: {path}");
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            db.Open();
            long docs = Scalar(db, "SELECT COUNT(*) FROM documents");
            var chunks = new string[Scalar(db, "SELECT COUNT(*) FROM chunks")];
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT chunk_id, document_id FROM chunks";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long id = r.GetInt64(0);
                if (id < 0 || id >= chunks.Length) throw new IndexCorruptException($"corrupt document store {path}: chunk id {id} out of range");
                chunks[id] = r.GetString(1);
            }
            return new DocumentStore(db, chunks, docs);
        }
        catch (SqliteException e)
        {
            db.Dispose();
            throw new IndexCorruptException($"corrupt document store {path}: {e.Message}", e);
        }
    }

    static long Scalar(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>The document a chunk belongs to; an id outside the store is an error.</summary>
    public string DocumentOfChunk(long chunkId) =>
        chunkId >= 0 && chunkId < _documentOfChunk.Length
            ? _documentOfChunk[chunkId]
            : throw new IndexCorruptException($"vector index returned chunk id {chunkId}, which the document store does not hold (0..{_documentOfChunk.Length - 1})");

    /// <summary>The stored document, or null for an unknown id.</summary>
    public Document? Get(string id)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT id, title, text, metadata FROM documents WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new Document(r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)) : null;
    }

    public void Dispose() => _db.Dispose();
}
