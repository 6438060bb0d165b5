using DeepSeek.Search.Encode;
using System.Diagnostics;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "live": the live write path on SciFact. Upsert throughput (documents/s, batches of 100; BM25 only and with the default
/// encoder, minilm-l6), delete throughput, search latency p50/p99 with and without a writer upserting beside it (same
/// run, alternating phases), and acknowledgement-to-visible time (a second searcher polls for a batch's marker term
/// right after the upsert returns). Then bulk builds of synthetic corpora with random 384-d vectors (100k and 1M chunks;
/// 100k only with --quick), each in a child process so its peak resident memory (VmHWM) is its own.
/// </summary>
public sealed class LiveBench : IBenchSuite
{
    public string Name => "live";

    public BenchReport Run(BenchContext context)
    {
        var report = new BenchReport { Title = "Live collections: upserts, deletes, searches while writing, bulk builds" };
        string? folder = context.SharedDir is null ? null : Path.Combine(context.SharedDir, "data", "scifact");
        string root = Path.Combine(Path.GetTempPath(), $"dss-bench-live-{Guid.NewGuid():N}");
        try
        {
            if (folder is null || !File.Exists(Path.Combine(folder, "corpus.jsonl")))
                report.Notes.Add($"SciFact not found ({folder ?? "no --shared"}): upsert/search rows skipped");
            else
            {
                var data = BeirDataset.Load(folder, "test");
                var docs = data.Corpus.ToList();
                var queries = data.Queries.Select(q => q.Text).ToList();
                WriteSuite(report, root, "bm25", docs, queries, null, context.Quick);
                var encoder = PretrainedEncoders.EnsureCached(PretrainedEncoders.MiniLmL6, _ => { });
                WriteSuite(report, root, "minilm-l6", docs.Take(context.Quick ? 200 : 1000).ToList(), queries, encoder, context.Quick);
            }
            foreach (int n in context.Quick ? new[] { 100_000 } : new[] { 100_000, 1_000_000 })
                report.Rows.Add(BulkInChild(root, n));
            report.Notes.Add("upsert/delete: batches of 100, each acknowledged (SQLite WAL fsync + Lucene commit) before the next; docs/s over the whole run");
            report.Notes.Add("search: SciFact test queries, k = 10, hybrid with an encoder else BM25; 'while writing' = a writer upserting batches of 100 meanwhile");
            report.Notes.Add("bulk: synthetic documents of ~12 words, one chunk each, random unit 384-d vectors (IDMap2,Flat) through CollectionBuilder; peak RSS of a child process doing only the build; the FAISS index itself (n × 1,536 bytes) is held in memory until it is written");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
        return report;
    }

    static void WriteSuite(BenchReport report, string root, string label, List<Document> docs, List<string> queries, string? encoder, bool quick)
    {
        var store = CollectionStore.At(root, "live-" + label);
        var options = new WriterOptions { CreateWith = new BuildOptions { EncoderPath = encoder } };
        using var writer = CollectionWriter.Open(store, options);
        var batches = docs.Chunk(100).ToList();
        var sw = Stopwatch.StartNew();
        var perBatch = new List<double>();
        foreach (var b in batches)
        {
            long t0 = Stopwatch.GetTimestamp();
            writer.Upsert(b);
            perBatch.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        double upsertS = sw.Elapsed.TotalSeconds;
        report.Rows.Add(Row($"upsert ({label})", docs.Count, docs.Count / upsertS, "docs/s", perBatch));

        using var searcher = CollectionSearcher.Open(store);
        var mode = encoder == null ? SearchMode.Bm25 : SearchMode.Hybrid;
        var so = new SearchOptions { Mode = mode, K = 10 };
        int n = quick ? 100 : 300;
        foreach (var q in queries.Take(20)) searcher.Rank(q, so); // warm-up

        // Search latency: quiet, then with a writer re-upserting changed copies of documents, alternating 3 times.
        var quiet = new List<double>();
        var busy = new List<double>();
        for (int round = 0; round < 3; round++)
        {
            quiet.AddRange(Latencies(searcher, queries.Skip(round * n).Take(n), so));
            using var stop = new CancellationTokenSource();
            int written = 0;
            var w = Task.Run(() =>
            {
                int i = 0;
                while (!stop.IsCancellationRequested)
                {
                    var part = docs.Skip((i * 100) % Math.Max(1, docs.Count - 100)).Take(100).Select(d => d with { Text = d.Text + $" rev{round}x{i}" }).ToList();
                    writer.Upsert(part);
                    Interlocked.Increment(ref written);
                    i++;
                }
            });
            busy.AddRange(Latencies(searcher, queries.Skip(round * n).Take(n), so));
            stop.Cancel();
            w.Wait();
        }
        report.Rows.Add(Row($"search {mode.ToString().ToLowerInvariant()} ({label}), quiet", quiet.Count, 1000 / Stats.Median(quiet), "queries/s", quiet));
        report.Rows.Add(Row($"search {mode.ToString().ToLowerInvariant()} ({label}), while writing", busy.Count, 1000 / Stats.Median(busy), "queries/s", busy));

        // Acknowledgement to visible: a marker term per batch, polled by a second searcher.
        using var other = CollectionSearcher.Open(store);
        var visible = new List<double>();
        for (int i = 0; i < (quick ? 10 : 30); i++)
        {
            string marker = $"zqmarker{i}x{label.Length}";
            writer.Upsert([new Document($"marker-{i}", "", marker + " visibility probe")]);
            long t0 = Stopwatch.GetTimestamp();
            while (other.Rank(marker, new SearchOptions { Mode = SearchMode.Bm25, K = 1 }).Count == 0) { }
            visible.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        report.Rows.Add(Row($"ack → visible in another searcher ({label})", visible.Count, Stats.Median(visible), "ms (median)", visible));

        // Deletes, batches of 100.
        var ids = docs.Select(d => d.Id).ToList();
        var del = new List<double>();
        sw.Restart();
        foreach (var b in ids.Chunk(100))
        {
            long t0 = Stopwatch.GetTimestamp();
            writer.Delete(b);
            del.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        report.Rows.Add(Row($"delete ({label})", ids.Count, ids.Count / sw.Elapsed.TotalSeconds, "docs/s", del));
    }

    static List<double> Latencies(CollectionSearcher s, IEnumerable<string> queries, SearchOptions o)
    {
        var list = new List<double>();
        foreach (var q in queries)
        {
            long t0 = Stopwatch.GetTimestamp();
            s.Rank(q, o);
            list.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return list;
    }

    static Dictionary<string, object> Row(string what, int count, double rate, string unit, List<double> ms) => new()
    {
        ["measure"] = what,
        ["n"] = count,
        ["rate"] = rate,
        ["unit"] = unit,
        ["p50_ms"] = Stats.Median(ms),
        ["p99_ms"] = Stats.Percentile(ms, 99),
    };

    static Dictionary<string, object> BulkInChild(string root, int n)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(LiveBench).Assembly.Location);
        psi.ArgumentList.Add("--child-bulk");
        psi.ArgumentList.Add(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(Path.Combine(root, $"bulk-{n}"));
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"bulk build child failed ({p.ExitCode}): {output}");
        var r = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        double seconds = r.GetProperty("seconds").GetDouble();
        long peak = r.GetProperty("peak_kib").GetInt64();
        return new Dictionary<string, object>
        {
            ["measure"] = $"bulk build, {n:N0} synthetic chunks",
            ["n"] = n,
            ["rate"] = n / seconds,
            ["unit"] = "docs/s",
            ["seconds"] = seconds,
            ["peak_rss_mib"] = peak / 1024.0,
            ["peak_rss_minus_vectors_mib"] = (peak * 1024.0 - n * 384 * 4.0) / (1 << 20),
        };
    }

    /// <summary>The child: one bulk build of <paramref name="n"/> synthetic documents with random vectors; prints seconds and VmHWM.</summary>
    public static int RunChild(int n, string dir)
    {
        var store = CollectionStore.At(dir, "bulk");
        var sw = Stopwatch.StartNew();
        using var embedder = new RandomEmbedder(384);
        CollectionBuilder.BuildWith(store, Synthetic(n), new BuildOptions(), embedder);
        double seconds = sw.Elapsed.TotalSeconds;
        long peak = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)).Single();
        Console.WriteLine(JsonSerializer.Serialize(new { seconds, peak_kib = peak }));
        return 0;
    }

    static readonly string[] Words = "protein cell gene virus immune lava basalt magma crust ocean river forest carbon climate energy solar market price trade bank credit court law judge music planet orbit bridge steel railway".Split(' ');

    static IEnumerable<Document> Synthetic(int n)
    {
        var rng = new Random(1);
        for (int i = 0; i < n; i++)
            yield return new Document($"s{i}", "", string.Join(' ', Enumerable.Range(0, 12).Select(_ => Words[rng.Next(Words.Length)])) + $" n{i}");
    }

    /// <summary>One chunk per document, a seeded random unit vector per chunk: a build's cost without an encoder's.</summary>
    sealed class RandomEmbedder(int dimension) : IChunkEmbedder
    {
        readonly Random _rng = new(7);
        public int Dimension => dimension;
        public int Window => 0;
        public int Overlap => 0;
        public string Identity => "random";
        public string Pooling => "none";
        public bool Normalize => true;
        public EncoderPrecision Precision => EncoderPrecision.Float32;
        public IReadOnlyList<Chunk> Chunk(Document d, long first) => [new Chunk(first, d.Id, 0, 0, d.Text.Length, d.Text)];
        public float[] Encode(IReadOnlyList<string> texts)
        {
            var v = new float[texts.Count * dimension];
            for (int i = 0; i < texts.Count; i++)
            {
                double norm = 0;
                for (int j = 0; j < dimension; j++) { float x = (float)(_rng.NextDouble() * 2 - 1); v[i * dimension + j] = x; norm += x * x; }
                float inv = (float)(1 / Math.Sqrt(norm));
                for (int j = 0; j < dimension; j++) v[i * dimension + j] *= inv;
            }
            return v;
        }
        public void Dispose() { }
    }
}
