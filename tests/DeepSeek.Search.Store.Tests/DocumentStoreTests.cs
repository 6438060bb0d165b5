using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Store.Tests;

public class DocumentStoreTests
{
    static StoredDocument Doc(string id, long version, long first, int count, string? meta = null, Acl? acl = null) =>
        new(id, version, "sha-" + id, $"title {id}", $"text {id} v{version}", meta, acl, first, count);

    [Fact]
    public void Bulk_load_round_trips_documents_chunks_acls_and_state()
    {
        using var tmp = new TempDir();
        var path = tmp.File("docs.sqlite");
        using (var w = DocumentStoreWriter.Create(path))
        {
            for (int i = 0; i < 2500; i++)
            {
                w.Insert(Doc($"d{i}", 1, 2 * i, 2, i == 3 ? "{\"lang\":\"en\"}" : null, i == 4 ? new Acl(["alice"], ["finance"]) : null));
                w.InsertChunk(new StoredChunk(2 * i, $"d{i}", 1, 0, 0, 5));
                w.InsertChunk(new StoredChunk(2 * i + 1, $"d{i}", 1, 1, 5, 9));
            }
            w.CommitBatch(1, "bulk", 2500, 0, 5000);
            w.Complete();
        }
        using var store = DocumentStore.Open(path);
        Assert.Equal((1L, 5000L), (store.LastSeq, store.NextChunkId));
        Assert.Equal(2500, store.CountAt(1));
        Assert.Equal(0, store.CountAt(0));
        Assert.Equal(5000, store.CountChunksAt(1));
        Assert.Equal("d1234", store.GetChunk(2469)!.DocumentId);
        Assert.Equal("{\"lang\":\"en\"}", store.Get("d3", 1)!.MetadataJson);
        Assert.Equal(new Acl(["alice"], ["finance"]), store.Get("d4", 1)!.Acl);
        Assert.Null(store.Get("d5", 1)!.Acl);
        Assert.Null(store.Get("missing", 1));
        Assert.Null(store.GetChunk(5000));
        Assert.Equal([(0L, 2, "d0"), (2, 2, "d1")], store.ChunkRanges(0, 1).Take(2).ToList());
    }

    [Fact]
    public void Live_batches_are_versions_read_as_of_a_sequence_number()
    {
        using var tmp = new TempDir();
        var path = tmp.File("docs.sqlite");
        using (var w = DocumentStoreWriter.Create(path))
        {
            w.Insert(Doc("a", 1, 0, 1));
            w.InsertChunk(new StoredChunk(0, "a", 1, 0, 0, 4));
            w.CommitBatch(1, "bulk", 1, 0, 1);
            w.Complete();
        }
        using (var w = DocumentStoreWriter.OpenLive(path))
        {
            w.BeginBatch();
            var live = w.GetLive("a")!;
            w.MarkDeleted("a", live.Version, 2);
            w.Insert(Doc("a", 2, 1, 1));
            w.InsertChunk(new StoredChunk(1, "a", 2, 0, 0, 4), [1f, 2f, 3f]);
            w.Insert(Doc("b", 2, 2, 0));
            w.CommitBatch(2, "upsert", 2, 0, 2);

            w.BeginBatch();
            w.MarkDeleted("b", 2, 3);
            w.RecordChange(3, "b", ChangeKind.Delete);
            w.RollbackBatch(); // thrown away: b stays
            Assert.Equal((2L, 2L), w.ReadState());
            Assert.Throws<InvalidInputException>(() => { w.BeginBatch(); w.Insert(Doc("b", 3, 2, 0)); });
            w.RollbackBatch();
        }
        using var store = DocumentStore.Open(path);
        Assert.Equal("text a v1", store.Get("a", 1)!.Text);
        Assert.Equal("text a v2", store.Get("a", 2)!.Text);
        Assert.Null(store.Get("b", 1));
        Assert.NotNull(store.Get("b", 2));
        Assert.Equal(1, store.CountAt(1));
        Assert.Equal(2, store.CountAt(2));
        Assert.Equal(1, store.CountRemoved());
        var pending = Assert.Single(store.PendingVectors(1, 2));
        Assert.Equal(1L, pending.ChunkId);
        Assert.Equal([1f, 2f, 3f], pending.Vector);
        Assert.Empty(store.PendingVectors(2, 5));
        var effect = store.EffectOf(2);
        Assert.Equal(["a", "b"], effect.Written.Select(d => d.Id));
        Assert.Empty(effect.Deleted); // a's version 1 was superseded by version 2 in the same batch, not deleted
    }

    [Fact]
    public void Duplicate_ids_and_corrupt_files_are_reported()
    {
        using var tmp = new TempDir();
        using (var w = DocumentStoreWriter.Create(tmp.File("a.sqlite")))
        {
            w.Insert(Doc("x", 1, 0, 0));
            Assert.Contains("duplicate document id 'x'", Assert.Throws<InvalidInputException>(() => w.Insert(Doc("x", 1, 0, 0))).Message);
        }
        File.WriteAllText(tmp.File("bad.sqlite"), "this is not a database, just text that is long enough to look like a header...");
        Assert.Throws<IndexCorruptException>(() => DocumentStore.Open(tmp.File("bad.sqlite")));
        Assert.Throws<IndexCorruptException>(() => DocumentStore.Open(tmp.File("missing.sqlite")));
        Assert.Throws<IndexCorruptException>(() => DocumentStoreWriter.OpenLive(tmp.File("missing.sqlite")));
    }
}
