using System.Globalization;
using DeepSeek.Search.Core;
using Microsoft.Data.Sqlite;

namespace DeepSeek.Search.Store;

/// <summary>
/// Writes a snapshot's document store (<see cref="DocumentStoreSchema"/>). Two modes:
/// <list type="bullet">
/// <item><see cref="Create"/>: a bulk load into a new file inside an unpublished snapshot folder: no journal, no fsync,
/// a transaction every few thousand rows (a crash loses only the unpublished folder); <see cref="Complete"/> builds the
/// secondary indexes and switches the file to WAL mode for the live writes that follow.</item>
/// <item><see cref="OpenLive"/>: the committed snapshot's file, in WAL mode with <c>synchronous=FULL</c>: each
/// <see cref="BeginBatch"/> … <see cref="CommitBatch"/> is one SQLite transaction, on disk (WAL fsynced) when
/// <see cref="CommitBatch"/> returns.</item>
/// </list>
/// Not thread-safe: one writer per collection (<see cref="WriterLock"/>).
/// </summary>
public sealed class DocumentStoreWriter : IDisposable
{
    const int BulkRowsPerTransaction = 4000;

    readonly SqliteConnection _db;
    readonly bool _bulk;
    SqliteTransaction? _tx;
    int _pending;
    readonly SqliteCommand _insertDoc, _insertChunk, _getLive, _markDeleted, _insertChange;

