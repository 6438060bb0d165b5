using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using DeepSeek.Search.Index.Dense;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "faiss": in-process FAISS (through the C-ABI shim) against the memory bandwidth bound and against Python FAISS 1.7.3 on
/// the same machine (../shared/anchors/faiss_cpu_python_debian12.json).
/// <list type="bullet">
/// <item>single-stream read bandwidth of this machine, measured in C# (Vector&lt;float&gt; sum);</item>
/// <item>IDMap2,Flat inner-product search on random unit 384-d vectors (100k and 1M; quick: 20k), batch 1 and 64:
/// queries/s, GB/s scanned (query batches/s × N × d × 4 bytes) and its fraction of the measured bandwidth;</item>
/// <item>IDMap2,HNSW32,Flat (efConstruction 64, as the Python anchor) on 100k (quick: 5k): build time, then recall@10
/// against exact flat search and queries/s (batches of 200) at efSearch 16…256. The build stops early (with a note) when
/// it would take over 6 minutes, keeping a full run under 10 minutes on 2 cores.</item>
/// </list>
/// Vectors are row-major n × d float arrays, generated deterministically (Gaussian, normalised) block by block.
/// </summary>
public sealed class FaissBench : IBenchSuite
{
    const int Dim = 384;
    const int HnswM = 32;
    const int HnswEfConstruction = 64;
    const int CurveQueries = 200;
    const int RecallK = 10;
    static readonly int[] EfSearchValues = [16, 32, 64, 128, 256];
    /// <summary>Keeps the full run under 10 minutes on 2 cores: the HNSW build stops early when projected past this.</summary>
    const double HnswBuildBudgetSeconds = 360;

    /// <summary>Keeps the bandwidth loop's result observable so the JIT cannot drop it.</summary>
    static float _sink;

    public string Name => "faiss";

    public BenchReport Run(BenchContext context)
    {
        bool quick = context.Quick;
        var report = new BenchReport { Title = "FAISS in-process (C-ABI shim over Debian FAISS 1.7.3) vs Python FAISS" };
        var anchors = Anchors.Load(context.SharedDir, report);
        report.Environment["faiss_version"] = FaissIndex.NativeVersion;
        report.Environment["faiss_threads"] = FaissIndex.Threads;
        report.Environment["dimension"] = Dim;

        // (a) memory read bandwidth: the bound for exact flat search at batch 1.
        double bandwidth = ReadBandwidth(quick ? 128 : 512, quick ? 3 : 7);
        AddRow(report, "read bandwidth, 1 stream (C# Vector<float> sum)", bandwidth, "GB/s", anchors.Number("read_bandwidth_GBps"));

        // (b) exact flat inner-product search.
        int[] flatSizes = quick ? [20_000] : [100_000, 1_000_000];
        foreach (int n in flatSizes)
            FlatSearch(report, anchors, n, bandwidth, quick);

        // (c) HNSW build + recall/throughput curve.
        HnswCurve(report, anchors, quick ? 5_000 : 100_000, quick);

        report.Notes.Add($"All FAISS work runs with FAISS's default thread count ({FaissIndex.Threads} here), as the Python anchor did (threads 2).");
        report.Notes.Add("GB/s scanned = query batches per second × N × d × 4 bytes: at batch 1 every query streams the whole matrix, so the " +
                         "measured single-stream read bandwidth bounds it; at batch 64 FAISS switches to BLAS (sgemm) and is compute-bound.");
        report.Notes.Add("Timings are medians of repeated runs (Stats.Time), except the HNSW build, which is one run (too slow to repeat).");
        if (quick) report.Notes.Add("Quick run: 20k flat vectors, no 1M, HNSW on 5k vectors; the Python anchors are for 100k/1M, so no ratios are given for those rows.");
        return report;
    }

