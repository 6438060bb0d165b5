using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "scale": hybrid search on a collection of 1,000,000 chunks (--quick: 20,000) on this machine — recall@10 of the dense side
/// against exact search, and hybrid latency p50 / p99 and QPS at 1, 4 and 16 concurrent searchers, in process and through
/// <c>dss serve</c> (driven by <c>dss loadtest</c>).
/// <para>
/// The chunks are SciFact-like and synthetic, since encoding a million texts would take this CPU hours: chunk j takes about
/// 50 words of one SciFact document a and 25 of another b (both drawn from j's seed), and its vector is
/// normalise(0.8·e_a + 0.4·e_b + 0.35·g), e the documents' real minilm-l6 embeddings and g Gaussian noise of unit norm, so that
/// text and vector agree and every real document has a neighbourhood of about 200 variants. The queries are SciFact's real
/// ones, encoded by the collection's real query encoder (INT8, <c>--query-precision int8</c>). The collection is an ordinary
/// one (Lucene BM25, SQLite store, FAISS IVF1024,Flat), built through <see cref="CollectionBuilder"/> and cached under
/// bench/cache/ (a build takes minutes).
/// </para>
/// <para>
/// nprobe is chosen on SciFact's train queries (the smallest of the sweep with recall@10 ≥ 0.95 there); the latencies and the
/// recall reported are on the test queries.
/// </para>
/// </summary>
public sealed class ScaleBench : IBenchSuite
{
    const int K = 10;
    const string Factory = "IVF1024,Flat";
    const string Recipe = "v1";
    static readonly int[] Probes = [4, 8, 16, 32, 64];
    static readonly int[] Concurrency = [1, 4, 16];

    public string Name => "scale";