    DocumentStoreWriter(string path, bool bulk)
    {
        _bulk = bulk;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path, Mode = bulk ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite, Pooling = false,
        }.ToString());
        try
        {
            _db.Open();
            if (bulk)
            {
                Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
                Exec(DocumentStoreSchema.Create);
                Exec($"INSERT INTO meta (key, value) VALUES ('schema', {DocumentStoreSchema.Version}), ('last_seq', 0), ('next_chunk_id', 0)");
            }
            else
            {
                Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
                Migrate(path);
            }
        }
        catch (SqliteException e)
        {
            _db.Dispose();
            throw new IndexCorruptException($"cannot open document store {path} for writing: {e.Message}", e);
        }
        catch
        {
            _db.Dispose();
            throw;
        }
        _insertDoc = Command($"INSERT INTO documents ({DocumentStoreSchema.DocumentColumns}) VALUES ($id, $v, $sha, $title, $text, $meta, $acl, $first, $count)");
        _insertChunk = Command("INSERT INTO chunks (chunk_id, document_id, version, ordinal, start, end, vector) VALUES ($c, $d, $v, $o, $s, $e, $vec)");
        _getLive = Command($"SELECT {DocumentStoreSchema.DocumentColumns} FROM documents WHERE id = $id AND deleted_seq IS NULL");
        _markDeleted = Command("UPDATE documents SET deleted_seq = $seq WHERE id = $id AND version = $v AND deleted_seq IS NULL");
        _insertChange = Command("INSERT INTO changes (seq, document_id, kind) VALUES ($seq, $id, $k)");
    }

    // An older store is brought to this build's schema, one transaction per step (the writer lock is held: no other writer).
    void Migrate(string path)
    {
        var schema = Scalar("SELECT value FROM meta WHERE key = 'schema'");
        while (schema < DocumentStoreSchema.Version && DocumentStoreSchema.Migrations.TryGetValue((int)schema, out var sql))
        {
            using (var tx = _db.BeginTransaction())
            {
                _tx = tx;
                Exec(sql);
                Exec("UPDATE meta SET value = $v WHERE key = 'schema'", ("$v", schema + 1));
                tx.Commit();
                _tx = null;
            }
            schema++;
        }
        if (schema != DocumentStoreSchema.Version)
            throw new IndexMismatchException($"document store {path} has schema version {schema}; this build writes version {DocumentStoreSchema.Version} (rebuild the collection with dss index)");
    }

    /// <summary>Starts a new store file at <paramref name="path"/> (an existing file there is replaced).</summary>
    public static DocumentStoreWriter Create(string path)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
            if (File.Exists(path + suffix)) File.Delete(path + suffix);
        return new DocumentStoreWriter(path, bulk: true);
    }

    /// <summary>Opens a committed snapshot's store for live batches.</summary>
    public static DocumentStoreWriter OpenLive(string path)
    {
        if (!File.Exists(path)) throw new IndexCorruptException($"document store missing: {path}");
        return new DocumentStoreWriter(path, bulk: false);
    }

    SqliteCommand Command(string sql)
    {
        var c = _db.CreateCommand();
        c.CommandText = sql;
        return c;
    }

    /// <summary>The sequence number of the last committed batch, and the next chunk id to give out.</summary>
    public (long LastSeq, long NextChunkId) ReadState() =>
        (Scalar("SELECT value FROM meta WHERE key = 'last_seq'"), Scalar("SELECT value FROM meta WHERE key = 'next_chunk_id'"));

    /// <summary>Live mode: starts the batch's transaction.</summary>
    public void BeginBatch()
    {
        if (_tx != null) throw new InvalidOperationException("a batch is already open");
        _tx = _db.BeginTransaction();
        Enlist();
    }

    void Enlist()
    {
        foreach (var c in new[] { _insertDoc, _insertChunk, _getLive, _markDeleted, _insertChange }) c.Transaction = _tx;
    }

    /// <summary>
    /// Records the batch (its row in <c>batches</c>, last_seq, next_chunk_id) and commits: in live mode the batch is on
    /// disk when this returns.
    /// </summary>
    public void CommitBatch(long seq, string kind, int upserts, int deletes, long nextChunkId)
    {
        if (_tx == null && !_bulk) throw new InvalidOperationException("no batch is open");
        EnsureTransaction();
        Exec("INSERT INTO batches (seq, kind, upserts, deletes, committed_utc) VALUES ($seq, $kind, $u, $d, $t)",
            ("$seq", seq), ("$kind", kind), ("$u", upserts), ("$d", deletes), ("$t", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)));
        Exec("UPDATE meta SET value = $v WHERE key = 'last_seq'", ("$v", seq));
        Exec("UPDATE meta SET value = $v WHERE key = 'next_chunk_id'", ("$v", nextChunkId));
        _tx!.Commit();
        _tx.Dispose();
        _tx = null;
        _pending = 0;
        Enlist();
    }

    /// <summary>Live mode: commits the open transaction without recording a batch (registry changes only: no new sequence number).</summary>
    public void CommitWithoutBatch()
    {
        if (_tx == null) throw new InvalidOperationException("no batch is open");
        _tx.Commit();
        _tx.Dispose();
        _tx = null;
        Enlist();
    }

    /// <summary>Sets the registry entries, the run record and the seen-by-source marks of <paramref name="update"/>.</summary>
    public void Apply(RegistryUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        EnsureTransaction();
        foreach (var e in update.Entries)
            Exec("INSERT OR REPLACE INTO document_sources (document_id, source, source_mtime, last_run) VALUES ($id, $s, $m, $r)",
                ("$id", e.DocumentId), ("$s", e.Source), ("$m", e.SourceModifiedUtc is { } m ? DocumentStoreSchema.FormatUtc(m) : DBNull.Value), ("$r", e.LastRun));
        if (update.Run is { } run)
        {
            foreach (var source in update.SeenBySources ?? [])
                Exec("UPDATE document_sources SET last_run = $r WHERE source = $s", ("$r", run.RunId), ("$s", source));
            Exec($"INSERT OR REPLACE INTO reindex_runs ({DocumentStoreSchema.RunColumns}) VALUES ($id, $src, $st, $fin, $seq, $att, $a, $c, $u, $d, $ch)",
                ("$id", run.RunId), ("$src", run.Sources), ("$st", DocumentStoreSchema.FormatUtc(run.StartedUtc)),
                ("$fin", run.FinishedUtc is { } f ? DocumentStoreSchema.FormatUtc(f) : DBNull.Value), ("$seq", run.StartSeq), ("$att", run.Attempts),
                ("$a", run.Added), ("$c", run.Changed), ("$u", run.Unchanged), ("$d", run.Deleted), ("$ch", run.Chunks));
        }
    }

    /// <summary>Removes the registry entry of <paramref name="id"/> (its document is deleted), if it has one.</summary>
    public void RemoveSource(string id)
    {
        EnsureTransaction();
        Exec("DELETE FROM document_sources WHERE document_id = $id", ("$id", id));
    }

    /// <summary>
    /// Copies from the store at <paramref name="otherPath"/> (the snapshot a compaction or a bulk build replaces) the registry
    /// entries of the documents live in this store and every reindex run record, so neither a compaction nor <c>dss index</c>
    /// makes the next re-index see every document as new. A store older than the registry has nothing to copy.
    /// </summary>
    public void CopyRegistryFrom(string otherPath)
    {
        if (_tx != null)
        {
            if (!_bulk) throw new InvalidOperationException("a batch is open");
            _tx.Commit();
            _tx.Dispose();
            _tx = null;
            _pending = 0;
            Enlist();
        }
        Exec("ATTACH DATABASE $p AS previous", ("$p", otherPath));
        try
        {
            if (Scalar("SELECT COUNT(*) FROM previous.sqlite_master WHERE type = 'table' AND name = 'document_sources'") == 0) return;
            using var tx = _db.BeginTransaction();
            _tx = tx;
            Exec("INSERT OR REPLACE INTO document_sources SELECT s.document_id, s.source, s.source_mtime, s.last_run FROM previous.document_sources s " +
                 "WHERE EXISTS (SELECT 1 FROM documents d WHERE d.id = s.document_id AND d.deleted_seq IS NULL)");
            Exec($"INSERT OR REPLACE INTO reindex_runs ({DocumentStoreSchema.RunColumns}) SELECT {DocumentStoreSchema.RunColumns} FROM previous.reindex_runs");
            tx.Commit();
        }
        finally
        {
            _tx = null;
            Enlist();
            Exec("DETACH DATABASE previous");
        }
    }

    /// <summary>Bulk mode (a compaction): copies a committed batch's row from the store being compacted.</summary>
    public void CopyBatch(BatchRecord b)
    {
        EnsureTransaction();
        Exec("INSERT INTO batches (seq, kind, upserts, deletes, committed_utc) VALUES ($seq, $kind, $u, $d, $t)",
            ("$seq", b.Seq), ("$kind", b.Kind), ("$u", b.Upserts), ("$d", b.Deletes), ("$t", b.CommittedUtc.ToString("O", CultureInfo.InvariantCulture)));
        Tick();
    }

    /// <summary>Bulk mode (a compaction): sets last_seq and next_chunk_id without recording a new batch.</summary>
    public void SetState(long lastSeq, long nextChunkId)
    {
        EnsureTransaction();
        Exec("UPDATE meta SET value = $v WHERE key = 'last_seq'", ("$v", lastSeq));
        Exec("UPDATE meta SET value = $v WHERE key = 'next_chunk_id'", ("$v", nextChunkId));
    }

    /// <summary>Live mode: throws the open batch away.</summary>
    public void RollbackBatch()
    {
        if (_tx == null) return;
        try { _tx.Rollback(); } finally { _tx.Dispose(); _tx = null; _pending = 0; Enlist(); }
    }

    /// <summary>The live row of <paramref name="id"/> (inside the open batch, so earlier changes of the batch count), or null.</summary>
    public StoredDocument? GetLive(string id)
    {
        if (_bulk) EnsureTransaction();
        _getLive.Parameters.Clear();
        _getLive.Parameters.AddWithValue("$id", id);
        using var r = _getLive.ExecuteReader();
        return r.Read() ? DocumentStoreSchema.ReadDocument(r) : null;
    }

    /// <summary>Inserts a document row; a second live row for one id throws <see cref="InvalidInputException"/>.</summary>
    public void Insert(StoredDocument d)
    {
        EnsureTransaction();
        var p = _insertDoc.Parameters;
        p.Clear();
        p.AddWithValue("$id", d.Id);
        p.AddWithValue("$v", d.Version);
        p.AddWithValue("$sha", d.Sha256);
        p.AddWithValue("$title", d.Title);
        p.AddWithValue("$text", d.Text);
        p.AddWithValue("$meta", (object?)d.MetadataJson ?? DBNull.Value);
        p.AddWithValue("$acl", d.Acl is null ? DBNull.Value : DocumentStoreSchema.AclToJson(d.Acl));
        p.AddWithValue("$first", d.FirstChunk);
        p.AddWithValue("$count", d.ChunkCount);
        try { _insertDoc.ExecuteNonQuery(); }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) { throw new InvalidInputException($"duplicate document id '{d.Id}'"); }
        Tick();
    }

    /// <summary>Inserts a chunk row; <paramref name="vector"/> is kept only for chunks not in the snapshot's FAISS file.</summary>
    public void InsertChunk(StoredChunk c, ReadOnlySpan<float> vector = default)
    {
        EnsureTransaction();
        var p = _insertChunk.Parameters;
        p.Clear();
        p.AddWithValue("$c", c.ChunkId);
        p.AddWithValue("$d", c.DocumentId);
        p.AddWithValue("$v", c.Version);
        p.AddWithValue("$o", c.Ordinal);
        p.AddWithValue("$s", c.Start);
        p.AddWithValue("$e", c.End);
        p.AddWithValue("$vec", vector.IsEmpty ? DBNull.Value : DocumentStoreSchema.VectorToBlob(vector));
        _insertChunk.ExecuteNonQuery();
        Tick();
    }

    /// <summary>Marks the live row (<paramref name="id"/>, <paramref name="version"/>) deleted or superseded by batch <paramref name="seq"/>.</summary>
    public void MarkDeleted(string id, long version, long seq)
    {
        EnsureTransaction();
        _markDeleted.Parameters.Clear();
        _markDeleted.Parameters.AddWithValue("$id", id);
        _markDeleted.Parameters.AddWithValue("$v", version);
        _markDeleted.Parameters.AddWithValue("$seq", seq);
        if (_markDeleted.ExecuteNonQuery() != 1)
            throw new InvalidOperationException($"document '{id}' version {version} is not live");
        Tick();
    }

    /// <summary>Appends a change-log entry.</summary>
    public void RecordChange(long seq, string id, ChangeKind kind)
    {
        EnsureTransaction();
        _insertChange.Parameters.Clear();
        _insertChange.Parameters.AddWithValue("$seq", seq);
        _insertChange.Parameters.AddWithValue("$id", id);
        _insertChange.Parameters.AddWithValue("$k", (int)kind);
        _insertChange.ExecuteNonQuery();
        Tick();
    }

    /// <summary>Bulk mode: commits the last rows, builds the secondary indexes, switches to WAL, and closes the file.</summary>
    public void Complete()
    {
        if (_tx != null)
        {
            _tx.Commit();
            _tx.Dispose();
            _tx = null;
        }
        Exec(DocumentStoreSchema.Indexes);
        Exec("PRAGMA journal_mode=WAL;");
        _db.Close();
    }

    void EnsureTransaction()
    {
        if (_tx != null) return;
        if (!_bulk) throw new InvalidOperationException("live writes need BeginBatch");
        _tx = _db.BeginTransaction();
        Enlist();
    }

    void Tick()
    {
        if (!_bulk || ++_pending < BulkRowsPerTransaction) return;
        _tx!.Commit();
        _tx.Dispose();
        _tx = null;
        _pending = 0;
        Enlist();
    }

    long Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        var v = cmd.ExecuteScalar();
        return v is null or DBNull ? 0 : Convert.ToInt64(v, CultureInfo.InvariantCulture);
    }

    void Exec(string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _tx?.Dispose();
        foreach (var c in new[] { _insertDoc, _insertChunk, _getLive, _markDeleted, _insertChange }) c.Dispose();
        _db.Dispose();
    }
}
