using DeepSeek.Search.Core;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Store.Tests;

public class DocumentStoreTests
{
    [Fact]
    public void Round_trips_documents_and_chunk_map()
    {
        using var tmp = new TempDir();
        var path = tmp.File("docs.sqlite");
        using (var w = new DocumentStoreWriter(path))
        {
            for (int i = 0; i < 2500; i++)
            {
                w.Add(new Document($"d{i}", $"title {i}", $"text {i}", i == 3 ? "{\"lang\":\"en\"}" : null));
                w.Add(new Chunk(2 * i, $"d{i}", 0, 0, 5, "x"));
                w.Add(new Chunk(2 * i + 1, $"d{i}", 1, 5, 9, "y"));
            }
            w.Complete();
        }
        using var store = DocumentStore.Open(path);
        Assert.Equal(2500, store.DocumentCount);
        Assert.Equal(5000, store.ChunkCount);
        Assert.Equal("d1234", store.DocumentOfChunk(2469));
        Assert.Equal("{\"lang\":\"en\"}", store.Get("d3")!.MetadataJson);
        Assert.Equal("text 7", store.Get("d7")!.Text);
        Assert.Null(store.Get("missing"));
        Assert.Throws<IndexCorruptException>(() => store.DocumentOfChunk(5000));
    }

    [Fact]
    public void Duplicate_ids_and_corrupt_files_are_reported()
    {
        using var tmp = new TempDir();
        using (var w = new DocumentStoreWriter(tmp.File("a.sqlite")))
        {
            w.Add(new Document("x", "", "t"));
            Assert.Throws<InvalidInputException>(() => w.Add(new Document("x", "", "t")));
        }
        File.WriteAllText(tmp.File("bad.sqlite"), "this is not a database, just text that is long enough to look like a header...");
        Assert.Throws<IndexCorruptException>(() => DocumentStore.Open(tmp.File("bad.sqlite")));
        Assert.Throws<IndexCorruptException>(() => DocumentStore.Open(tmp.File("missing.sqlite")));
    }
}