    public BenchReport Run(BenchContext context)
    {
        int n = context.Quick ? 20_000 : 1_000_000;
        var report = new BenchReport { Title = $"Hybrid search at scale: {n:N0} SciFact-like chunks, k = {K}, 2 cores" };
        string? folder = context.SharedDir is null ? null : Path.Combine(context.SharedDir, "data", "scifact");
        if (folder is null || !Directory.Exists(folder))
        {
            report.Notes.Add("skipped: pass --shared DIR with data/scifact (BEIR format)");
            return report;
        }
        var test = BeirDataset.Load(folder, "test");
        var train = BeirDataset.Load(folder, "train");
        var corpus = test.Corpus.ToList();
        var (embeddings, _, d) = AnnBench.Embeddings(folder, quick: false);
        var pulled = PretrainedEncoders.Pull(PretrainedEncoders.MiniLmL6);
        var recipe = new Synthetic(corpus.Select(c => TextChunker.ComposeText(c.Title, c.Text).Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray(), embeddings, d);

        var store = Build(recipe, pulled.Directory, n, context.Quick);
        var testQueries = test.JudgedQueries.Select(q => q.Text).ToList();
        var trainQueries = train.JudgedQueries.Select(q => q.Text).ToList();
        report.Environment["chunks"] = n;
        report.Environment["index"] = FactoryFor(context.Quick);
        report.Environment["collection"] = store.Directory;
        report.Environment["test_queries"] = testQueries.Count;
        report.Environment["train_queries"] = trainQueries.Count;

        // Exact top 10 of every query, with the vectors the INT8 query encoder gives (the same the searcher will compute).
        long[][] testTruth, trainTruth;
        float[][] testVectors;
        using (var encoder = TextEncoder.Load(store.OpenCurrent().Directory is var dir ? Path.Combine(dir, CollectionStore.EncoderFolderName) : "",
                   new EncoderOptions { Precision = EncoderPrecision.Int8 }))
        using (var exact = FaissIndex.Create(d))
        {
            Console.WriteLine($"  exact search index: regenerating {n:N0} vectors");
            const int slice = 50_000;
            for (int start = 0; start < n; start += slice)
            {
                int count = Math.Min(slice, n - start);
                var rows = new float[(long)count * d];
                for (int j = 0; j < count; j++) recipe.Vector(start + j).CopyTo(rows.AsSpan(j * d, d));
                exact.Add(rows, Enumerable.Range(start, count).Select(x => (long)x).ToArray());
            }
            long[][] Truth(List<string> queries)
            {
                var vectors = encoder.EncodeQueries(queries);
                var flat = new float[(long)vectors.Length * d];
                for (int i = 0; i < vectors.Length; i++) vectors[i].CopyTo(flat, (long)i * d);
                return exact.Search(flat, K).Select(h => h.Select(x => x.Id).ToArray()).ToArray();
            }
            testTruth = Truth(testQueries);
            testVectors = encoder.EncodeQueries(testQueries);
            trainTruth = Truth(trainQueries);
        }

        // nprobe sweep: recall on train (the choice) and on test (the report), dense-only queries one at a time.
        int chosen = Probes[^1];
        foreach (int p in Probes)
        {
            using var searcher = CollectionSearcher.Open(store, denseParameters: $"nprobe={p}", queryPrecision: EncoderPrecision.Int8);
            double trainRecall = Recall(searcher, trainQueries, trainTruth, out _);
            double testRecall = Recall(searcher, testQueries, testTruth, out var denseMs);
            report.Rows.Add(new Dictionary<string, object>
            {
                ["measure"] = $"dense only, nprobe={p}",
                ["train recall@10"] = trainRecall,
                ["test recall@10"] = testRecall,
                ["p50 ms"] = Stats.Percentile(denseMs, 50),
                ["p99 ms"] = Stats.Percentile(denseMs, 99),
                ["QPS"] = 1000.0 / denseMs.Average(),
                ["concurrency"] = 1,
            });
            Console.WriteLine($"  nprobe={p}: recall@10 train {trainRecall:F3}, test {testRecall:F3}, dense p50 {Stats.Percentile(denseMs, 50):F2} ms");
            if (trainRecall >= 0.95 && chosen == Probes[^1]) chosen = p;
        }
        string parameters = $"nprobe={chosen}";
        report.Environment["chosen"] = $"{parameters} (the smallest with train recall@10 >= 0.95)";

        double seconds = context.Quick ? 3 : 20;
        report.Rows.AddRange(DensePeer(store, chosen, testVectors));
        // One reader for both depths, k = 10 first: its first pass is the first use of every term's bounds in this process.
        using (var lexical = Index.Lexical.LexicalIndex.Open(store.OpenCurrent().LexicalPath))
        {
            report.Rows.AddRange(LexicalPeer(lexical, testQueries, K, firstUse: true));
            report.Rows.AddRange(LexicalPeer(lexical, testQueries, new SearchOptions().Depth, firstUse: false));
        }
        using (var searcher = CollectionSearcher.Open(store, denseParameters: parameters, queryPrecision: EncoderPrecision.Int8))
        {
            Warm(searcher, trainQueries);
            report.Rows.Add(Load($"BM25 only, in process", 1, seconds, testQueries, q => searcher.Execute(q, new SearchOptions { Mode = SearchMode.Bm25, K = K })));
            foreach (int c in Concurrency)
                report.Rows.Add(Load($"hybrid, in process, {parameters}, int8 query", c, seconds, testQueries, q =>
                    searcher.Execute(q, new SearchOptions { Mode = SearchMode.Hybrid, K = K })));
        }
        using (var searcher = CollectionSearcher.Open(store, denseParameters: parameters))
        {
            Warm(searcher, trainQueries);
            report.Rows.Add(Load($"hybrid, in process, {parameters}, fp32 query", 1, seconds, testQueries, q =>
                searcher.Execute(q, new SearchOptions { Mode = SearchMode.Hybrid, K = K })));
        }

        ThroughServe(report, store, parameters, testQueries, trainQueries, (int)seconds);

        report.Notes.Add($"chunks: synthetic, SciFact-like (see ScaleBench): ~75 words of two SciFact documents each, vectors from their real " +
                         $"{PretrainedEncoders.DefaultName} embeddings plus noise; queries: SciFact's test queries (train queries choose nprobe).");
        report.Notes.Add("recall@10: share of the exact top 10 (flat inner product over the same vectors, the same INT8 query vectors) that the collection's dense search returns, per query, averaged.");
        report.Notes.Add($"latency: each of C searchers sends the test queries in turn for {seconds:F0} s, after the searcher (or server) answered the train queries once; p50/p99 over all the searches, QPS = searches / wall time. " +
                         "In process: CollectionSearcher.Execute (the service's own call). Through dss serve: dss loadtest against a dss serve child " +
                         "(gRPC over loopback, API key, --Service:QueryPrecision=int8, the same FAISS parameters).");
        return report;
    }

    /// <summary>IVF1024 (about √n lists at 1M); the quick run's 20,000 chunks get IVF64.</summary>
    static string FactoryFor(bool quick) => quick ? "IVF64,Flat" : Factory;

    /// <summary>The cached collection of <paramref name="n"/> synthetic chunks, built now if missing.</summary>
    static CollectionStore Build(Synthetic recipe, string encoderDir, int n, bool quick)
    {
        var (identity, _) = TextEncoder.Describe(encoderDir);
        string root = Path.GetFullPath(Path.Combine("bench", "cache", $"scale-{n}-{Recipe}-{AnnBench.StableName(identity)}"));
        var store = CollectionStore.At(root, "scale");
        if (store.Exists)
        {
            Console.WriteLine($"  collection from {root}");
            return store;
        }
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true); // an interrupted build
        Directory.CreateDirectory(root);
        Console.WriteLine($"  building {n:N0} synthetic chunks into {root} (minutes; cached for the next run)");
        using var encoder = TextEncoder.Load(encoderDir, new EncoderOptions());
        var embedder = new SyntheticEmbedder(recipe, identity, encoder.Pooling.ToString().ToLowerInvariant(), encoder.Normalize);
        var sw = Stopwatch.StartNew();
        var options = new BuildOptions { EncoderPath = encoderDir, Factory = FactoryFor(quick), Source = $"ScaleBench {Recipe}" };
        CollectionBuilder.BuildWith(store, Documents(recipe, n, sw), options, embedder);
        Console.WriteLine($"  built in {sw.Elapsed.TotalSeconds:F0} s");
        return store;
    }