    static void FlatSearch(BenchReport report, Anchors anchors, int n, double bandwidth, bool quick)
    {
        using var index = FaissIndex.Create(Dim, "IDMap2,Flat", FaissMetric.InnerProduct);
        AddRandom(index, n, seed: 1);
        var queries = RandomUnit(64, Dim, seed: 2);
        double bytesPerPass = (double)n * Dim * sizeof(float);
        string size = Size(n);

        // Batch 1: a fixed number of single-query calls per timed run (about half a second at the Python anchor's speed).
        int singles = Math.Clamp(3_000_000 / n, 4, 64);
        var batch1 = Stats.Time(() =>
        {
            for (int q = 0; q < singles; q++) index.Search(queries.AsSpan(q % 64 * Dim, Dim), RecallK);
        }, repeats: quick ? 3 : 5);
        double qps1 = singles / Stats.Median(batch1);
        AddFlatRows(report, anchors, $"flat IP {size}×{Dim}, batch 1", $"flat_n{n}_batch1", qps1, qps1 * bytesPerPass, bandwidth);

        // Batch 64: one 64-query call per timed run.
        var batch64 = Stats.Time(() => index.Search(queries, RecallK), repeats: quick ? 3 : n >= 1_000_000 ? 3 : 5);
        double qps64 = 64 / Stats.Median(batch64);
        AddFlatRows(report, anchors, $"flat IP {size}×{Dim}, batch 64", $"flat_n{n}_batch64", qps64, qps64 / 64 * bytesPerPass, bandwidth);
    }

    static void AddFlatRows(BenchReport report, Anchors anchors, string label, string key, double qps, double bytesPerSecond, double bandwidth)
    {
        double gbps = bytesPerSecond / 1e9;
        AddRow(report, label, qps, "queries/s", anchors.Number(key + "_qps"));
        AddRow(report, label + ", scanned", gbps, "GB/s", anchors.Number(key + "_GBps_scanned"));
        double? pythonFraction = anchors.Number(key + "_GBps_scanned") / anchors.Number("read_bandwidth_GBps");
        AddRow(report, label + ", fraction of read bandwidth", gbps / bandwidth, "ratio", pythonFraction);
    }

    static void HnswCurve(BenchReport report, Anchors anchors, int n, bool quick)
    {
        var data = RandomUnit(n, Dim, seed: 1); // the same vectors as the first n of the flat runs
        var ids = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        var queries = RandomUnit(CurveQueries, Dim, seed: 3);

        // Build in tenths, stopping early when the projected build time would break the suite's time budget
        // (Python took 246 s for 100k on an idle machine; a loaded machine can take three times that).
        double budget = quick ? 60 : HnswBuildBudgetSeconds;
        using var index = FaissIndex.Create(Dim, $"IDMap2,HNSW{HnswM},Flat");
        index.SetHnswEfConstruction(HnswEfConstruction);
        int chunk = Math.Max(1000, n / 10), built = 0;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        double build = 0;
        while (built < n)
        {
            int rows = Math.Min(chunk, n - built);
            index.Add(data.AsSpan(built * Dim, rows * Dim), ids.AsSpan(built, rows));
            built += rows;
            build = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (built < n && build / built * n > budget) break;
        }
        if (built < n)
            report.Notes.Add($"HNSW build stopped at {built} of {n} vectors: the projected build time exceeded the {budget:F0} s budget " +
                             "(machine slower or busier than the Python anchor's); HNSW rows are for the smaller graph, without Python ratios.");
        string size = Size(built);
        bool comparable = built == 100_000;
        AddRow(report, $"HNSW{HnswM} build {size}×{Dim} (efConstruction {HnswEfConstruction}, 1 run)", build, "s",
            comparable ? anchors.Number("hnsw32_build_s_100k") : null, lowerIsBetter: true);

        // Ground truth: exact inner-product search over the vectors the graph holds.
        long[][] truth;
        using (var flat = FaissIndex.Create(Dim, "IDMap2,Flat"))
        {
            flat.Add(data.AsSpan(0, built * Dim), ids.AsSpan(0, built));
            truth = flat.Search(queries, RecallK).Select(hits => hits.Select(h => h.Id).ToArray()).ToArray();
        }

        var pythonCurve = comparable ? anchors.Curve() : new Dictionary<int, (double Recall, double Qps)>();
        foreach (int ef in EfSearchValues)
        {
            index.SetSearchParameters($"efSearch={ef}");
            SearchResult? last = null;
            var times = Stats.Time(() => last = index.Search(queries, RecallK), repeats: quick ? 3 : 5);
            double qps = CurveQueries / Stats.Median(times);
            double recall = Enumerable.Range(0, CurveQueries).Average(q =>
            {
                var exact = truth[q].ToHashSet();
                return (double)last![q].Count(h => exact.Contains(h.Id)) / exact.Count;
            });
            bool known = pythonCurve.TryGetValue(ef, out var python);
            AddRow(report, $"HNSW{HnswM} {size} efSearch={ef}, recall@{RecallK}", recall, "recall", known ? python.Recall : null);
            AddRow(report, $"HNSW{HnswM} {size} efSearch={ef}, batch {CurveQueries}", qps, "queries/s", known ? python.Qps : null);
        }
        report.Notes.Add($"HNSW on random unit {Dim}-d vectors is HNSW's worst case (low recall at any efSearch); the curve is for " +
                         "comparison with the Python anchor, not a quality estimate for real embeddings.");
    }

