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
/// <item><c>batches</c>: one row per committed batch; <c>meta</c>: schema, last_seq, next_chunk_id.</item>
/// <item><c>document_sources</c> (version 3): the source registry of <c>dss reindex</c>: per live document the source that
/// claims it (a normalized absolute path), that source's modification time when it was read, and the last run that saw it.
/// Its content hash and version are the document's own row's (<c>documents.sha256</c>, <c>version</c>): never a second copy.
/// Only live documents have a row (a delete removes it); compaction and <c>dss index</c> carry the rows of the documents
/// they keep.</item>
/// <item><c>reindex_runs</c> (version 3): one row per reindex run: its sources, start, finish (null while unfinished), the
/// sequence number it started at, attempts, and its counts so far, updated in the same transaction as each of its batches.</item>
/// </list>
/// Older stores are migrated on open by the writer (<see cref="Migrations"/>, under the writer lock); readers accept every
/// version from <see cref="OldestReadable"/> on.
/// </summary>
static class DocumentStoreSchema
{
    public const int Version = 3;

    /// <summary>The oldest schema a reader opens as it is (a version-2 store simply has no registry yet).</summary>
    public const int OldestReadable = 2;

    /// <summary>The first schema with the re-index registry (<c>document_sources</c>, <c>reindex_runs</c>).</summary>
    public const int RegistrySince = 3;

    const string RegistryTables = """
        CREATE TABLE IF NOT EXISTS document_sources (
            document_id TEXT PRIMARY KEY, source TEXT NOT NULL, source_mtime TEXT, last_run TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS document_sources_by_source ON document_sources(source);
        CREATE TABLE IF NOT EXISTS reindex_runs (
            run_id TEXT PRIMARY KEY, sources TEXT NOT NULL, started_utc TEXT NOT NULL, finished_utc TEXT,
            start_seq INTEGER NOT NULL, attempts INTEGER NOT NULL, added INTEGER NOT NULL, changed INTEGER NOT NULL,
            unchanged INTEGER NOT NULL, deleted INTEGER NOT NULL, chunks INTEGER NOT NULL);
        """;

    /// <summary>Schema version → the SQL that brings a store of that version to the next one (each one transaction).</summary>
    public static readonly IReadOnlyDictionary<int, string> Migrations = new Dictionary<int, string>
    {
        [2] = RegistryTables,
    };

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
        """ + RegistryTables;

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

    public const string RunColumns = "run_id, sources, started_utc, finished_utc, start_seq, attempts, added, changed, unchanged, deleted, chunks";

    public static ReindexRunRecord ReadRun(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), ParseUtc(r.GetString(2)), r.IsDBNull(3) ? null : ParseUtc(r.GetString(3)),
        r.GetInt64(4), r.GetInt32(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10));

    public static string FormatUtc(DateTime t) => t.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    public static DateTime ParseUtc(string s) =>
        DateTime.Parse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

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
