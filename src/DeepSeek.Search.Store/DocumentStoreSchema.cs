using System.Text.Json;
using DeepSeek.Search.Core.Filtering;
using Microsoft.Data.Sqlite;

namespace DeepSeek.Search.Store;

/// <summary>
/// The SQLite layout of a snapshot's document store (<c>documents.sqlite</c>), in one place.
/// <list type="bullet">
/// <item><c>documents</c>: one row per document version: id, version (the batch's sequence number), deleted_seq (the batch
/// that deleted or superseded it; null while live), sha256, title, text, metadata JSON, ACL JSON, first chunk id, chunk count.
/// A row is visible at sequence number v when <c>version &lt;= v</c> and <c>deleted_seq</c> is null or above v.</item>
/// <item><c>chunks</c>: chunk id → document, version, ordinal, character span; <c>vector</c> holds the chunk's embedding
/// (float32) while it is not yet in the snapshot's FAISS file (a live upsert), so it can be replayed and compacted.</item>
/// <item><c>changes</c>: the change log, one row per document per batch (seq, id, upsert or delete).</item>
/// <item><c>batches</c>: one row per committed batch; <c>meta</c>: last_seq, next_chunk_id.</item>
/// </list>
/// </summary>
static class DocumentStoreSchema
{
    public const int Version = 2;

    public const string Create = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE documents (
            id TEXT NOT NULL, version INTEGER NOT NULL, deleted_seq INTEGER, sha256 TEXT NOT NULL,
            title TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT, acl TEXT,
            first_chunk INTEGER NOT NULL, chunk_count INTEGER NOT NULL,
            UNIQUE (id, version));
        CREATE UNIQUE INDEX documents_live ON documents(id) WHERE deleted_seq IS NULL;
        CREATE TABLE chunks (
            chunk_id INTEGER PRIMARY KEY, document_id TEXT NOT NULL, version INTEGER NOT NULL,
            ordinal INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, vector BLOB);
        CREATE TABLE changes (seq INTEGER NOT NULL, document_id TEXT NOT NULL, kind INTEGER NOT NULL);
        CREATE TABLE batches (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, upserts INTEGER NOT NULL, deletes INTEGER NOT NULL, committed_utc TEXT NOT NULL);
        """;

    /// <summary>Secondary indexes, created after a bulk load (cheaper than maintaining them row by row).</summary>
    public const string Indexes = """
        CREATE INDEX IF NOT EXISTS documents_by_version ON documents(version);
        CREATE INDEX IF NOT EXISTS documents_by_deleted ON documents(deleted_seq) WHERE deleted_seq IS NOT NULL;
        CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(version) WHERE vector IS NOT NULL;
        CREATE INDEX IF NOT EXISTS changes_by_seq ON changes(seq);
        """;

    public const string DocumentColumns = "id, version, sha256, title, text, metadata, acl, first_chunk, chunk_count";

    public static StoredDocument ReadDocument(SqliteDataReader r) => new(
        r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : AclFromJson(r.GetString(6)),
        r.GetInt64(7), r.GetInt32(8));

    sealed record AclRecord(string[] Principals, string[] Groups);

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string AclToJson(Acl acl) => JsonSerializer.Serialize(new AclRecord([.. acl.Principals], [.. acl.Groups]), Json);

    public static Acl AclFromJson(string json)
    {
        var r = JsonSerializer.Deserialize<AclRecord>(json, Json) ?? throw new JsonException("null acl");
        return new Acl(r.Principals ?? [], r.Groups ?? []);
    }

    public static byte[] VectorToBlob(ReadOnlySpan<float> v)
    {
        var bytes = new byte[v.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(v).CopyTo(bytes);
        return bytes;
    }

    public static float[] BlobToVector(byte[] blob)
    {
        var v = new float[blob.Length / sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(blob).CopyTo(v);
        return v;
    }
}