    static string Size(int n) =>
        n >= 1_000_000 ? $"{n / 1e6:0.##}M" : n >= 1000 ? $"{n / 1e3:0.#}k" : n.ToString();

    /// <summary>One table row; with a Python figure, also the ratio ours/python (for times, where lower is better, python/ours is "speedup").</summary>
    static void AddRow(BenchReport report, string measure, double value, string unit, double? python, bool lowerIsBetter = false)
    {
        var row = new Dictionary<string, object> { ["measure"] = measure, ["value"] = value, ["unit"] = unit };
        if (python is double p && p > 0)
        {
            row["python 1.7.3"] = p;
            row["ours/python"] = value / p;
            if (lowerIsBetter) row["speedup"] = p / value;
        }
        report.Rows.Add(row);
        Console.WriteLine($"  {measure}: {value:G4} {unit}" + (python is double q ? $" (python {q:G4})" : ""));
    }

    /// <summary>Single-thread sequential read bandwidth: sums a large float array with 4 Vector&lt;float&gt; accumulators.</summary>
    static double ReadBandwidth(int megabytes, int repeats)
    {
        var data = new float[megabytes * (1 << 20) / sizeof(float)];
        Array.Fill(data, 1f); // touch every page before timing
        var times = Stats.Time(() => _sink += Sum(data), repeats, warmup: 1);
        return (double)data.Length * sizeof(float) / Stats.Median(times) / 1e9;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Sum(float[] data)
    {
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(data);
        ref Vector<float> v = ref MemoryMarshal.GetReference(vectors);
        Vector<float> s0 = Vector<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 4 <= vectors.Length; i += 4)
        {
            s0 += Unsafe.Add(ref v, i);
            s1 += Unsafe.Add(ref v, i + 1);
            s2 += Unsafe.Add(ref v, i + 2);
            s3 += Unsafe.Add(ref v, i + 3);
        }
        for (; i < vectors.Length; i++) s0 += vectors[i];
        float total = Vector.Sum(s0 + s1 + s2 + s3);
        for (int j = vectors.Length * Vector<float>.Count; j < data.Length; j++) total += data[j];
        return total;
    }

    /// <summary>Adds n random unit vectors (ids 0..n-1) in blocks, so the 1M run never holds a second full copy.</summary>
    static void AddRandom(FaissIndex index, int n, int seed)
    {
        const int chunk = 65_536; // a multiple of the generator's block size
        for (int start = 0; start < n; start += chunk)
        {
            int rows = Math.Min(chunk, n - start);
            var data = RandomUnit(rows, Dim, seed, firstRow: start);
            var ids = Enumerable.Range(start, rows).Select(i => (long)i).ToArray();
            index.Add(data, ids);
        }
    }

    const int GeneratorBlock = 1024;

