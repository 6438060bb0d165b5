using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// A caller's search skips the ACL pre-filter while no document of the collection has an ACL (it changes nothing there), and
/// applies it again from the first document that has one: two principals never see each other's documents either way.
/// </summary>
public class OpenCollectionTests
{
    static Document Doc(string id, string text, Acl? acl = null) => new(id, "", text, null, acl);

    [Fact]
    public void Callers_see_everything_of_an_open_collection_and_only_their_own_once_acls_appear()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var docs = Enumerable.Range(0, 30).Select(i => Doc($"d{i}", $"topic{i % 5} quarterly revenue notes number {i} " + string.Join(' ', Rankings.Vocabulary.Skip(i % 9).Take(6)))).ToList();
        CollectionBuilder.Build(store, docs, new BuildOptions { EncoderPath = TinyEncoder.Copy(tmp), ChunkTokens = 12, ChunkOverlap = 2 });
        var alice = Caller.Of("alice");
        var bob = Caller.Of("bob");
        using var searcher = CollectionSearcher.Open(store);
        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
        {
            var everyone = searcher.Rank("quarterly revenue topic3", new SearchOptions { Mode = mode, K = 10 });
            var asAlice = searcher.Rank("quarterly revenue topic3", new SearchOptions { Mode = mode, K = 10, Caller = alice });
            Assert.Equal(everyone.Select(h => (h.DocumentId, h.Score)), asAlice.Select(h => (h.DocumentId, h.Score)));
        }

        using (var writer = CollectionWriter.Open(store))
            writer.Upsert([
                Doc("alice-only", "quarterly revenue topic3 alice private notes", new Acl(["alice"], [])),
                Doc("bob-only", "quarterly revenue topic3 bob private notes", new Acl(["bob"], [])),
            ]);
        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
        {
            var a = searcher.Rank("quarterly revenue topic3 private notes", new SearchOptions { Mode = mode, K = 32, Caller = alice }).Select(h => h.DocumentId).ToList();
            var b = searcher.Rank("quarterly revenue topic3 private notes", new SearchOptions { Mode = mode, K = 32, Caller = bob }).Select(h => h.DocumentId).ToList();
            Assert.Contains("alice-only", a);
            Assert.DoesNotContain("bob-only", a);
            Assert.Contains("bob-only", b);
            Assert.DoesNotContain("alice-only", b);
        }

        // Deleting the last ACL'd documents keeps the pre-filter (deleted documents still count until a compaction drops them).
        using (var writer = CollectionWriter.Open(store))
            writer.Delete(["alice-only", "bob-only"]);
        var again = searcher.Rank("quarterly revenue topic3", new SearchOptions { Mode = SearchMode.Hybrid, K = 10, Caller = bob });
        Assert.DoesNotContain(again, h => h.DocumentId is "alice-only" or "bob-only");
    }
}