    static IEnumerable<Document> Documents(Synthetic recipe, int n, Stopwatch sw)
    {
        for (int j = 0; j < n; j++)
        {
            if (j > 0 && j % 100_000 == 0) Console.WriteLine($"  {j:N0} / {n:N0} chunks, {j / sw.Elapsed.TotalSeconds:F0}/s");
            yield return new Document($"s{j}", "", recipe.Text(j));
        }
    }

    static double Recall(CollectionSearcher searcher, List<string> queries, long[][] truth, out List<double> ms)
    {
        ms = new List<double>(queries.Count);
        double sum = 0;
        var o = new SearchOptions { Mode = SearchMode.Dense, K = K };
        for (int i = 0; i < queries.Count; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var hits = searcher.Rank(queries[i], o);
            ms.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            var found = hits.Select(h => long.Parse(h.DocumentId.AsSpan(1), CultureInfo.InvariantCulture)).ToHashSet();
            sum += truth[i].Length == 0 ? 1 : truth[i].Count(found.Contains) / (double)truth[i].Length;
        }
        return sum / queries.Count;
    }

    /// <summary>The lexical index alone against Lucene's exhaustive scorer (<see cref="LexicalComparison"/>): a row per side and the first pass.</summary>
    static List<Dictionary<string, object>> LexicalPeer(Index.Lexical.LexicalIndex index, List<string> queries, int depth, bool firstUse)
    {
        var c = LexicalComparison.Run(index, queries, depth);
        var sides = new List<(string, List<double>)> { ("MaxScore (ours)", c.Ours), ("Lucene 4.8 exhaustive BooleanQuery (peer)", c.Lucene) };
        if (firstUse) sides.Insert(1, ("MaxScore (ours), first pass: each term's bounds computed on first use", c.FirstPass));
        return sides.ConvertAll(side => PeerRow($"BM25 of the lexical index alone, k={depth}, {side.Item1}", side.Item2, c.Lucene));
    }

