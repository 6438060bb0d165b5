using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Xunit.Abstractions;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// The durability promise, tested the hard way: a real `dss` writer (upsert, delete, compact, bulk index) is killed with
/// SIGKILL at a random moment, again and again; after each kill the collection is reopened and must hold every
/// acknowledged batch at its latest version, no deleted document, no unacknowledged batch in part (the one in flight may
/// be there whole, or not at all), and agree across Lucene, FAISS and the store.
/// </summary>
public sealed partial class CliCrashTests(ITestOutputHelper output)
{
    const int Kills = 24;

    [Fact]
    public void Kill_9_at_random_points_loses_no_acknowledged_batch_and_leaves_no_partial_one()
    {
        int seed = Environment.GetEnvironmentVariable("DSS_CRASH_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount;
        output.WriteLine($"seed {seed} (DSS_CRASH_SEED reruns it)");
        var rng = new Random(seed);
        using var tmp = new TempDir("dss-crash");
        var encoder = tmp.File("encoder");
        CliFixture.CopyTinyEncoder(encoder);
        var root = tmp.File("indexes");
        var store = CollectionStore.At(root, "c");

        var model = Docs("d", 150, 0, rng);
        WriteCorpus(tmp.File("initial.jsonl"), model);
        Dss.Ok("index", "-c", "c", "--corpus", tmp.File("initial.jsonl"), "--encoder", encoder, "--index-root", root, "--chunk-tokens", "16", "--chunk-overlap", "4");
        Verify(store, [model], "initial build", seed);

        var killed = new Dictionary<string, int>();
        var fastest = new Dictionary<string, int>();
        for (int round = 1; round <= Kills; round++)
        {
            string op = (round % 6) switch { 0 => "index", 3 => "compact", 1 or 4 => "upsert", _ => "delete" };
            var candidates = new List<Dictionary<string, string>>();
            string[] args;
            Func<IReadOnlyList<string>, List<Dictionary<string, string>>> expect;
            switch (op)
            {
                case "upsert":
                {
                    // Replaces some documents, adds new ones; 15 per batch.
                    var batchDocs = Enumerable.Range(0, 240).Select(i => rng.Next(3) == 0 && model.Count > 0
                        ? model.Keys.ElementAt(rng.Next(model.Count)) : $"u{rng.Next(400)}").Distinct().ToList();
                    var docs = batchDocs.Select(id => (id, Text(rng, round))).ToList();
                    var file = tmp.File($"upsert-{round}.jsonl");
                    WriteCorpus(file, docs.ToDictionary(d => d.id, d => d.Item2));
                    args = ["upsert", "-c", "c", "--input", file, "--batch-size", "15", "--index-root", root];
                    expect = acks =>
                    {
                        // "acknowledged batch N: ..." or "batch N: nothing to write ..." (all unchanged): N batches are done.
                        int acked = acks.Select(l => BatchLine().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
                        var after = new Dictionary<string, string>(model);
                        foreach (var (id, text) in docs.Take(acked * 15)) after[id] = text;
                        var withNext = new Dictionary<string, string>(after);
                        foreach (var (id, text) in docs.Skip(acked * 15).Take(15)) withNext[id] = text;
                        return [after, withNext];
                    };
                    break;
                }
                case "delete":
                {
                    var ids = model.Keys.OrderBy(_ => rng.Next()).Take(Math.Min(25, model.Count)).ToList();
                    var file = tmp.File($"delete-{round}.txt");
                    File.WriteAllLines(file, ids);
                    args = ["delete", "-c", "c", "--ids-file", file, "--index-root", root];
                    expect = acks =>
                    {
                        var after = new Dictionary<string, string>(model);
                        foreach (var id in ids) after.Remove(id);
                        return acks.Any(l => l.StartsWith("acknowledged batch", StringComparison.Ordinal)) ? [after] : [model, after];
                    };
                    break;
                }
                case "compact":
                    args = ["compact", "-c", "c", "--index-root", root];
                    expect = _ => [model];
                    break;
                default:
                {
                    var fresh = Docs("r", 400, round, rng);
                    var file = tmp.File($"index-{round}.jsonl");
                    WriteCorpus(file, fresh);
                    args = ["index", "-c", "c", "--corpus", file, "--encoder", encoder, "--index-root", root, "--chunk-tokens", "16", "--chunk-overlap", "4"];
                    expect = acks => acks.Any(l => l.StartsWith("indexed ", StringComparison.Ordinal)) ? [fresh] : [model, fresh];
                    break;
                }
            }
            // Bulk builds and compactions are short: aim the kill inside them more often. Once an operation has been seen to
            // finish first, its kills are drawn within the quickest run of it seen (so a faster machine or build still gets
            // its kills in, rather than the operations outrunning a fixed schedule).
            int upper = op is "index" or "compact" ? 1300 : 2600;
            if (fastest.TryGetValue(op, out int quickest)) upper = Math.Min(upper, Math.Max(200, quickest * 9 / 10));
            int delay = rng.Next(150, upper);
            var clock = Stopwatch.StartNew();
            var (lines, exited, stderr) = RunAndKill(args, delay);
            if (exited) fastest[op] = Math.Min(fastest.GetValueOrDefault(op, int.MaxValue), (int)clock.ElapsedMilliseconds);
            killed[op] = killed.GetValueOrDefault(op) + (exited ? 0 : 1);
            output.WriteLine($"round {round}: {op}, kill after {delay} ms: {(exited ? "finished first" : "killed")}, {lines.Count} stdout lines");
            if (exited && !lines.Any(l => l.StartsWith("acknowledged", StringComparison.Ordinal) || l.StartsWith("indexed ", StringComparison.Ordinal) || l.StartsWith("compacted", StringComparison.Ordinal)))
                Assert.Fail($"round {round}: {op} finished without success:\n{string.Join('\n', lines)}\n{stderr}");
            model = Verify(store, expect(lines), $"round {round} ({op}, {delay} ms)", seed);
        }
        output.WriteLine("killed mid-way: " + string.Join(", ", killed.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.True(killed.Values.Sum() >= 12, $"too few kills landed while the writer ran ({killed.Values.Sum()}); seed {seed}");
    }

    /// <summary>Reopens (recovery) and checks that the collection is exactly one of <paramref name="candidates"/>; returns it.</summary>
    static Dictionary<string, string> Verify(CollectionStore store, List<Dictionary<string, string>> candidates, string what, int seed)
    {
        using (var writer = CollectionWriter.Open(store)) { } // takes the lock (the killed one's died with it), replays
        Assert.Empty(Directory.EnumerateDirectories(store.Directory, ".building-*"));
        using var searcher = CollectionSearcher.Open(store);
        var audit = searcher.Audit();
        Assert.True(audit.Problems.Count == 0, $"{what} (seed {seed}): {string.Join("; ", audit.Problems)}");
        var actual = audit.Documents.ToDictionary(kv => kv.Key, kv => kv.Value.Text, StringComparer.Ordinal);
        var match = candidates.FirstOrDefault(c => c.Count == actual.Count && c.All(kv => actual.TryGetValue(kv.Key, out var t) && t == kv.Value));
        if (match == null)
        {
            var c0 = candidates[0];
            var missing = c0.Keys.Where(k => !actual.ContainsKey(k)).Take(5);
            var extra = actual.Keys.Where(k => !c0.ContainsKey(k)).Take(5);
            var stale = c0.Where(kv => actual.TryGetValue(kv.Key, out var t) && t != kv.Value).Select(kv => kv.Key).Take(5);
            Assert.Fail($"{what} (seed {seed}): the collection ({actual.Count} documents) matches none of {candidates.Count} allowed states " +
                        $"(first: {c0.Count} documents; missing {string.Join(",", missing)}; extra {string.Join(",", extra)}; stale {string.Join(",", stale)})");
        }
        // Every mode serves the reopened collection.
        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
            searcher.Rank("magma crust protein", new SearchOptions { Mode = mode, K = 5 });
        return match!;
    }

    internal static (List<string> Lines, bool Exited, string Stderr) RunAndKill(string[] args, int delayMs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dss.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DSS_HOME"] = Dss.Home;
        psi.Environment.Remove("DSS_INDEX_ROOT");
        var lines = new ConcurrentQueue<string>();
        var err = new ConcurrentQueue<string>();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) err.Enqueue(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool exited = p.WaitForExit(delayMs);
        if (!exited)
        {
            p.Kill(); // SIGKILL
            p.WaitForExit();
        }
        p.WaitForExit(); // drain the output handlers
        return (lines.ToList(), exited, string.Join('\n', err));
    }

    /// <summary>
    /// A child dss SIGKILLed <paramref name="jitterMs"/> after the first stderr line for which <paramref name="trigger"/> holds (the
    /// run's own progress, so the kill lands wherever the machine's speed puts it), unless it exited first (then Exited is true).
    /// </summary>
    internal static (List<string> Lines, bool Exited, string Stderr) RunAndKillWhen(string[] args, Func<string, bool> trigger, int jitterMs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dss.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DSS_HOME"] = Dss.Home;
        psi.Environment.Remove("DSS_INDEX_ROOT");
        var lines = new ConcurrentQueue<string>();
        var err = new ConcurrentQueue<string>();
        using var reached = new ManualResetEventSlim();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            err.Enqueue(e.Data);
            if (!reached.IsSet && trigger(e.Data)) reached.Set();
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddMinutes(5);
        bool exited;
        while (true)
        {
            if (reached.Wait(20))
            {
                exited = jitterMs > 0 ? p.WaitForExit(jitterMs) : p.HasExited;
                break;
            }
            if (p.HasExited) { exited = true; break; }
            if (DateTime.UtcNow > deadline) { exited = false; break; }
        }
        if (!exited)
        {
            p.Kill(); // SIGKILL
            p.WaitForExit();
        }
        p.WaitForExit(); // drain the output handlers
        return (lines.ToList(), exited, string.Join('\n', err));
    }

    [GeneratedRegex(@"^(?:acknowledged )?batch (\d+):")]
    private static partial Regex BatchLine();

    static readonly string[] Words = "magma crust lava protein cell gene market price court music planet orbit bridge steel ocean river".Split(' ');

    static string Text(Random rng, int round) =>
        $"round{round} " + string.Join(' ', Enumerable.Range(0, 5 + rng.Next(40)).Select(_ => Words[rng.Next(Words.Length)])) + $" n{rng.Next(1_000_000)}";

    static Dictionary<string, string> Docs(string prefix, int n, int round, Random rng) =>
        Enumerable.Range(0, n).ToDictionary(i => $"{prefix}{i}", _ => Text(rng, round));

    static void WriteCorpus(string file, Dictionary<string, string> docs) =>
        File.WriteAllLines(file, docs.Select(kv => JsonSerializer.Serialize(new { id = kv.Key, title = "", text = kv.Value })));
}
