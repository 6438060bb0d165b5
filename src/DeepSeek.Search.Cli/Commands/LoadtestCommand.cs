using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using DeepSeek.Search.Client;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using Grpc.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss loadtest --server URL`: N concurrent searchers for S seconds against a running dss serve on this machine (loopback
/// only: it is a load generator, not a tool to point at other people's servers), optionally with a writer upserting
/// (and finally deleting) documents of its own at R per second, and optionally the same searches in-process against the
/// index folder for the service's overhead as a ratio. Every response is checked for torn reads (seq never goes back
/// for a searcher; no hit newer than its response's seq). Reports QPS, latency percentiles and errors by status to the
/// console and to <c>OUT/loadtest-NAME.json|md</c>.
/// </summary>
static class LoadtestCommand
{
    public const int MaxConcurrency = 1024;
    public const int MaxDurationSeconds = 3600;
    /// <summary>Most copies the writer sends in one upsert batch.</summary>
    public const int MaxUpsertBatch = 500;

    sealed class Phase(string name)
    {
        public string Name { get; } = name;
        public ConcurrentBag<double> LatenciesMs { get; } = [];
        public ConcurrentDictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);
        public int TornReads;
        public double Seconds;
    }

    public static Command Create()
    {
        var server = QueryCommand.Server();
        var key = QueryCommand.Key();
        var collection = CommonOptions.Collection();
        var queries = new Option<string>("--queries") { Description = "Queries: a BEIR queries.jsonl ({\"_id\", \"text\"}) or a text file, one query per line", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = $"Concurrent searchers (1 to {MaxConcurrency})", DefaultValueFactory = _ => 16 };
        var duration = new Option<int>("--duration") { Description = $"Seconds per phase (1 to {MaxDurationSeconds})", DefaultValueFactory = _ => 30 };
        var upsertRate = new Option<double>("--upsert-rate") { Description = "Documents per second the writer upserts alongside (copies of searched documents under ids loadtest-*, deleted at the end); 0: none", DefaultValueFactory = _ => 0 };
        var mode = CommonOptions.Mode();
        var k = new Option<int>("--k", "-k") { Description = "Hits per search", DefaultValueFactory = _ => 10 };
        var inProcess = new Option<string?>("--in-process") { Description = "An index root holding the same collection: after the service phase, run the same searches in-process (no upserts) and report the ratio" };
        var outDir = new Option<string>("--out") { Description = "Where loadtest-NAME.json and .md are written", DefaultValueFactory = _ => Path.Combine("bench", "results") };
        var name = new Option<string>("--name") { Description = "The report's name", DefaultValueFactory = _ => "service" };

        var cmd = new Command("loadtest", "Load-test a running dss serve on this machine: QPS, p50/p95/p99, errors by status, torn reads.")
        { server, key, collection, queries, concurrency, duration, upsertRate, mode, k, inProcess, outDir, name };
        cmd.SetAction(pr =>
        {
            string address = pr.GetValue(server)!;
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || !(uri.IsLoopback || IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip)))
                throw new InvalidInputException($"--server must be a loopback address (127.0.0.1, ::1, localhost): dss loadtest only loads this machine, got '{address}'") { Setting = "server" };
            int n = pr.GetValue(concurrency), seconds = pr.GetValue(duration), kk = pr.GetValue(k);
            double rate = pr.GetValue(upsertRate);
            if (n < 1 || n > MaxConcurrency) throw new InvalidInputException($"--concurrency must be between 1 and {MaxConcurrency}, got {n}") { Setting = "concurrency" };
            if (seconds < 1 || seconds > MaxDurationSeconds) throw new InvalidInputException($"--duration must be between 1 and {MaxDurationSeconds} seconds, got {seconds}") { Setting = "duration" };
            if (!(rate >= 0 && rate <= 10_000)) throw new InvalidInputException($"--upsert-rate must be between 0 and 10000 documents per second, got {rate}") { Setting = "upsert-rate" };
            string coll = pr.GetValue(collection)!;
            var texts = ReadQueries(pr.GetValue(queries)!);
            var searchMode = CommonOptions.ParseMode(pr.GetValue(mode));
            using var client = QueryCommand.Connect(address, pr.GetValue(key));

            var service = RunService(client, coll, texts, searchMode, kk, n, seconds, rate, out int upserts, out int upsertBatches, out int upsertErrors);
            Phase? local = null;
            if (pr.GetValue(inProcess) is { } root)
            {
                using var searcher = CollectionSearcher.Open(CollectionStore.At(root, coll));
                local = Run("in-process", n, seconds, (i, _) =>
                {
                    searcher.Execute(texts[i % texts.Count], new SearchOptions { Mode = searchMode, K = kk });
                    return true;
                });
            }
            Report(pr.GetValue(outDir)!, pr.GetValue(name)!, address, coll, searchMode, kk, n, seconds, rate, texts.Count, service, local, upserts, upsertBatches, upsertErrors);
            return service.Errors.IsEmpty && service.TornReads == 0 && upsertErrors == 0 ? CliRunner.ExitOk : CliRunner.ExitUnexpected;
        });
        return cmd;
    }

    static List<string> ReadQueries(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"--queries: '{path}' does not exist") { Setting = "queries" };
        var texts = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? QueriesReader.Read(path).Select(q => q.Text).ToList()
            : File.ReadLines(path).Select(l => l.Trim()).ToList();
        texts = texts.Where(t => t.Length > 0).ToList();
        if (texts.Count == 0) throw new InvalidInputException($"--queries: '{path}' holds no query") { Setting = "queries" };
        return texts;
    }

    /// <summary>Up to 64 documents the searches find (the top 3 of the first queries), read once: what the writer copies.</summary>
    static List<Proto.Document> Originals(SearchClient client, string collection, List<string> texts, SearchMode? mode)
    {
        var ids = new List<string>();
        foreach (var q in texts.Take(32))
        {
            var r = client.SearchAsync(new Proto.SearchRequest { Collection = collection, Query = q, K = 3, Mode = QueryCommand.Mode(mode), SnippetChars = 0 }).GetAwaiter().GetResult();
            foreach (var h in r.Hits)
                if (!h.Id.StartsWith("loadtest-", StringComparison.Ordinal) && !ids.Contains(h.Id) && ids.Count < 64) ids.Add(h.Id);
        }
        if (ids.Count == 0) throw new InvalidInputException($"the first queries find no document in '{collection}' to copy for --upsert-rate") { Setting = "upsert-rate" };
        return ids.Select(id => client.GetDocumentAsync(collection, id).GetAwaiter().GetResult().Document).ToList();
    }

    static Phase RunService(SearchClient client, string collection, List<string> texts, SearchMode? mode, int k, int n, int seconds, double rate,
        out int upserts, out int upsertBatches, out int upsertErrors)
    {
        using var stop = new CancellationTokenSource();
        int written = 0, writeErrors = 0, batches = 0;
        var ours = new ConcurrentBag<string>();
        Task writer = Task.CompletedTask;
        if (rate > 0)
        {
            // the documents the writer copies, read before the clock starts (so the writer's own reads do not queue behind the searchers)
            var originals = Originals(client, collection, texts, mode);
            writer = Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                int sent = 0;
                string run = Guid.NewGuid().ToString("N")[..8];
                while (!stop.IsCancellationRequested)
                {
                    // every round sends, as one batch, the copies due by now, at most one second's worth (so writes stay steady rather
                    // than bursty); a writer slower than the rate falls behind, and the report shows the rate it reached
                    int due = Math.Min(Math.Min(MaxUpsertBatch, Math.Max(1, (int)Math.Ceiling(rate))), (int)(clock.Elapsed.TotalSeconds * rate) - sent);
                    if (due <= 0) { await Task.Delay(5, CancellationToken.None); continue; }
                    try
                    {
                        var batch = new List<Proto.Document>(due);
                        for (int j = 0; j < due; j++)
                        {
                            var d = originals[(sent + j) % originals.Count];
                            batch.Add(new Proto.Document { Id = $"loadtest-{run}-{sent + j}", Title = d.Title, Text = d.Text + $" (load test copy {sent + j})", Metadata = d.Metadata });
                        }
                        await client.UpsertAsync(collection, [batch]);
                        foreach (var c in batch) ours.Add(c.Id);
                        Interlocked.Add(ref written, batch.Count);
                        Interlocked.Increment(ref batches);
                    }
                    catch (RpcException) { Interlocked.Increment(ref writeErrors); }
                    sent += due;
                }
            });
        }
        var lastSeq = new long[n];
        var phase = Run("service", n, seconds, (i, worker) =>
        {
            var request = new Proto.SearchRequest { Collection = collection, Query = texts[i % texts.Count], K = k, Mode = QueryCommand.Mode(mode), SnippetChars = 0 };
            var r = client.SearchAsync(request, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            bool torn = r.Seq < lastSeq[worker] || r.Hits.Any(h => h.Version > r.Seq);
            lastSeq[worker] = Math.Max(lastSeq[worker], r.Seq);
            return !torn;
        });
        stop.Cancel();
        writer.GetAwaiter().GetResult();
        // Leave the collection as it was: delete the copies (in batches the server accepts).
        foreach (var chunk in ours.Chunk(500))
        {
            try { client.DeleteAsync(collection, chunk).GetAwaiter().GetResult(); }
            catch (RpcException) { writeErrors++; }
        }
        upserts = written;
        upsertBatches = batches;
        upsertErrors = writeErrors;
        return phase;
    }

    /// <summary><paramref name="n"/> loops calling <paramref name="call"/> (query index, worker) for <paramref name="seconds"/>; false from it is a torn read.</summary>
    static Phase Run(string name, int n, int seconds, Func<int, int, bool> call)
    {
        var phase = new Phase(name);
        var end = Stopwatch.StartNew();
        int next = 0;
        var threads = Enumerable.Range(0, n).Select(w => new Thread(() =>
        {
            while (end.Elapsed.TotalSeconds < seconds)
            {
                int i = Interlocked.Increment(ref next);
                long t0 = Stopwatch.GetTimestamp();
                try
                {
                    if (!call(i, w)) Interlocked.Increment(ref phase.TornReads);
                    phase.LatenciesMs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
                catch (RpcException e) { phase.Errors.AddOrUpdate(e.StatusCode.ToString(), 1, (_, c) => c + 1); }
                catch (SearchException e) { phase.Errors.AddOrUpdate(e.GetType().Name, 1, (_, c) => c + 1); }
            }
        }) { IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        phase.Seconds = end.Elapsed.TotalSeconds;
        return phase;
    }

    /// <summary>Core's nearest-rank percentile of sorted latencies, <paramref name="percent"/> in (0, 100]; 0 when none were measured.</summary>
    static double Percentile(double[] sorted, double percent) => sorted.Length == 0 ? 0 : Percentiles.NearestRankOfSorted(sorted, percent);

    static object Summary(Phase p)
    {
        var s = p.LatenciesMs.Order().ToArray();
        return new
        {
            phase = p.Name, seconds = Math.Round(p.Seconds, 2), searches = s.Length, qps = Math.Round(s.Length / Math.Max(p.Seconds, 1e-9), 1),
            p50_ms = Math.Round(Percentile(s, 50), 2), p95_ms = Math.Round(Percentile(s, 95), 2), p99_ms = Math.Round(Percentile(s, 99), 2),
            max_ms = Math.Round(s.Length == 0 ? 0 : s[^1], 2), errors = p.Errors.ToDictionary(kv => kv.Key, kv => kv.Value), torn_reads = p.TornReads,
        };
    }

    static void Report(string outDir, string name, string address, string collection, SearchMode? mode, int k, int n, int seconds, double rate, int queries,
        Phase service, Phase? local, int upserts, int upsertBatches, int upsertErrors)
    {
        if (name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new InvalidInputException($"--name may hold letters, digits, '-' and '_' only, got '{name}'") { Setting = "name" };
        var sv = Summary(service);
        var lv = local is null ? null : Summary(local);
        double sq = service.LatenciesMs.Count / Math.Max(service.Seconds, 1e-9);
        double? ratio = local is null || local.LatenciesMs.IsEmpty ? null : Math.Round(sq / (local.LatenciesMs.Count / Math.Max(local.Seconds, 1e-9)), 3);
        var report = new
        {
            server = address, collection, mode = mode?.ToString().ToLowerInvariant() ?? "default", k, concurrency = n, duration_s = seconds,
            upsert_rate = rate, upserts_acknowledged = upserts, upsert_batches = upsertBatches, upsert_errors = upsertErrors, distinct_queries = queries,
            machine = $"{Environment.ProcessorCount} cores", when_utc = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture),
            service = sv, in_process = lv, service_to_in_process_qps = ratio,
        };
        Directory.CreateDirectory(outDir);
        string json = Path.Combine(outDir, $"loadtest-{name}.json"), md = Path.Combine(outDir, $"loadtest-{name}.md");
        AtomicFile.WriteAllText(json, Json.Serialize(report) + "\n");
        var lines = new List<string>
        {
            $"# dss loadtest: {collection}, {report.mode}, k = {k}, {n} concurrent searchers × {seconds} s, upserts {rate}/s asked ({upserts} documents acknowledged in {upsertBatches} batches: {upserts / Math.Max(service.Seconds, 1e-9):F1}/s)", "",
            "| phase | searches | QPS | p50 ms | p95 ms | p99 ms | max ms | errors | torn reads |", "|---|---|---|---|---|---|---|---|---|",
        };
        foreach (var p in new[] { service, local }.OfType<Phase>())
        {
            var s = p.LatenciesMs.Order().ToArray();
            string errors = p.Errors.IsEmpty ? "0" : string.Join(", ", p.Errors.Select(kv => $"{kv.Key} {kv.Value}"));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| {p.Name} | {s.Length} | {s.Length / Math.Max(p.Seconds, 1e-9):F1} | {Percentile(s, 50):F1} | {Percentile(s, 95):F1} | {Percentile(s, 99):F1} | {(s.Length == 0 ? 0 : s[^1]):F1} | {errors} | {p.TornReads} |"));
        }
        if (ratio is { } r) lines.Add(string.Create(CultureInfo.InvariantCulture, $"\nservice QPS / in-process QPS = {r:F3} (same searches, same concurrency, one after the other; {report.machine})"));
        AtomicFile.WriteAllText(md, string.Join('\n', lines) + "\n");
        foreach (var l in lines.Skip(2)) Console.WriteLine(l);
        Console.WriteLine($"wrote {json} and {md}");
    }
}