    /// <summary>
    /// The dense side alone on the collection's FAISS file, one query vector at a time at depth 208 (what a hybrid search of
    /// depth 100 fetches): our scan of the probed lists (<see cref="FaissIndex.UseFlatScan"/>) against FAISS 1.7.3's own IVF
    /// search with parallel_mode=1 (its lists split over both cores by OpenMP; its default, 0, scans a lone query on one
    /// thread), alternating query by query over three passes after a warm-up pass, with the check that both find the same ids.
    /// </summary>
    static List<Dictionary<string, object>> DensePeer(CollectionStore store, int nprobe, float[][] vectors)
    {
        const int Fetch = 208;
        using var index = FaissIndex.Read(store.OpenCurrent().DensePath);
        index.SetSearchParameters($"nprobe={nprobe},parallel_mode=1");
        var ours = new List<double>();
        var faiss = new List<double>();
        int differ = 0;
        for (int pass = 0; pass < 4; pass++)
            foreach (var v in vectors)
            {
                bool oursFirst = pass % 2 == 0;
                DenseHit[]? a = null, b = null;
                for (int side = 0; side < 2; side++)
                {
                    bool mine = (side == 0) == oursFirst;
                    index.UseFlatScan = mine;
                    long t0 = Stopwatch.GetTimestamp();
                    var hits = index.Search(v, Fetch)[0];
                    double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    if (mine) a = hits; else b = hits;
                    if (pass > 0) (mine ? ours : faiss).Add(ms);
                }
                if (pass == 0 && !a!.Take(10).Select(h => h.Id).SequenceEqual(b!.Take(10).Select(h => h.Id))) differ++;
            }
        index.UseFlatScan = true;
        double ratio = Stats.Percentile(faiss, 50) / Stats.Percentile(ours, 50);
        Console.WriteLine($"  dense k={Fetch}, nprobe={nprobe}: ours p50 {Stats.Percentile(ours, 50):F2} ms / p99 {Stats.Percentile(ours, 99):F2}, FAISS parallel_mode=1 p50 {Stats.Percentile(faiss, 50):F2} / p99 {Stats.Percentile(faiss, 99):F2} ({ratio:F2}x), top 10 differ on {differ} queries");
        var rows = new List<Dictionary<string, object>>();
        foreach (var (name, ms) in new[] { ("our scan of the probed lists", ours), ("FAISS 1.7.3 IVF search, parallel_mode=1 (peer)", faiss) })
        {
            var row = PeerRow($"dense side alone, nprobe={nprobe}, k={Fetch}, {name}", ms, faiss);
            row["top 10 differ"] = differ;
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A row of one side of an alternating comparison, one query at a time: its latencies and its speed-up over the peer's median.</summary>
    static Dictionary<string, object> PeerRow(string measure, List<double> ms, List<double> peer) => new()
    {
        ["measure"] = measure,
        ["p50 ms"] = Stats.Percentile(ms, 50),
        ["p99 ms"] = Stats.Percentile(ms, 99),
        ["QPS"] = 1000.0 / ms.Average(),
        ["concurrency"] = 1,
        ["searches"] = ms.Count,
        ["speed-up (p50, vs peer)"] = Stats.Percentile(peer, 50) / Stats.Percentile(ms, 50),
    };

    /// <summary>
    /// A fresh searcher's warm-up before its load rows: one hybrid search of each train query (never the test queries the rows
    /// send), so that the BM25 bounds of the collection's frequent terms are computed, as in a server that has been answering
    /// for a while; a term first seen in a test query still pays for its bounds in the measured searches.
    /// </summary>
    static void Warm(CollectionSearcher searcher, List<string> trainQueries)
    {
        foreach (var q in trainQueries) searcher.Execute(q, new SearchOptions { Mode = SearchMode.Hybrid, K = K });
    }

    /// <summary><paramref name="concurrency"/> threads searching for <paramref name="seconds"/>; latency percentiles and QPS.</summary>
    static Dictionary<string, object> Load(string name, int concurrency, double seconds, List<string> queries, Func<string, SearchResponse> search)
    {
        for (int i = 0; i < Math.Min(20, queries.Count); i++) search(queries[i]); // warm-up
        // The bench process holds what its earlier rows left (the exact-search index's slices, the peers' readers): collected
        // and compacted now, so that a row measures the searcher rather than the bench's own garbage. The row reports the GC
        // pauses that happened during it.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var pausedBefore = GC.GetTotalPauseDuration();
        int gen2Before = GC.CollectionCount(2);
        var latencies = new List<double>[concurrency];
        var stages = new List<SearchTimings>[concurrency];
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, concurrency).Select(t => new Thread(() =>
        {
            var mine = latencies[t] = new List<double>();
            var timings = stages[t] = new List<SearchTimings>();
            for (int i = t * 37; clock.Elapsed.TotalSeconds < seconds; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                timings.Add(search(queries[i % queries.Count]).Timings);
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        double wall = clock.Elapsed.TotalSeconds;
        double paused = (GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds;
        int gen2 = GC.CollectionCount(2) - gen2Before;
        var all = latencies.SelectMany(l => l).ToList();
        var row = new Dictionary<string, object>
        {
            ["measure"] = name,
            ["concurrency"] = concurrency,
            ["searches"] = all.Count,
            ["QPS"] = all.Count / wall,
            ["p50 ms"] = Stats.Percentile(all, 50),
            ["p99 ms"] = Stats.Percentile(all, 99),
        };
        row["GC pauses ms (gen2 GCs)"] = $"{paused.ToString("F0", CultureInfo.InvariantCulture)} ({gen2})";
        var each = stages.SelectMany(x => x).ToList();
        var parts = new Func<SearchTimings, double>[] { x => x.EncodeMs, x => x.Bm25Ms, x => x.DenseMs, x => x.FetchMs };
        foreach (int pct in new[] { 50, 99 })
            row[$"stages p{pct} ms (encode / bm25 / dense / fetch)"] = string.Join(" / ", parts.Select(f => Stats.Percentile(each.Select(f), pct).ToString("F2", CultureInfo.InvariantCulture)));
        Console.WriteLine($"  {name}, {concurrency} searchers: {all.Count / wall:F1} QPS, p50 {row["p50 ms"]:F2} ms, p99 {row["p99 ms"]:F2} ms");
        return row;
    }

    /// <summary>The same hybrid searches through a <c>dss serve</c> child, driven by <c>dss loadtest</c> (one per concurrency).</summary>
    static void ThroughServe(BenchReport report, CollectionStore store, string parameters, List<string> queries, List<string> trainQueries, int seconds)
    {
        string? dss = FindDss();
        if (dss is null)
        {
            report.Notes.Add("no dss serve rows: bin/dss not found (run make build first)");
            return;
        }
        string work = Directory.CreateTempSubdirectory("dss-bench-scale-").FullName;
        Process? server = null;
        try
        {
            string keys = Path.Combine(work, "keys.json");
            string key = RunDss(dss, ["keys", "add", "--keys", keys, "--principal", "bench", "--right", "read"]).Trim().Split('\n')[^1].Trim();
            string queriesFile = Path.Combine(work, "queries.txt");
            File.WriteAllLines(queriesFile, queries);
            int port = FreePort();
            var psi = new ProcessStartInfo(dss) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "serve", "--index-root", store.Root, "--port", port.ToString(CultureInfo.InvariantCulture), "--keys", keys, "--no-call-log",
                         "--Service:QueryPrecision=int8", $"--Service:Collections:{store.Name}:FaissParameters={parameters}" })
                psi.ArgumentList.Add(a);
            server = Process.Start(psi)!;
            server.ErrorDataReceived += (_, _) => { };
            server.OutputDataReceived += (_, _) => { };
            server.BeginErrorReadLine();
            server.BeginOutputReadLine();
            string address = $"http://127.0.0.1:{port}";
            WaitForPort(port, TimeSpan.FromSeconds(60));
            // the server opens a collection on its first search: a warm-up run on the train queries first (as Warm), not reported
            string trainFile = Path.Combine(work, "train-queries.txt");
            File.WriteAllLines(trainFile, trainQueries);
            RunDss(dss, ["loadtest", "--server", address, "--key", key, "-c", store.Name, "--queries", trainFile, "--concurrency", "1",
                "--duration", "15", "--mode", "hybrid", "-k", K.ToString(CultureInfo.InvariantCulture), "--out", work, "--name", "warm-up"]);
            foreach (int c in Concurrency)
            {
                string name = $"scale-c{c}";
                RunDss(dss, ["loadtest", "--server", address, "--key", key, "-c", store.Name, "--queries", queriesFile, "--concurrency", c.ToString(CultureInfo.InvariantCulture),
                    "--duration", seconds.ToString(CultureInfo.InvariantCulture), "--mode", "hybrid", "-k", K.ToString(CultureInfo.InvariantCulture), "--out", work, "--name", name]);
                var s = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, $"loadtest-{name}.json"))).RootElement.GetProperty("service");
                var row = new Dictionary<string, object>
                {
                    ["measure"] = $"hybrid, through dss serve, {parameters}, int8 query",
                    ["concurrency"] = c,
                    ["searches"] = s.GetProperty("searches").GetInt32(),
                    ["QPS"] = s.GetProperty("qps").GetDouble(),
                    ["p50 ms"] = s.GetProperty("p50_ms").GetDouble(),
                    ["p99 ms"] = s.GetProperty("p99_ms").GetDouble(),
                };
                int errors = s.GetProperty("errors").EnumerateObject().Sum(e => e.Value.GetInt32());
                if (errors > 0) row["errors"] = errors;
                report.Rows.Add(row);
                Console.WriteLine($"  through dss serve, {c} searchers: {row["QPS"]:F1} QPS, p50 {row["p50 ms"]:F2} ms, p99 {row["p99 ms"]:F2} ms");
            }
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill(entireProcessTree: true);
                server.WaitForExit();
            }
            Directory.Delete(work, recursive: true);
        }
    }