    /// <summary>
    /// Rows [firstRow, firstRow + n) of a deterministic stream of Gaussian vectors normalised to unit length (uniform on
    /// the sphere), row-major n × d. Each block of 1024 rows has its own seed, so blocks generate in parallel and any
    /// block-aligned slice equals the same rows of a whole generation.
    /// </summary>
    static float[] RandomUnit(int n, int d, int seed, int firstRow = 0)
    {
        if (firstRow % GeneratorBlock != 0) throw new ArgumentException("firstRow must be block-aligned", nameof(firstRow));
        var data = new float[(long)n * d];
        int blocks = (n + GeneratorBlock - 1) / GeneratorBlock;
        Parallel.For(0, blocks, b =>
        {
            var random = new Random(HashCode.Combine(seed, firstRow / GeneratorBlock + b));
            int end = Math.Min(n, (b + 1) * GeneratorBlock);
            for (int r = b * GeneratorBlock; r < end; r++)
            {
                var row = data.AsSpan(r * d, d);
                for (int j = 0; j < d; j += 2)
                {
                    // Box-Muller: two independent normals per pair of uniforms.
                    double radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
                    double angle = 2 * Math.PI * random.NextDouble();
                    row[j] = (float)(radius * Math.Cos(angle));
                    if (j + 1 < d) row[j + 1] = (float)(radius * Math.Sin(angle));
                }
                float norm = MathF.Sqrt(Dot(row, row));
                for (int j = 0; j < d; j++) row[j] /= norm;
            }
        });
        return data;
    }

    static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>The Python FAISS figures measured on this machine, if ../shared is there.</summary>
    sealed class Anchors(JsonElement? root)
    {
        const string FileName = "faiss_cpu_python_debian12.json";

        public static Anchors Load(string? sharedDir, BenchReport report)
        {
            string? path = sharedDir is null ? null : Path.Combine(sharedDir, "anchors", FileName);
            if (path is null || !File.Exists(path))
            {
                report.Notes.Add($"No Python anchors (anchors/{FileName} not found{(sharedDir is null ? ": pass --shared DIR" : " under " + sharedDir)}).");
                return new Anchors(null);
            }
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement.Clone();
            string note = root.TryGetProperty("note", out var n) ? n.GetString() ?? "" : "";
            report.Notes.Add($"Python anchors: {path} (FAISS {Text(root, "faiss")}, {Text(root, "threads")} threads): " +
                             $"read bandwidth {Text(root, "read_bandwidth_GBps", "F1")} GB/s; flat 100k batch 1/64 " +
                             $"{Text(root, "flat_n100000_batch1_qps", "F0")}/{Text(root, "flat_n100000_batch64_qps", "F0")} QPS; flat 1M batch 1/64 " +
                             $"{Text(root, "flat_n1000000_batch1_qps", "F1")}/{Text(root, "flat_n1000000_batch64_qps", "F1")} QPS; " +
                             $"HNSW32 100k build {Text(root, "hnsw32_build_s_100k", "F0")} s. {note}");
            return new Anchors(root);
        }

        public double? Number(string key) =>
            root is { } r && r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

        public Dictionary<int, (double Recall, double Qps)> Curve()
        {
            var curve = new Dictionary<int, (double, double)>();
            if (root is not { } r || !r.TryGetProperty("hnsw32_100k_curve", out var points) || points.ValueKind != JsonValueKind.Array)
                return curve;
            foreach (var point in points.EnumerateArray())
                if (point.TryGetProperty("efSearch", out var ef) && point.TryGetProperty("recall@10", out var recall) &&
                    point.TryGetProperty("qps_batch200", out var qps))
                    curve[ef.GetInt32()] = (recall.GetDouble(), qps.GetDouble());
            return curve;
        }

        static string Text(JsonElement root, string key, string? format = null) =>
            !root.TryGetProperty(key, out var v) ? "?"
            : v.ValueKind == JsonValueKind.Number && format is not null ? v.GetDouble().ToString(format)
            : v.ToString();
    }
}
