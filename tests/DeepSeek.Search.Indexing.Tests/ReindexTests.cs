using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing.Reindex;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Microsoft.Data.Sqlite;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// The incremental re-index (<see cref="ReindexJob"/>) on real parts: counts per class, results equal to a full rebuild of
/// the new corpus, nothing embedded when nothing changed, the registry kept by compaction and bulk builds, adoption, two
/// sources claiming one id, a run interrupted and continued, and the schema migration of an older store.
/// </summary>
public class ReindexTests
{
    static List<Document> Corpus(int n) => Enumerable.Range(0, n).Select(i => Rankings.Doc($"d{i}", i)).ToList();

    /// <summary>The corpus after a night: every 10th document modified, every 100th (offset 5) deleted, 1% new ones.</summary>
    static (List<Document> Next, HashSet<string> Changed, HashSet<string> Deleted, HashSet<string> Added) Night(List<Document> docs)
    {
        var changed = new HashSet<string>();
        var deleted = new HashSet<string>();
        var next = new List<Document>();
        for (int i = 0; i < docs.Count; i++)
        {
            if (i % 100 == 5) { deleted.Add(docs[i].Id); continue; }
            if (i % 10 == 3) { next.Add(Rankings.Doc(docs[i].Id, 10_000 + i)); changed.Add(docs[i].Id); }
            else next.Add(docs[i]);
        }
        var added = new HashSet<string>();
        for (int i = 0; i < docs.Count / 100; i++)
        {
            next.Add(Rankings.Doc($"new{i}", 20_000 + i));
            added.Add($"new{i}");
        }
        return (next, changed, deleted, added);
    }

