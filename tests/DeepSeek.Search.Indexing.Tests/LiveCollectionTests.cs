using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>The live write path: upserts, deletes, versions, the writer lock, compaction, and readers' views.</summary>
public class LiveCollectionTests
{
    static Document Doc(string id, string text, string? meta = null, Acl? acl = null) => new(id, "", text, meta, acl);

    /// <summary>Distinct documents: each a seeded random draw of words, so rankings have no exact ties.</summary>
    static IEnumerable<Document> Corpus(int n, string prefix = "d") =>
        Enumerable.Range(0, n).Select(i =>
        {
            var rng = new Random(i * 7919 + prefix.Length);
            var words = Enumerable.Range(0, 6 + rng.Next(30)).Select(_ => Rankings.Vocabulary[rng.Next(Rankings.Vocabulary.Length)]);
            return Doc($"{prefix}{i}", $"topic{i % 7} " + string.Join(' ', words));
        });

    static WriterOptions Bm25Only => new() { CreateWith = new BuildOptions() };

    [Fact]
    public void Upserts_and_deletes_are_visible_to_the_next_search_with_versions_from_the_sequence()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "live");
        using var writer = CollectionWriter.Open(store, Bm25Only);
        Assert.Equal(1, writer.LastSeq); // the empty snapshot is batch 1
        using var searcher = CollectionSearcher.Open(store);
        Assert.Equal(0, searcher.DocumentCount);

        var r1 = writer.Upsert([Doc("a", "apples and pears"), Doc("b", "bananas")]);
        Assert.Equal(2, r1.Seq);
        var hits = searcher.Execute("apples", new SearchOptions { K = 5 });
        Assert.Equal(2, hits.Seq);
        Assert.Equal("a", Assert.Single(hits.Hits).DocumentId);
        Assert.Equal(2, hits.Hits[0].Version);

        // Same content: nothing written, no new batch.
        var same = writer.Upsert([Doc("a", "apples and pears")]);
        Assert.Equal((0L, 1), (same.Seq, same.Unchanged));

        var r2 = writer.Upsert([Doc("a", "cherries now")]);
        Assert.Equal(3, r2.Seq);
        Assert.Empty(searcher.Search("apples", new SearchOptions()));
        Assert.Equal(3, searcher.Search("cherries", new SearchOptions()).Single().Version);

        var del = writer.Delete(["b"]);
        Assert.Equal(4, del.Seq);
        Assert.Empty(searcher.Search("bananas", new SearchOptions()));
        Assert.Equal(1, searcher.DocumentCount);

        // The change log lists every batch's documents in order.
        using var ds = DocumentStore.Open(searcher.Snapshot.DocumentStorePath);
        Assert.Equal([(2L, "a", ChangeKind.Upsert), (2, "b", ChangeKind.Upsert), (3, "a", ChangeKind.Upsert), (4, "b", ChangeKind.Delete)],
            ds.ChangesSince(1).Select(c => (c.Seq, c.DocumentId, c.Kind)).ToList());
    }

    [Fact]
    public void Bad_batches_change_nothing()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "live");
        using var writer = CollectionWriter.Open(store, Bm25Only);
        writer.Upsert([Doc("a", "alpha")]);
        long seq = writer.LastSeq;

        Assert.Contains("unknown document id 'nope'", Assert.Throws<InvalidInputException>(() => writer.Delete(["a", "nope"])).Message);
        Assert.Contains("appears twice", Assert.Throws<InvalidInputException>(() => writer.Upsert([Doc("x", "1"), Doc("x", "2")])).Message);
        Assert.Contains("metadata must be a JSON object", Assert.Throws<InvalidInputException>(() => writer.Upsert([Doc("y", "t", "[1,2]")])).Message);
        Assert.Contains("empty id", Assert.Throws<InvalidInputException>(() => writer.Upsert([Doc("", "t")])).Message);
        Assert.Throws<InvalidInputException>(() => writer.Delete([]));

        Assert.Equal(seq, writer.LastSeq);
        using var searcher = CollectionSearcher.Open(store);
        Assert.Equal(1, searcher.DocumentCount);
        Assert.Equal("a", searcher.Search("alpha", new SearchOptions()).Single().DocumentId);
    }

    [Fact]
    public void A_second_writer_fails_at_once_naming_the_holder()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "live");
        using var writer = CollectionWriter.Open(store, Bm25Only);
        var e = Assert.Throws<CollectionLockedException>(() => CollectionWriter.Open(store, Bm25Only));
        Assert.Contains($"pid {Environment.ProcessId}", e.Message);
        Assert.Contains("live writer", e.Message);
        Assert.Throws<CollectionLockedException>(() => CollectionBuilder.Build(store, Corpus(3), new BuildOptions()));
        writer.Dispose();
        using var again = CollectionWriter.Open(store, Bm25Only);
    }

    [Fact]
    public void Upserting_part_of_a_corpus_into_a_build_of_the_rest_ranks_like_a_build_of_all()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder.Copy(tmp);
        var all = Corpus(60).ToList();
        var build = new BuildOptions { EncoderPath = enc, ChunkTokens = 12, ChunkOverlap = 2 };
        var whole = CollectionStore.At(tmp.Path, "whole");
        CollectionBuilder.Build(whole, all, build);
        var live = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(live, all.Take(40), build);
        using (var writer = CollectionWriter.Open(live))
        {
            writer.Upsert(all.Skip(40).Take(7).ToList());
            writer.Upsert(all.Skip(47).ToList());
        }
        using var a = CollectionSearcher.Open(whole);
        using var b = CollectionSearcher.Open(live);
        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
            foreach (var q in new[] { "topic3 protein cell", "lava basalt crust ocean", "market price revenue topic6" })
            {
                var o = new SearchOptions { Mode = mode, K = 15 };
                // Equal up to the order of tied documents (float rounding of other batches may break such ties either way).
                Rankings.SameScores(a.Rank(q, o), b.Rank(q, o), $"{mode} '{q}'");
            }
    }

    [Fact]
    public void Compaction_keeps_chunk_ids_and_rankings_and_reclaims_deleted_entries()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder.Copy(tmp);
        var store = CollectionStore.At(tmp.Path, "live");
        var build = new BuildOptions { EncoderPath = enc, ChunkTokens = 12, ChunkOverlap = 2 };
        CollectionBuilder.Build(store, Corpus(30), build);
        using var writer = CollectionWriter.Open(store);
        writer.Upsert(Corpus(10, "n").ToList());
        writer.Delete(["d3", "d4", "n1"]);
        writer.Upsert([Doc("d5", "replaced text about volcanoes")]);
        var before = writer.Status();
        Assert.True(before.RemovedRows >= 4 && before.PendingVectors > 0, before.ToString());

        using var searcher = CollectionSearcher.Open(store);
        var o = new SearchOptions { Mode = SearchMode.Dense, K = 10 };
        var denseBefore = searcher.Rank("topic2 magma volcanoes", o);
        using var oldGen = DocumentStore.Open(searcher.Snapshot.DocumentStorePath);
        var chunksBefore = oldGen.ChunksOf("n7", oldGen.Get("n7", writer.LastSeq)!.Version).Select(c => c.ChunkId).ToList();

        var result = writer.Compact();
        Assert.Equal(before.RemovedRows, result.ReclaimedRows);
        var after = writer.Status();
        Assert.Equal((0L, 0L), (after.RemovedRows, after.PendingVectors));
        Assert.Equal(before.Documents, after.Documents);
        Assert.Equal(before.NextChunkId, after.NextChunkId);

        // The open searcher moves to the new snapshot at its next search, with the same dense ranking and chunk ids.
        var denseAfter = searcher.Rank("topic2 magma volcanoes", o);
        Assert.Equal(result.Snapshot, Path.GetFileName(searcher.Snapshot.Directory));
        Assert.Equal(denseBefore.Select(h => h.DocumentId), denseAfter.Select(h => h.DocumentId));
        using var newGen = DocumentStore.Open(searcher.Snapshot.DocumentStorePath);
        Assert.Equal(chunksBefore, newGen.ChunksOf("n7", newGen.Get("n7", writer.LastSeq)!.Version).Select(c => c.ChunkId));

        // New chunks continue after every id given out before; none is reused.
        writer.Upsert([Doc("z", "a brand new document with several words to chunk into pieces")]);
        using var latest = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
        var z = latest.Get("z", writer.LastSeq)!;
        Assert.Equal(before.NextChunkId, z.FirstChunk);
    }

    [Fact]
    public void A_compaction_replays_writes_made_while_it_copied()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(store, Corpus(300), new BuildOptions());
        using var writer = CollectionWriter.Open(store);
        writer.Delete(Enumerable.Range(0, 50).Select(i => $"d{i}").ToList());
        using var stop = new CancellationTokenSource();
        var written = new List<string>();
        var task = Task.Run(() =>
        {
            int i = 0;
            while (!stop.IsCancellationRequested && i < 200)
            {
                writer.Upsert([Doc($"late{i}", $"late document {i}")]);
                lock (written) written.Add($"late{i}");
                i++;
            }
        });
        var result = writer.Compact();
        stop.Cancel();
        task.Wait();
        using var searcher = CollectionSearcher.Open(store);
        Assert.Equal(250 + written.Count, searcher.DocumentCount);
        using var ds = DocumentStore.Open(searcher.Snapshot.DocumentStorePath);
        foreach (var id in written) Assert.NotNull(ds.Get(id, searcher.Seq));
        Assert.Null(ds.Get("d0", searcher.Seq));
        Assert.Equal(result.Snapshot, Path.GetFileName(searcher.Snapshot.Directory));
    }

    [Fact]
    public void An_old_snapshot_stays_until_its_last_reader_lets_go()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(store, Corpus(20), new BuildOptions());
        var reader = CollectionSearcher.Open(store);
        reader.AutoRefresh = false;
        var oldDir = reader.Snapshot.Directory;
        using (var writer = CollectionWriter.Open(store))
        {
            writer.Delete(["d1"]);
            writer.Compact();
        }
        Assert.True(Directory.Exists(oldDir), "a reader still holds it");
        Assert.Equal(20, reader.DocumentCount);
        Assert.NotEmpty(reader.Search("topic1 protein", new SearchOptions()));
        reader.Dispose();
        using (var writer = CollectionWriter.Open(store)) { } // opening a writer prunes what no reader holds
        Assert.False(Directory.Exists(oldDir));
    }

    [Fact]
    public void Lucene_behind_the_store_is_replayed_on_open()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "live");
        using (var writer = CollectionWriter.Open(store, Bm25Only)) writer.Upsert([Doc("a", "first words")]);
        var snap = store.OpenCurrent();
        long luceneSeq = LexicalIndexWriter.CommittedSeq(snap.LexicalPath);

        // A batch that reached the store but not Lucene (what kill -9 between the two commits leaves).
        using (var ds = DocumentStoreWriter.OpenLive(snap.DocumentStorePath))
        {
            ds.BeginBatch();
            ds.Insert(new StoredDocument("b", luceneSeq + 1, "x", "", "second words", null, null, 0, 0));
            ds.RecordChange(luceneSeq + 1, "b", ChangeKind.Upsert);
            ds.CommitBatch(luceneSeq + 1, "upsert", 1, 0, 0);
        }
        using (var searcher = CollectionSearcher.Open(store))
        {
            Assert.Equal(luceneSeq, searcher.Seq); // readers see the last state both agree on
            Assert.Empty(searcher.Search("second", new SearchOptions()));
        }
        using (var writer = CollectionWriter.Open(store, Bm25Only)) Assert.Equal(luceneSeq + 1, writer.LastSeq);
        using (var searcher = CollectionSearcher.Open(store))
            Assert.Equal("b", searcher.Search("second", new SearchOptions()).Single().DocumentId);
    }

    [Fact]
    public void Acl_restricts_every_mode_and_hides_counts()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder.Copy(tmp);
        var store = CollectionStore.At(tmp.Path, "acl");
        var docs = new List<Document>
        {
            Doc("pub", "shared quarterly report on revenue"),
            Doc("alice1", "alice private quarterly revenue notes", acl: new Acl(["alice"], [])),
            Doc("fin", "finance team quarterly revenue forecast", acl: new Acl([], ["finance"])),
            Doc("nobody", "quarterly revenue for no one", acl: new Acl([], [])),
        };
        CollectionBuilder.Build(store, docs, new BuildOptions { EncoderPath = enc, ChunkTokens = 12, ChunkOverlap = 2 });
        using var searcher = CollectionSearcher.Open(store);
        var cases = new (Caller? Caller, string[] Visible)[]
        {
            (null, ["alice1", "fin", "nobody", "pub"]),
            (Caller.Of("alice"), ["alice1", "pub"]),
            (Caller.Of("bob", ["finance"]), ["fin", "pub"]),
            (Caller.Of("finance"), ["pub"]), // a principal named like a group gets nothing from the group
            (Caller.Of("mallory", []), ["pub"]),
        };
        foreach (var (caller, visible) in cases)
            foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
            {
                var hits = searcher.Rank("quarterly revenue", new SearchOptions { Mode = mode, K = 10, Caller = caller });
                Assert.Equal(visible, hits.Select(h => h.DocumentId).Order(StringComparer.Ordinal).ToArray());
            }
    }
}
