using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Retrieve.Tests.Collections;

public class CollectionSearcherTests
{
    static readonly Document[] Docs =
    [
        new("a", "Apoptosis", "p53 triggers apoptosis after DNA damage in many cell types and tissues of the body."),
        new("b", "Volcanoes", "Magma rises through the crust and erupts as lava; basalt flows cool into rock."),
        new("c", "Insulin", "Insulin lowers blood glucose by promoting its uptake into cells."),
        new("d", "Photosynthesis", "Chloroplasts turn light, water and carbon dioxide into sugar and oxygen."),
        new("e", "Vaccines", "Vaccination trains the immune system with harmless antigens."),
    ];

    [Fact]
    public void RankMany_and_ExecuteMany_give_what_one_query_at_a_time_gives_in_every_mode()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder.Copy(tmp);
        var store = CollectionStore.At(tmp.Path, "c");
        CollectionBuilder.Build(store, Docs, new BuildOptions { EncoderPath = enc, ChunkTokens = 16, ChunkOverlap = 4 });
        using var searcher = CollectionSearcher.Open(store);

        // different lengths (padding inside a batch), a batch boundary (batch size 3), and an empty query
        string[] queries = ["lava", "p53 apoptosis after damage to DNA", "", "blood sugar and the hormone that lowers it", "light", "immune system antigens", "rock"];
        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
        {
            var options = new SearchOptions { Mode = mode, K = 5 };
            var many = searcher.RankMany(queries, options, batchSize: 3);
            Assert.Equal(queries.Length, many.Count);
            for (int i = 0; i < queries.Length; i++)
            {
                if (queries[i].Length == 0) { Assert.Empty(many[i]); continue; }
                var one = searcher.Rank(queries[i], options);
                Assert.Equal(one.Select(h => h.DocumentId), many[i].Select(h => h.DocumentId));
                for (int r = 0; r < one.Count; r++) Assert.Equal(one[r].Score, many[i][r].Score, 4);
            }
            var responses = searcher.ExecuteMany(queries, options, batchSize: 3);
            Assert.Equal(queries.Length, responses.Count);
            for (int i = 0; i < queries.Length; i++)
            {
                if (queries[i].Length == 0) { Assert.Empty(responses[i].Hits); continue; }
                var one = searcher.Execute(queries[i], options);
                Assert.Equal(one.Hits.Select(h => (h.DocumentId, h.Chunk?.ChunkId, h.Title)), responses[i].Hits.Select(h => (h.DocumentId, h.Chunk?.ChunkId, h.Title)));
                for (int r = 0; r < one.Hits.Count; r++) Assert.Equal(one.Hits[r].Score, responses[i].Hits[r].Score, 4);
            }
        }
    }

    [Fact]
    public void Dense_search_of_a_lexical_collection_names_the_mode_setting_not_a_flag()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "lex");
        CollectionBuilder.Build(store, Docs, new BuildOptions());
        using var searcher = CollectionSearcher.Open(store);
        foreach (var mode in new[] { SearchMode.Dense, SearchMode.Hybrid })
        {
            var e = Assert.Throws<NoDenseIndexException>(() => searcher.Rank("lava", new SearchOptions { Mode = mode }));
            Assert.Equal("mode", e.Setting);
            Assert.Equal("lex", e.Collection);
            Assert.Equal(mode.ToString().ToLowerInvariant(), e.Mode);
            Assert.DoesNotContain("--", e.Message);
        }
    }
}
