using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Xunit.Abstractions;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// `dss reindex` through the real program: a folder and a JSONL source, the report, dry runs that write nothing, the registry
/// kept by `dss compact`, bad input (one error line, nothing written), and kill -9 at random points of a run: every rerun
/// completes, and the collection then holds exactly the sources' documents (ids and content hashes), counted as one clean run.
/// </summary>
public class CliReindexTests(CliFixture f, ITestOutputHelper output) : IClassFixture<CliFixture>
{
    string Root => f.IndexRoot;

    static readonly string[] Words = "magma crust lava protein cell gene market price court music planet orbit bridge steel ocean river".Split(' ');

    static string Text(Random rng, string tag) => tag + " " + string.Join(' ', Enumerable.Range(0, 5 + rng.Next(40)).Select(_ => Words[rng.Next(Words.Length)])) + $" n{rng.Next(1_000_000)}";

    static void WriteJsonl(string file, IEnumerable<KeyValuePair<string, string>> docs) =>
        File.WriteAllLines(file, docs.Select(kv => JsonSerializer.Serialize(new { id = kv.Key, title = "", text = kv.Value })));

    /// <summary>
    /// Every file of the collection folder with a hash of its content, lock files aside (a snapshot's empty
    /// <c>readers.lock</c> is made by its first reader, a search or a dry run alike).
    /// </summary>
    static SortedDictionary<string, string> Files(string dir) => new(
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(p => !Path.GetFileName(p).StartsWith("readers.lock", StringComparison.Ordinal) && !Path.GetFileName(p).StartsWith("writer.lock", StringComparison.Ordinal))
            .ToDictionary(p => Path.GetRelativePath(dir, p), p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))), StringComparer.Ordinal);

    static JsonElement Report(string file) => JsonDocument.Parse(File.ReadAllText(file)).RootElement;

    static (long Added, long Changed, long Unchanged, long Deleted) Counts(JsonElement r) =>
        (r.GetProperty("added").GetInt64(), r.GetProperty("changed").GetInt64(), r.GetProperty("unchanged").GetInt64(), r.GetProperty("deleted").GetInt64());

    [Fact]
    public void Reindex_of_a_folder_and_a_jsonl_counts_each_class_dry_runs_write_nothing_and_compaction_keeps_the_registry()
    {
        var folder = f.PathOf("rx-folder");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "lava.txt"), "Magma rises through the crust and erupts as lava.");
        File.WriteAllText(Path.Combine(folder, "cells.md"), "# Cells\nCells divide by mitosis.");
        var jsonl = f.PathOf("rx.jsonl");
        WriteJsonl(jsonl, new Dictionary<string, string> { ["j1"] = "markets set prices", ["j2"] = "courts judge cases", ["j3"] = "planets orbit stars" });
        var initial = f.PathOf("rx-initial.jsonl");
        WriteJsonl(initial, new Dictionary<string, string> { ["j1"] = "markets set prices", ["lava.txt"] = "old text about lava", ["stray"] = "no source holds this" });
        Dss.Ok("index", "-c", "rx", "--corpus", initial, "--encoder", f.Encoder, "--index-root", Root, "--chunk-tokens", "16", "--chunk-overlap", "4");
        var dir = Path.Combine(Root, "rx");

        // A dry run prints the plan and leaves every file of the collection as it was.
        var before = Files(dir);
        var dryReport = f.PathOf("rx-dry.json");
        var dry = Dss.Ok("reindex", "-c", "rx", "--source", folder, "--source", jsonl, "--dry-run", "--report", dryReport, "--index-root", Root);
        Assert.Contains("would add 3, change 1, delete 0, leave 1 unchanged", dry.Stdout);
        Assert.Contains("changed:   lava.txt", dry.Stdout);
        Assert.Equal(before, Files(dir));
        Assert.True(Report(dryReport).GetProperty("dry_run").GetBoolean());

        var report = f.PathOf("rx-1.json");
        var r = Dss.Ok("reindex", "-c", "rx", "--source", folder, "--source", jsonl, "--report", report, "--index-root", Root);
        Assert.Contains("3 added, 1 changed, 1 unchanged, 0 deleted", r.Stdout);
        var json = Report(report);
        Assert.Equal((3L, 1L, 1L, 0L), Counts(json));
        Assert.True(json.GetProperty("chunks_embedded").GetInt64() > 0);
        Assert.False(json.GetProperty("resumed").GetBoolean());
        foreach (var stage in new[] { "read_hash", "diff", "embed_write", "delete", "total" })
            Assert.True(json.GetProperty("seconds").GetProperty(stage).GetDouble() >= 0);
        Assert.Equal([Path.GetFullPath(folder), Path.GetFullPath(jsonl)], json.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));

        // The registry: the folder's documents carry their own file's time, the JSONL's the file's.
        using (var ds = DocumentStore.Open(CollectionStore.At(Root, "rx").OpenCurrent().DocumentStorePath))
        {
            var entries = ds.SourceEntries().ToDictionary(e => e.DocumentId);
            Assert.Equal(["cells.md", "j1", "j2", "j3", "lava.txt"], entries.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(File.GetLastWriteTimeUtc(Path.Combine(folder, "lava.txt")), entries["lava.txt"].SourceModifiedUtc);
            Assert.Equal(File.GetLastWriteTimeUtc(jsonl), entries["j2"].SourceModifiedUtc);
        }

        Assert.Contains($"last run {json.GetProperty("run_id").GetString()}: finished", Dss.Ok("info", "-c", "rx", "--index-root", Root).Stdout);

        // The job's state without a sidecar (Jobs' ReindexRunner, the runner of the Dapr cron route too): beside the collection.
        var job = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "reindex-job.json"))).RootElement.GetProperty("reindex-rx").GetProperty("state");
        Assert.Equal("succeeded", job.GetProperty("lastStatus").GetString());
        Assert.Equal(json.GetProperty("run_id").GetString(), job.GetProperty("lastRunId").GetString());
        Assert.Equal(json.GetProperty("last_seq").GetInt64(), job.GetProperty("lastSeq").GetInt64());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("claimId").ValueKind);

        // Again: nothing to do, nothing embedded.
        r = Dss.Ok("reindex", "-c", "rx", "--source", folder, "--source", jsonl, "--report", report, "--index-root", Root);
        Assert.Equal((0L, 0L, 5L, 0L), Counts(Report(report)));
        Assert.Equal(0, Report(report).GetProperty("chunks_embedded").GetInt64());

        // After dss compact the registry is still there: a file removed from the folder is deleted, the stray document kept.
        Assert.Contains("compacted 'rx'", Dss.Ok("compact", "-c", "rx", "--index-root", Root).Stdout);
        File.Delete(Path.Combine(folder, "cells.md"));
        r = Dss.Ok("reindex", "-c", "rx", "--source", folder, "--source", jsonl, "--report", report, "--index-root", Root);
        Assert.Equal((0L, 0L, 4L, 1L), Counts(Report(report)));
        var hits = Dss.Ok("search", "-c", "rx", "-q", "stray source mitosis cells", "--mode", "bm25", "--index-root", Root, "--json").Json
            .GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()).ToList();
        Assert.Contains("stray", hits);
        Assert.DoesNotContain("cells.md", hits);
    }

    [Fact]
    public void Bad_input_gets_one_error_line_and_leaves_the_collection_as_it_was()
    {
        var good = f.PathOf("rxbad.jsonl");
        WriteJsonl(good, new Dictionary<string, string> { ["g1"] = "basalt flows cool into rock", ["g2"] = "rivers carve valleys" });
        Dss.Ok("index", "-c", "rxbad", "--corpus", good, "--encoder", "none", "--index-root", Root);
        Dss.Ok("reindex", "-c", "rxbad", "--source", good, "--index-root", Root);
        var dir = Path.Combine(Root, "rxbad");
        var before = Files(dir);

        Dss.Fails("input not found: " + f.PathOf("nowhere.jsonl"), "reindex", "-c", "rxbad", "--source", good, "--source", f.PathOf("nowhere.jsonl"), "--index-root", Root);
        var malformed = f.PathOf("rxbad-malformed.jsonl");
        File.WriteAllLines(malformed, [JsonSerializer.Serialize(new { id = "n1", title = "", text = "new words" }), "{\"id\": \"n2\", \"text\": "]);
        Dss.Fails("rxbad-malformed.jsonl:2", "reindex", "-c", "rxbad", "--source", malformed, "--index-root", Root);
        Dss.Fails("unknown collection 'rxnone'", "reindex", "-c", "rxnone", "--source", good, "--index-root", Root);
        Dss.Fails("unknown collection 'rxnone'", "reindex", "-c", "rxnone", "--source", good, "--dry-run", "--index-root", Root);
        Dss.Fails("is given twice", "reindex", "-c", "rxbad", "--source", good, "--source", good, "--index-root", Root);
        Assert.False(Directory.Exists(Path.Combine(Root, "rxnone")));

        // The malformed source wrote nothing: not its first good record, and g1, g2 were not deleted.
        Assert.Equal(before.Keys.Where(k => !k.EndsWith("-shm") && !k.EndsWith("-wal")), Files(dir).Keys.Where(k => !k.EndsWith("-shm") && !k.EndsWith("-wal")));
        var hits = Dss.Ok("search", "-c", "rxbad", "-q", "basalt rivers new words", "--mode", "bm25", "--index-root", Root, "--json").Json
            .GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()).Order().ToList();
        Assert.Equal(["g1", "g2"], hits);
    }

    [Fact]
    public void Reindex_of_each_shard_with_shard_writes_only_its_own_documents_and_the_shards_together_equal_the_source()
    {
        var rng = new Random(29);
        var source = f.PathOf("rxshard.jsonl");
        var docs = Enumerable.Range(0, 80).ToDictionary(i => $"s{i}", _ => Text(rng, "v0"));
        WriteJsonl(source, docs);
        Dss.Ok("index", "-c", "rxshard", "--corpus", source, "--encoder", "none", "--index-root", Root);
        var split = f.PathOf("rxshard-split");
        Dss.Ok("shard", "split", "-c", "rxshard", "--shards", "2", "--out", split, "--index-root", Root);
        string ShardRoot(int i) => Path.Combine(split, $"shard-{i}");
        Dictionary<string, string> Own(Dictionary<string, string> all, int i) => all.Where(kv => StableHash.ShardOf(kv.Key, 2) == i).ToDictionary();

        // Adopting: each shard registers its own documents, writes nothing, and leaves the other shard's alone.
        for (int i = 0; i < 2; i++)
        {
            var report = f.PathOf($"rxshard-adopt-{i}.json");
            var r = Dss.Ok("reindex", "-c", "rxshard", "--source", source, "--shard", $"{i}/2", "--report", report, "--index-root", ShardRoot(i));
            Assert.Equal((0L, 0L, (long)Own(docs, i).Count, 0L), Counts(Report(report)));
            Assert.Equal(docs.Count - Own(docs, i).Count, Report(report).GetProperty("other_shards").GetInt64());
            Assert.Contains("documents of other shards left to them", r.Stdout);
        }

        // A night: 6 rewritten, 4 deleted, 5 new; each shard's run writes its part, and together they write the night once.
        var next = new Dictionary<string, string>(docs);
        foreach (var id in docs.Keys.Take(6)) next[id] = Text(rng, "v1");
        foreach (var id in docs.Keys.Skip(6).Take(4)) next.Remove(id);
        for (int j = 0; j < 5; j++) next[$"new{j}"] = Text(rng, "v1");
        WriteJsonl(source, next);
        var total = (Added: 0L, Changed: 0L, Deleted: 0L);
        for (int i = 0; i < 2; i++)
        {
            var report = f.PathOf($"rxshard-night-{i}.json");
            Dss.Ok("reindex", "-c", "rxshard", "--source", source, "--shard", $"{i}/2", "--report", report, "--index-root", ShardRoot(i));
            var (added, changed, _, deleted) = Counts(Report(report));
            total = (total.Added + added, total.Changed + changed, total.Deleted + deleted);
            Assert.Equal(Checksum(Own(next, i)), Checksum(CollectionStore.At(ShardRoot(i), "rxshard")));
        }
        Assert.Equal((5L, 6L, 4L), total);

        // Bad shard values are one error line, before anything is read or written.
        var files = Files(Path.Combine(ShardRoot(0), "rxshard"));
        Dss.Fails("shard '2/2': need 0 <= I < N <= 64", "reindex", "-c", "rxshard", "--source", source, "--shard", "2/2", "--index-root", ShardRoot(0));
        Dss.Fails("shard 'one': expected I/N", "reindex", "-c", "rxshard", "--source", source, "--shard", "one", "--index-root", ShardRoot(0));
        Assert.Equal(files, Files(Path.Combine(ShardRoot(0), "rxshard")));
    }

    const int Kills = 6;

    [Fact]
    public void Kill_9_at_random_points_of_a_reindex_the_rerun_completes_with_the_sources_documents_counted_as_one_run()
    {
        int seed = Environment.GetEnvironmentVariable("DSS_CRASH_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount;
        output.WriteLine($"seed {seed} (DSS_CRASH_SEED reruns it)");
        var rng = new Random(seed);
        var source = f.PathOf($"rxcrash-{seed}.jsonl");
        var model = Enumerable.Range(0, 300).ToDictionary(i => $"d{i}", _ => Text(rng, "v0"));
        WriteJsonl(source, model);
        Dss.Ok("index", "-c", "rxcrash", "--corpus", source, "--encoder", f.Encoder, "--index-root", Root, "--chunk-tokens", "16", "--chunk-overlap", "4");
        // The first run adopts the built documents (registers them to the source), so later runs may delete.
        Assert.Contains("0 added, 0 changed, 300 unchanged, 0 deleted", Dss.Ok("reindex", "-c", "rxcrash", "--source", source, "--index-root", Root).Stdout);
        var store = CollectionStore.At(Root, "rxcrash");
        int landed = 0;
        // Kills follow the run's progress, not the wall clock: each is aimed at a point of the run (its start, the read, the n-th
        // write progress line), so it lands on a slow machine too; a kill that missed (the run finished first) earns another round.
        for (int round = 1; landed < Kills && round <= 3 * Kills; round++)
        {
            // A night: half the documents rewritten, 5% deleted, 20 new ones.
            var next = new Dictionary<string, string>();
            foreach (var (id, text) in model)
            {
                int roll = rng.Next(100);
                if (roll < 5) continue;
                next[id] = roll < 55 ? Text(rng, $"v{round}") : text;
            }
            for (int i = 0; i < 20; i++) next[$"r{round}-{i}"] = Text(rng, $"v{round}");
            var expected = (Added: (long)next.Keys.Count(k => !model.ContainsKey(k)), Changed: (long)next.Count(kv => model.TryGetValue(kv.Key, out var t) && t != kv.Value),
                Unchanged: (long)next.Count(kv => model.TryGetValue(kv.Key, out var t) && t == kv.Value), Deleted: (long)model.Keys.Count(k => !next.ContainsKey(k)));
            WriteJsonl(source, next);

            var point = KillPoint(rng);
            bool exited = RunAndKill(["reindex", "-c", "rxcrash", "--source", source, "--batch-size", "16", "--index-root", Root], point);
            if (!exited) landed++;
            var report = f.PathOf($"rxcrash-{seed}-{round}.json");
            var rerun = Dss.Ok("reindex", "-c", "rxcrash", "--source", source, "--batch-size", "16", "--report", report, "--index-root", Root);
            var json = Report(report);
            bool resumed = json.GetProperty("resumed").GetBoolean();
            output.WriteLine($"round {round}: kill at {point}: {(exited ? "finished first" : "killed")}; rerun {(resumed ? "resumed" : "fresh")}: {Counts(json)}");
            if (resumed) Assert.Contains("continuing unfinished reindex run", rerun.Stderr);
            // The rerun is the whole night's run (continued or, killed before it began, fresh), or the killed one had finished it.
            var counts = Counts(json);
            Assert.True(counts == expected || (!resumed && counts == (0, 0, next.Count, 0)), $"round {round} (seed {seed}): {counts}, expected {expected}");

            Assert.Equal(Checksum(next), Checksum(store));
            using (var searcher = CollectionSearcher.Open(store))
            {
                var audit = searcher.Audit();
                Assert.True(audit.Problems.Count == 0, $"round {round} (seed {seed}): {string.Join("; ", audit.Problems)}");
                foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
                    searcher.Rank("magma crust protein", new SearchOptions { Mode = mode, K = 5 });
            }
            model = next;
        }
        output.WriteLine($"{landed} of {Kills} kills landed while dss reindex ran");
        Assert.True(landed >= Kills, $"too few kills landed while the run ran ({landed}); seed {seed}");
    }

    [Fact]
    public void Reindex_with_another_encoder_re_embeds_first_equals_a_fresh_build_with_it_and_a_second_run_re_embeds_nothing()
    {
        var other = f.PathOf("rxenc-other-encoder");
        Dss.Ok("encoder", "init", "--out", other, "--vocab", Path.Combine(f.Encoder, "vocab.txt"), "--layers", "1", "--hidden", "48", "--heads", "2",
            "--ffn", "96", "--max-length", "64", "--seed", "7");
        var rng = new Random(13);
        var source = f.PathOf("rxenc.jsonl");
        var docs = Enumerable.Range(0, 40).ToDictionary(i => $"e{i}", _ => Text(rng, "v0"));
        WriteJsonl(source, docs);
        Dss.Ok("index", "-c", "rxenc", "--corpus", source, "--encoder", f.Encoder, "--index-root", Root, "--chunk-tokens", "16", "--chunk-overlap", "4");
        // The first run adopts the built documents (registers them to the source), so later runs may delete; no --encoder: nothing re-embedded.
        Assert.DoesNotContain("re-embed", Dss.Ok("reindex", "-c", "rxenc", "--source", source, "--index-root", Root).Stdout);
        var store = CollectionStore.At(Root, "rxenc");
        string before = store.OpenCurrent().Manifest.Dense!.EncoderIdentity;

        // A night's changes: 3 rewritten, 1 deleted, 2 new.
        for (int i = 0; i < 3; i++) docs[$"e{i}"] = Text(rng, "v1");
        docs.Remove("e39");
        docs["new1"] = Text(rng, "v1");
        docs["new2"] = Text(rng, "v1");
        WriteJsonl(source, docs);

        // Without --encoder nothing is re-embedded; a dry run with it says it would and writes nothing.
        var dir = Path.Combine(Root, "rxenc");
        var files = Files(dir);
        var dryReport = f.PathOf("rxenc-dry.json");
        var dry = Dss.Ok("reindex", "-c", "rxenc", "--source", source, "--encoder", other, "--dry-run", "--report", dryReport, "--index-root", Root);
        Assert.Contains("would re-embed 'rxenc' first: 40 documents", dry.Stdout);
        Assert.True(Report(dryReport).GetProperty("reembed").GetProperty("dry_run").GetBoolean());
        Assert.Equal(files, Files(dir));
        Dss.Fails("need --encoder", "reindex", "-c", "rxenc", "--source", source, "--chunk-tokens", "8", "--dry-run", "--index-root", Root);
        Dss.Fails("no-such-encoder", "reindex", "-c", "rxenc", "--source", source, "--encoder", f.PathOf("no-such-encoder"), "--index-root", Root);
        Assert.Equal(files, Files(dir));

        var report = f.PathOf("rxenc-1.json");
        var run = Dss.Ok("reindex", "-c", "rxenc", "--source", source, "--encoder", other, "--report", report, "--index-root", Root);
        Assert.Contains("re-embedded 'rxenc': 40 documents", run.Stdout);
        Assert.Contains("re-embed", run.Stderr); // the re-embed's progress, through the one renderer
        var json = Report(report);
        Assert.Equal((2, 3, 36, 1), Counts(json));
        var reembed = json.GetProperty("reembed");
        Assert.Equal(before, reembed.GetProperty("from_encoder").GetString());
        Assert.Equal(40, reembed.GetProperty("documents").GetInt64());
        Assert.True(reembed.GetProperty("chunks").GetInt64() >= 40);
        var manifest = store.OpenCurrent().Manifest.Dense!;
        Assert.Equal(48, manifest.Dimension);
        Assert.Equal(reembed.GetProperty("to_encoder").GetString(), manifest.EncoderIdentity);
        Assert.NotEqual(before, manifest.EncoderIdentity);

        // Equal to a fresh build of the same documents with the new encoder.
        Dss.Ok("index", "-c", "rxenc-fresh", "--corpus", source, "--encoder", other, "--index-root", Root, "--chunk-tokens", "16", "--chunk-overlap", "4");
        var fresh = CollectionStore.At(Root, "rxenc-fresh");
        Assert.Equal(fresh.OpenCurrent().Manifest.Dense!.EncoderIdentity, manifest.EncoderIdentity);
        Assert.Equal(Checksum(docs), Checksum(store));
        string[] queries = ["magma crust protein", "market price court", "v1 ocean river", "planet orbit steel"];
        void Compare(SearchMode[] modes)
        {
            using var a = CollectionSearcher.Open(store);
            using var b = CollectionSearcher.Open(fresh);
            foreach (var q in queries)
                foreach (var mode in modes)
                    SameRanking(a.Rank(q, new SearchOptions { Mode = mode, K = 10 }), b.Rank(q, new SearchOptions { Mode = mode, K = 10 }), $"{mode} '{q}'");
        }
        Compare([SearchMode.Dense]);
        // BM25 statistics count the superseded rows until a compaction; after one every mode equals the fresh build.
        Dss.Ok("compact", "-c", "rxenc", "--index-root", Root);
        Compare([SearchMode.Dense, SearchMode.Hybrid, SearchMode.Bm25]);

        // A second run in a row: nothing re-embedded, nothing embedded.
        var report2 = f.PathOf("rxenc-2.json");
        var again = Dss.Ok("reindex", "-c", "rxenc", "--source", source, "--encoder", other, "--report", report2, "--index-root", Root);
        Assert.DoesNotContain("re-embedded", again.Stdout);
        var json2 = Report(report2);
        Assert.True(!json2.TryGetProperty("reembed", out var r2) || r2.ValueKind == JsonValueKind.Null);
        Assert.Equal((0, 0, 41, 0), Counts(json2));
        Assert.Equal(0, json2.GetProperty("chunks_embedded_this_attempt").GetInt64());
        Assert.Equal(manifest.EncoderIdentity, store.OpenCurrent().Manifest.Dense!.EncoderIdentity);
    }

    /// <summary>Equal scores rank by rank (1e-4 relative) and the same document at each rank not tied with a neighbour.</summary>
    static void SameRanking(IReadOnlyList<Hit> x, IReadOnlyList<Hit> y, string what)
    {
        static bool Near(float p, float q) => Math.Abs(p - q) <= 1e-4f * Math.Max(1f, Math.Max(Math.Abs(p), Math.Abs(q)));
        Assert.True(x.Count == y.Count, $"{what}: {x.Count} vs {y.Count} hits");
        for (int i = 0; i < x.Count; i++)
        {
            Assert.True(Near(x[i].Score, y[i].Score), $"{what} rank {i + 1}: {x[i]} vs {y[i]}");
            bool tied = (i > 0 && Near(x[i].Score, x[i - 1].Score)) || (i + 1 < x.Count && Near(x[i].Score, x[i + 1].Score));
            if (!tied) Assert.True(x[i].DocumentId == y[i].DocumentId, $"{what} rank {i + 1}: {x[i]} vs {y[i]}");
        }
    }

    /// <summary>The collection's contents: live ids and content hashes, sorted, as one hash; and the count.</summary>
    static (long, string) Checksum(CollectionStore store)
    {
        using (CollectionWriter.Open(store)) { } // recovery of the killed writer's state, as every writer does
        using var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
        var rows = ds.DocumentsAt(ds.LastSeq).Select(d => $"{d.Id}\t{d.Sha256}").Order(StringComparer.Ordinal).ToList();
        return (rows.Count, Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', rows)))));
    }

    static (long, string) Checksum(Dictionary<string, string> docs)
    {
        var rows = docs.Select(kv => $"{kv.Key}\t{ContentHash.Of(new Document(kv.Key, "", kv.Value))}").Order(StringComparer.Ordinal).ToList();
        return (rows.Count, Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', rows)))));
    }

    /// <summary>A point of a reindex run, by its stderr progress lines: its start line (kill before or as the claim is written), the
    /// read stage's first line, or the n-th line of the write stage (printed at each tenth of the upserts); then a few ms more.</summary>
    internal sealed record KillAt(string Prefix, int Occurrence, int JitterMs)
    {
        public override string ToString() => $"'{Prefix.Trim()}' line {Occurrence} + {JitterMs} ms";
    }

    static KillAt KillPoint(Random rng) => rng.Next(10) switch
    {
        0 => new KillAt("dss: reindexing", 1, rng.Next(0, 200)),
        1 => new KillAt("  read", 1, rng.Next(0, 50)),
        _ => new KillAt("  write", 1 + rng.Next(8), rng.Next(0, 30)),
    };

    /// <summary>CliCrashTests' child dss, SIGKILLed once its stderr reached <paramref name="point"/> unless it exited first; true when it exited.</summary>
    static bool RunAndKill(string[] args, KillAt point)
    {
        int seen = 0;
        return CliCrashTests.RunAndKillWhen(args, line => line.StartsWith(point.Prefix, StringComparison.Ordinal) && ++seen == point.Occurrence, point.JitterMs).Exited;
    }
}