    static string? FindDss()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "bin", "dss")) && File.Exists(Path.Combine(dir.FullName, "DeepSeek.Search.sln")))
                return Path.Combine(dir.FullName, "bin", "dss");
        return File.Exists(Path.Combine("bin", "dss")) ? Path.GetFullPath(Path.Combine("bin", "dss")) : null;
    }

    static string RunDss(string dss, string[] args)
    {
        var psi = new ProcessStartInfo(dss) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"dss {string.Join(' ', args.Take(2))} failed ({p.ExitCode}): {stderr.Result}{output}");
        return output;
    }

    static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    static void WaitForPort(int port, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                using var c = new System.Net.Sockets.TcpClient();
                c.Connect(System.Net.IPAddress.Loopback, port);
                return;
            }
            catch (System.Net.Sockets.SocketException) { Thread.Sleep(200); }
        }
        throw new TimeoutException($"dss serve did not listen on port {port} within {timeout.TotalSeconds:F0} s");
    }

    /// <summary>Chunk j's text and vector, both from j's seed (see the type remarks).</summary>
    sealed class Synthetic(string[][] words, float[] embeddings, int dimension)
    {
        public int Dimension => dimension;

        (int A, int OffsetA, int B, int OffsetB, Random Rng) Draw(int j)
        {
            var rng = new Random(unchecked(j * 1_000_003 + 17));
            int a = rng.Next(words.Length), b = rng.Next(words.Length);
            int offA = rng.Next(Math.Max(1, words[a].Length - 50)), offB = rng.Next(Math.Max(1, words[b].Length - 25));
            return (a, offA, b, offB, rng);
        }

        public string Text(int j)
        {
            var (a, offA, b, offB, _) = Draw(j);
            return string.Join(' ', words[a].Skip(offA).Take(50).Concat(words[b].Skip(offB).Take(25)));
        }

        public float[] Vector(int j)
        {
            var (a, _, b, _, rng) = Draw(j);
            var v = new float[dimension];
            double norm = 0, sigma = 0.35 / Math.Sqrt(dimension);
            for (int i = 0; i < dimension; i++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                double x = 0.8 * embeddings[(long)a * dimension + i] + 0.4 * embeddings[(long)b * dimension + i] + sigma * g;
                v[i] = (float)x;
                norm += x * x;
            }
            float inv = (float)(1 / Math.Sqrt(norm));
            for (int i = 0; i < dimension; i++) v[i] *= inv;
            return v;
        }
    }

    /// <summary>One chunk per document, its vector from the recipe (the chunk's document id is s{j}).</summary>
    sealed class SyntheticEmbedder(Synthetic recipe, string identity, string pooling, bool normalize) : IChunkEmbedder
    {
        readonly Dictionary<string, Queue<int>> _pending = new(StringComparer.Ordinal);
        public int Dimension => recipe.Dimension;
        public int Window => 0;
        public int Overlap => 0;
        public string Identity => identity;
        public string Pooling => pooling;
        public bool Normalize => normalize;
        public EncoderPrecision Precision => EncoderPrecision.Float32;

        public IReadOnlyList<Chunk> Chunk(Document d, long first)
        {
            int j = int.Parse(d.Id.AsSpan(1), CultureInfo.InvariantCulture);
            if (!_pending.TryGetValue(d.Text, out var q)) _pending[d.Text] = q = new Queue<int>();
            q.Enqueue(j);
            return [new Chunk(first, d.Id, 0, 0, d.Text.Length, d.Text)];
        }

        public float[] Encode(IReadOnlyList<string> texts)
        {
            int dim = recipe.Dimension;
            var rows = new float[(long)texts.Count * dim];
            for (int i = 0; i < texts.Count; i++)
            {
                var q = _pending[texts[i]];
                int j = q.Dequeue();
                if (q.Count == 0) _pending.Remove(texts[i]);
                recipe.Vector(j).CopyTo(rows, (long)i * dim);
            }
            return rows;
        }

        public void Dispose() { }
    }
}