    static ReindexSource Source(string id, IEnumerable<Document> docs, DateTime? mtime = null) =>
        new(id, () => docs.Select(d => new SourceDocument(d, mtime ?? new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc))));

    static BuildOptions Dense(string encoder) => new() { EncoderPath = encoder, ChunkTokens = 12, ChunkOverlap = 2 };

    static ReindexReport Reindex(CollectionStore store, params ReindexSource[] sources)
    {
        using var writer = CollectionWriter.Open(store);
        return ReindexJob.Run(writer, sources);
    }

    static List<SourceEntry> Registry(CollectionStore store)
    {
        using var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
        return ds.SourceEntries().ToList();
    }

    [Fact]
    public void A_night_of_changes_is_counted_exactly_and_searches_like_a_full_rebuild_and_a_second_run_embeds_nothing()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder.Copy(tmp);
        var docs = Corpus(300);
        var live = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(live, docs, Dense(enc));

        // The first run adopts every document of the build: all unchanged, nothing embedded, every one registered.
        var first = Reindex(live, Source("/corpus.jsonl", docs));
        Assert.Equal((0L, 0L, 300L, 0L, 0L), (first.Added, first.Changed, first.Unchanged, first.Deleted, first.ChunksEmbedded));
        Assert.Equal(300, Registry(live).Count(e => e.Source == "/corpus.jsonl" && e.LastRun == first.RunId));

        var (next, changed, deleted, added) = Night(docs);
        Assert.Equal((30, 3, 3), (changed.Count, deleted.Count, added.Count));
        ReindexReport night;
        using (var writer = CollectionWriter.Open(live))
        {
            night = ReindexJob.Run(writer, [Source("/corpus.jsonl", next)], new ReindexOptions { BatchSize = 7 });
            writer.Compact();
        }
        Assert.Equal((3L, 30L, 300L - 30 - 3, 3L), (night.Added, night.Changed, night.Unchanged, night.Deleted));
        Assert.False(night.Resumed);
        Assert.True(night.ChunksEmbedded > 0);
        Assert.Equal(night.ChunksEmbedded, night.ChunksEmbeddedThisAttempt);
        Assert.Equal(deleted.Order(StringComparer.Ordinal), night.FirstIds.Deleted);
        Assert.All(night.FirstIds.Changed, id => Assert.Contains(id, changed));
        Assert.All(night.FirstIds.Added, id => Assert.Contains(id, added));

        var whole = CollectionStore.At(tmp.Path, "whole");
        CollectionBuilder.Build(whole, next, Dense(enc));
        using (var a = CollectionSearcher.Open(whole))
        using (var b = CollectionSearcher.Open(live))
        {
            Assert.Equal(a.DocumentCount, b.DocumentCount);
            foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
                foreach (var q in new[] { "topic3 protein cell", "lava basalt crust ocean", "market price revenue topic6", "galaxy telescope orbit", "court judge patent law" })
                    Rankings.SameRanking(a.Rank(q, new SearchOptions { Mode = mode, K = 15 }), b.Rank(q, new SearchOptions { Mode = mode, K = 15 }), $"{mode} '{q}'");
        }

        // Nothing changed since: nothing embedded, nothing written, every document unchanged.
        long seq = Seq(live);
        var again = Reindex(live, Source("/corpus.jsonl", next));
        Assert.Equal((0L, 0L, (long)next.Count, 0L, 0L), (again.Added, again.Changed, again.Unchanged, again.Deleted, again.ChunksEmbedded));
        Assert.Equal(seq, Seq(live));
    }

    static long Seq(CollectionStore store)
    {
        using var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
        return ds.LastSeq;
    }

    [Fact]
    public void The_registry_survives_compaction_and_a_bulk_rebuild()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var docs = Corpus(40);
        CollectionBuilder.Build(store, docs, new BuildOptions());
        Reindex(store, Source("/a", docs));
        using (var writer = CollectionWriter.Open(store)) writer.Upsert([Rankings.Doc("d0", 999)]); // leaves a superseded row to reclaim
        var before = Registry(store);
        Assert.Equal(40, before.Count);
        List<ReindexRunRecord> runs;
        using (var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath)) runs = [.. ds.ReindexRuns()];

        string gen = store.OpenCurrent().Directory;
        using (var writer = CollectionWriter.Open(store)) writer.Compact();
        Assert.NotEqual(gen, store.OpenCurrent().Directory);
        Assert.Equal(before, Registry(store));
        using (var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath)) Assert.Equal(runs, ds.ReindexRuns());

        // A registry lost here would make every document "added" (and d39's removal go unseen).
        var r = Reindex(store, Source("/a", docs.Take(39)));
        Assert.Equal((0L, 1L, 38L, 1L), (r.Added, r.Changed, r.Unchanged, r.Deleted));

        // dss index of the same corpus keeps the entries of the documents it holds.
        CollectionBuilder.Build(store, docs.Take(30), new BuildOptions());
        Assert.Equal(30, Registry(store).Count);
        r = Reindex(store, Source("/a", docs.Take(29)));
        Assert.Equal((0L, 0L, 29L, 1L), (r.Added, r.Changed, r.Unchanged, r.Deleted));
    }

    [Fact]
    public void Unclaimed_documents_are_kept_moved_ones_follow_their_source_and_one_id_in_two_sources_writes_nothing()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var docs = Corpus(20);
        CollectionBuilder.Build(store, docs, new BuildOptions());
        using (var writer = CollectionWriter.Open(store)) writer.Upsert([new Document("manual", "", "written by dss upsert")]);

        // Two sources split the corpus; "manual" is claimed by neither and stays.
        var r = Reindex(store, Source("/a", docs.Take(10)), Source("/b", docs.Skip(10)));
        Assert.Equal((0L, 0L, 20L, 0L, 1L), (r.Added, r.Changed, r.Unchanged, r.Deleted, r.Unclaimed));

        // d5 moves from /a to /b: unchanged, re-registered, not deleted by /a's run.
        r = Reindex(store, Source("/a", docs.Take(10).Where(d => d.Id != "d5")), Source("/b", docs.Skip(10).Append(docs[5])));
        Assert.Equal((0L, 0L, 20L, 0L), (r.Added, r.Changed, r.Unchanged, r.Deleted));
        Assert.Equal("/b", Registry(store).Single(e => e.DocumentId == "d5").Source);

        // A run of /a alone never deletes /b's documents, nor the unclaimed one.
        r = Reindex(store, Source("/a", docs.Take(3)));
        Assert.Equal((0L, 0L, 3L, 6L), (r.Added, r.Changed, r.Unchanged, r.Deleted));
        using (var s = CollectionSearcher.Open(store)) Assert.Equal(1 + 3 + 11, s.DocumentCount);

        // One id in two sources: an error naming both, nothing written.
        long seq = Seq(store);
        var e = Assert.Throws<InvalidInputException>(() => Reindex(store, Source("/a", [Rankings.Doc("d0", 1), Rankings.Doc("x", 2)]), Source("/b", [Rankings.Doc("x", 3)])));
        Assert.Contains("'x' is in two sources, /a and /b", e.Message);
        Assert.Equal(seq, Seq(store));
        Assert.DoesNotContain(Registry(store), x => x.DocumentId == "x");
    }

    [Fact]
    public void An_interrupted_run_is_continued_by_the_next_under_its_id_and_counts_as_one_clean_run()
    {
        using var tmp = new TempDir();
        var docs = Corpus(120);
        var (next, changed, deleted, added) = Night(docs);
        var clean = CollectionStore.At(tmp.Path, "clean");
        var broken = CollectionStore.At(tmp.Path, "broken");
        foreach (var s in new[] { clean, broken })
        {
            CollectionBuilder.Build(s, docs, new BuildOptions());
            Reindex(s, Source("/a", docs));
        }
        var cleanRun = Reindex(clean, Source("/a", next));

        // The source fails after the run has written some batches: the next run continues it.
        int reads = 0;
        var failing = new ReindexSource("/a", () => next.Select(d => new SourceDocument(d, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc))));
        using (var writer = CollectionWriter.Open(broken))
        using (var cts = new CancellationTokenSource())
        {
            writer.Committed += (_, _) => { if (++reads == 3) cts.Cancel(); };
            Assert.ThrowsAny<OperationCanceledException>(() => ReindexJob.Run(writer, [failing], new ReindexOptions { BatchSize = 4 }, null, cts.Token));
        }
        var resumed = Reindex(broken, failing);
        Assert.True(resumed.Resumed);
        Assert.Equal(2, resumed.Attempt);
        Assert.True(resumed.AlreadyDone > 0);
        Assert.Equal((cleanRun.Added, cleanRun.Changed, cleanRun.Unchanged, cleanRun.Deleted), (resumed.Added, resumed.Changed, resumed.Unchanged, resumed.Deleted));
        Assert.Equal(Contents(clean), Contents(broken));
        using (var ds = DocumentStore.Open(broken.OpenCurrent().DocumentStorePath))
            Assert.All(ds.ReindexRuns(), run => Assert.NotNull(run.FinishedUtc));
        Assert.False(Reindex(broken, failing).Resumed);
    }

    static List<(string, string)> Contents(CollectionStore store)
    {
        using var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
        return ds.DocumentsAt(ds.LastSeq).Select(d => (d.Id, d.Sha256)).Order().ToList();
    }

    [Fact]
    public void A_store_of_schema_2_opens_for_reading_as_it_is_and_is_migrated_by_the_writer()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "old");
        var docs = Corpus(10);
        CollectionBuilder.Build(store, docs, new BuildOptions());
        var path = store.OpenCurrent().DocumentStorePath;
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DROP TABLE document_sources; DROP TABLE reindex_runs; UPDATE meta SET value = 2 WHERE key = 'schema';";
            cmd.ExecuteNonQuery();
        }
        using (var ds = DocumentStore.Open(path))
        {
            Assert.False(ds.HasRegistry);
            Assert.Empty(ds.SourceEntries());
            Assert.Equal(10, ds.LiveDocumentsWithSources().Count());
        }
        var dry = ReindexJob.DryRun(store, [Source("/a", docs)]);
        Assert.Equal(10, dry.Unchanged);
        using (var ds = DocumentStore.Open(path)) Assert.False(ds.HasRegistry); // a dry run writes nothing

        var r = Reindex(store, Source("/a", docs));
        Assert.Equal(10, r.Unchanged);
        using (var ds = DocumentStore.Open(path)) Assert.True(ds.HasRegistry);
        Assert.Equal(10, Registry(store).Count);
    }
}
