using System.Collections.Concurrent;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Xunit.Abstractions;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// Eight readers search in every mode while one writer upserts, deletes and compacts. Every result must be
/// consistent with exactly one committed state: the state after the batch the search reports (its view's sequence
/// number), rebuilt afterwards from the writer's log of acknowledged batches. Each batch writes a marker term
/// ("mkN") into every document it writes, so a BM25 search for a batch's marker must return exactly the documents whose
/// live version that batch wrote: never half a batch, never a deleted or superseded version.
/// The race runs for at least 30 seconds and until the writer has committed 150 batches and the readers have made 150
/// marker searches (at most 5 minutes): on a loaded 2-core machine 30 seconds alone was sometimes too short for one
/// batch. It runs alone (its own collection, parallelization off), so other test classes do not starve it.
/// </summary>
[CollectionDefinition(nameof(ReadersRaceWritersTests), DisableParallelization = true)]
[Collection(nameof(ReadersRaceWritersTests))]
public sealed class ReadersRaceWritersTests(ITestOutputHelper output)
{
    sealed record Batch(long Seq, Dictionary<string, string> Upserts, List<string> Deletes);
    sealed record Observation(long Seq, SearchMode Mode, string Query, IReadOnlyList<SearchHit> Hits, long? MarkerOf);

    [Fact]
    public void Eight_readers_racing_a_writer_through_150_batches_always_see_one_committed_state()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "race");
        var enc = TinyEncoder.Copy(tmp);
        var initial = Enumerable.Range(0, 40).ToDictionary(i => $"p{i}", i => $"mk1 seed document {i} about lava and magma"); // a new collection's build is batch 1
        var built = CollectionBuilder.Build(store, initial.Select(kv => new Document(kv.Key, "", kv.Value)),
            new BuildOptions { EncoderPath = enc, ChunkTokens = 12, ChunkOverlap = 2 });
        long seq0;
        using (var ds = DocumentStore.Open(built.DocumentStorePath)) seq0 = ds.LastSeq;
        Assert.Equal(1, seq0);

        var log = new ConcurrentDictionary<long, Batch>();
        var observations = new ConcurrentBag<Observation>();
        var errors = new ConcurrentQueue<string>();
        using var writer = CollectionWriter.Open(store);
        using var searcher = CollectionSearcher.Open(store);
        var rng = new Random(4242);
        int batches = 0, markerSearches = 0;
        var clock = Stopwatch.StartNew();
        var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        bool Enough() => clock.Elapsed >= TimeSpan.FromSeconds(30) && Volatile.Read(ref batches) >= 150 && Volatile.Read(ref markerSearches) >= 150;

        var writerTask = Task.Run(() =>
        {
            var live = new HashSet<string>(initial.Keys);
            int n = 0;
            Task? compaction = null;
            while (!stop.IsCancellationRequested)
            {
                if (Enough()) { stop.Cancel(); break; }
                n++;
                long next = writer.LastSeq + 1;
                var upserts = new Dictionary<string, string>();
                for (int i = 0; i < 6; i++) upserts[$"p{rng.Next(60)}"] = $"mk{next} doc written by batch {next} pass {n} {(i % 2 == 0 ? "lava magma" : "ocean river")}";
                var r = writer.Upsert(upserts.Select(kv => new Document(kv.Key, "", kv.Value)).ToList());
                log[r.Seq] = new Batch(r.Seq, upserts, []);
                Interlocked.Increment(ref batches);
                foreach (var id in upserts.Keys) live.Add(id);
                if (n % 3 == 0 && live.Count > 10)
                {
                    var gone = live.OrderBy(_ => rng.Next()).Take(3).ToList();
                    var d = writer.Delete(gone);
                    log[d.Seq] = new Batch(d.Seq, [], gone);
                    foreach (var id in gone) live.Remove(id);
                }
                // Two compactions during the run, in the background, while this loop keeps writing.
                if ((n == 40 || n == 120) && compaction == null) compaction = Task.Run(() => writer.Compact());
                if (compaction is { IsCompleted: true }) { compaction.Wait(); compaction = null; }
            }
            compaction?.Wait();
        });

        var modes = new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid };
        var readers = Enumerable.Range(0, 8).Select(r => Task.Run(() =>
        {
            var local = new Random(r);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var mode = modes[local.Next(3)];
                    // Either a marker query for a recent batch, or plain words.
                    long last = writer.LastSeq;
                    long marker = Math.Max(seq0, last - local.Next(8));
                    bool markerQuery = mode == SearchMode.Bm25 && local.Next(2) == 0;
                    string q = markerQuery ? $"mk{marker}" : local.Next(2) == 0 ? "lava magma" : "ocean river document";
                    var resp = searcher.Execute(q, new SearchOptions { Mode = mode, K = 100 });
                    observations.Add(new Observation(resp.Seq, mode, q, resp.Hits, markerQuery ? marker : null));
                    if (markerQuery) Interlocked.Increment(ref markerSearches);
                }
                catch (Exception e) { errors.Enqueue(e.ToString()); }
            }
        })).ToArray();
        Task.WaitAll([writerTask, .. readers]);
        Assert.True(errors.IsEmpty, string.Join("\n---\n", errors.Take(3)));

        // Rebuild each observed state from the log and check every observation against it.
        var states = new Dictionary<long, Dictionary<string, (long Version, string Text)>>();
        var state = initial.ToDictionary(kv => kv.Key, kv => (seq0, kv.Value));
        states[seq0] = new(state);
        long maxSeq = log.Keys.DefaultIfEmpty(seq0).Max();
        for (long s = seq0 + 1; s <= maxSeq; s++)
        {
            Assert.True(log.TryGetValue(s, out var b), $"batch {s} missing from the writer's log");
            foreach (var (id, text) in b!.Upserts) state[id] = (s, text);
            foreach (var id in b.Deletes) state.Remove(id);
            states[s] = new(state);
        }
        int checkedHits = 0, markers = 0;
        var seqs = new HashSet<long>();
        foreach (var o in observations)
        {
            Assert.True(states.TryGetValue(o.Seq, out var at), $"a search saw batch {o.Seq}, which was never acknowledged");
            seqs.Add(o.Seq);
            foreach (var h in o.Hits)
            {
                Assert.True(at!.TryGetValue(h.DocumentId, out var v), $"{o.Mode} '{o.Query}' at batch {o.Seq}: '{h.DocumentId}' is not live then");
                Assert.Equal(v.Version, h.Version);
                Assert.Equal(v.Text, h.Text);
                checkedHits++;
            }
            if (o.MarkerOf is long m)
            {
                var expected = at!.Where(kv => kv.Value.Version == m).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(expected, o.Hits.Select(h => h.DocumentId).Order(StringComparer.Ordinal).ToList());
                markers++;
            }
        }
        output.WriteLine($"{observations.Count} searches over {seqs.Count} distinct states, {maxSeq - seq0} batches, {checkedHits} hits and {markers} marker sets checked in {clock.Elapsed.TotalSeconds:F0} s");
        Assert.True(seqs.Count > 20 && markers >= 150 && maxSeq - seq0 >= 150,
            $"the race was too tame after {clock.Elapsed.TotalSeconds:F0} s: {maxSeq - seq0} batches, {seqs.Count} states seen, {markers} marker checks");
        var final = searcher.Audit();
        Assert.Empty(final.Problems);
        Assert.Equal(states[maxSeq].Count, final.Documents.Count);
    }
}
