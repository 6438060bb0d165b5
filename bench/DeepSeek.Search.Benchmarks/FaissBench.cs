using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using DeepSeek.Search.Index.Dense;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "faiss": in-process exact and graph search against the memory bandwidth bound and against Python FAISS 1.7.3 run by
/// this suite on the same machine, alternating with ours (bench/baselines/faiss_peer.py, a long-lived python3 process).
/// <list type="bullet">
/// <item>read bandwidth of this machine, measured in C#: one stream, and one stream per core (the bound for a scan that
/// uses every core);</item>
/// <item>IDMap2,Flat inner-product search on random unit 384-d vectors (100k and 1M; quick: 20k), batch 1 and 64, against
/// Python's IndexFlatIP on the same vectors: queries/s as the median of alternating rounds with its min–max, the ratio as
/// the median of the rounds' ratios, and GB/s scanned (queries/s × N × d × 4 bytes, batch 1) with its fraction of the
/// all-cores read bandwidth measured right after each of our rounds;</item>
/// <item>filtered flat search (an id bitmap, as the ACL pre-filter builds) at 1%, 0.1% and 0.01% selected, batch 1,
/// against Python's IndexFlatIP with an IDSelectorBitmap;</item>
/// <item>IDMap2,HNSW32,Flat (efConstruction 64) on 100k (quick: 5k): build time, then recall@10 against exact flat search
/// and queries/s (batches of 200) at efSearch 16…256, against Python FAISS searching the same graph (<see cref="HnswCurve"/>; an HNSW
/// build of 100k takes Python four minutes here, too long to repeat in every run). The build stops early (with a note)
/// when it would take over 6 minutes.</item>
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
        Anchors.Note(context.SharedDir, report);
        report.Environment["faiss_version"] = FaissIndex.NativeVersion;
        report.Environment["faiss_threads"] = FaissIndex.Threads;
        report.Environment["dimension"] = Dim;

        // (a) memory read bandwidth: one stream, and one per core (the bound for a scan on every core).
        int cores = Environment.ProcessorCount;
        double bandwidth1 = new BandwidthProbe(quick ? 128 : 512, 1).Median(quick ? 3 : 7);
        double bandwidth = new BandwidthProbe(quick ? 128 : 512, cores).Median(quick ? 3 : 7);
        AddRow(report, "read bandwidth, 1 stream (C# Vector<float> sum)", bandwidth1, "GB/s", null);
        AddRow(report, $"read bandwidth, {cores} streams (one per core)", bandwidth, "GB/s", null);

        // (b) exact flat inner-product search, plain and filtered, against Python FAISS in the same run.
        using var peer = PythonPeer.TryStart("faiss_peer.py", FaissIndex.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture), out string why);
        if (peer is null) report.Notes.Add($"No Python FAISS peer ({why}): our flat rows have no python columns.");
        else report.Notes.Add($"Python peer: bench/baselines/faiss_peer.py, FAISS {peer.Hello.GetProperty("faiss")} with " +
                              $"{peer.Hello.GetProperty("threads")} OpenMP threads, IndexFlatIP (ids = rows), timed inside Python " +
                              "(time.perf_counter around its search calls), alternating round by round with ours.");
        int[] flatSizes = quick ? [20_000] : [100_000, 1_000_000];
        var probe = new BandwidthProbe(quick ? 128 : 256, cores);
        foreach (int n in flatSizes)
            FlatSearch(report, peer, n, probe, quick);

        // (c) HNSW build + recall/throughput curve.
        HnswCurve(report, peer, quick ? 5_000 : 100_000, quick);

        report.Notes.Add($"FAISS runs with its default thread count ({FaissIndex.Threads} here), as does the Python peer. Below FAISS's BLAS " +
                         $"threshold ({FaissIndex.FlatScanMaxQueries} queries) and for every filtered search, ours scans FAISS's flat storage itself " +
                         "(FlatScan: the rows split between the threads, four queries per pass, top-k fused into the scan); batch 64 " +
                         "is FAISS's own search (BLAS sgemm) on both sides.");
        report.Notes.Add("GB/s scanned = queries/s × N × d × 4 bytes at batch 1, where every query streams the whole matrix. The bandwidth " +
                         "beside it is a sum over a 256 MB array on every core, run right after each of our timed units: this machine is shared, " +
                         "and its bandwidth moves by a factor of several within minutes (the two rows at the top were measured once, at the start).");
        report.Notes.Add("Medians with min–max over alternating rounds (Stats.Alternate); the ratio is the median of the rounds' ours/python " +
                         "ratios. The HNSW build is one run (too slow to repeat).");
        if (quick) report.Notes.Add("Quick run: 20k flat vectors, no 1M, HNSW on 5k vectors.");
        return report;
    }

    static void FlatSearch(BenchReport report, PythonPeer? peer, int n, BandwidthProbe probe, bool quick)
    {
        string dir = Directory.CreateTempSubdirectory("dss-bench-faiss-").FullName;
        try
        {
            string vectorsFile = Path.Combine(dir, "vectors.f32"), queriesFile = Path.Combine(dir, "queries.f32");
            using var index = FaissIndex.Create(Dim, "IDMap2,Flat", FaissMetric.InnerProduct);
            AddRandom(index, n, seed: 1, copyTo: peer is null ? null : vectorsFile);
            var queries = RandomUnit(64, Dim, seed: 2);
            File.WriteAllBytes(queriesFile, MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
            peer?.Ask(new { op = "load", vectors = vectorsFile, queries = queriesFile, d = Dim });
            if (peer is not null) File.Delete(vectorsFile);
            string size = Size(n);
            int rounds = quick ? 3 : 7;

            // Both sides must find the same neighbours before their speeds mean anything.
            if (peer is not null)
            {
                var theirs = peer.Ask(new { op = "search", batch = 8, k = RecallK }).GetProperty("ids");
                var ours = index.Search(queries.AsSpan(0, 8 * Dim), RecallK);
                double agree = Enumerable.Range(0, 8).Average(q =>
                    (double)theirs[q].EnumerateArray().Select(e => e.GetInt64()).Intersect(ours[q].Select(h => h.Id)).Count() / RecallK);
                report.Notes.Add($"flat {size}: our top {RecallK} and Python's agree on {agree:P1} of ids (8 queries).");
            }

            // Batch 1: a fixed number of single-query calls per timed unit (about a third of a second on this machine). Each of
            // our units is followed by a bandwidth probe, so the fraction compares with the bandwidth of that moment (on a
            // shared machine it moves by a factor of several within minutes).
            int singles = Math.Clamp(3_000_000 / n, 4, 64);
            var bandwidths = new List<double>();
            var (o1, p1) = Compare(peer, rounds,
                () =>
                {
                    double seconds = Stats.Seconds(() => { for (int q = 0; q < singles; q++) index.Search(queries.AsSpan(q % 64 * Dim, Dim), RecallK); });
                    bandwidths.Add(probe.Measure());
                    return seconds;
                },
                new { op = "time", batch = 1, calls = singles, k = RecallK });
            double bytesPerQuery = (double)n * Dim * sizeof(float);
            var oursGbps = Rates(o1, singles * bytesPerQuery / 1e9)!;
            var bw = bandwidths.Skip(bandwidths.Count - o1.Length).ToArray(); // the warm-up unit's probe is dropped
            AddPairRow(report, $"flat IP {size}×{Dim}, batch 1", "queries/s", Rates(o1, singles), Rates(p1, singles));
            AddPairRow(report, $"flat IP {size}×{Dim}, batch 1, scanned", "GB/s", oursGbps, Rates(p1, singles * bytesPerQuery / 1e9));
            AddPairRow(report, $"flat IP {size}×{Dim}, batch 1, {probe.Streams}-stream read bandwidth measured beside it", "GB/s", bw, null);
            AddPairRow(report, $"flat IP {size}×{Dim}, batch 1, scanned / that bandwidth", "ratio", oursGbps.Zip(bw, (a, b) => a / b).ToArray(), null);

            // Batch 64: one 64-query call per timed unit.
            var (o64, p64) = Compare(peer, quick ? 3 : 5,
                () => Stats.Seconds(() => index.Search(queries, RecallK)), new { op = "time", batch = 64, calls = 1, k = RecallK });
            AddPairRow(report, $"flat IP {size}×{Dim}, batch 64", "queries/s", Rates(o64, 64), Rates(p64, 64));

            // Filtered, batch 1: a random id bitmap of each selectivity, the same bytes on both sides.
            foreach (double fraction in new[] { 0.01, 0.001, 0.0001 })
            {
                var selection = new IdSelection(n);
                var random = new Random(HashCode.Combine(n, fraction));
                int selected = Math.Max(1, (int)Math.Round(n * fraction));
                foreach (int id in Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(selected)) selection.Add(id);
                string bitmapFile = Path.Combine(dir, "selection.bits");
                File.WriteAllBytes(bitmapFile, selection.Bits.ToArray());
                peer?.Ask(new { op = "select", bitmap = bitmapFile });
                int calls = 64;
                var (of, pf) = Compare(peer, rounds,
                    () => Stats.Seconds(() => { for (int q = 0; q < calls; q++) index.Search(queries.AsSpan(q % 64 * Dim, Dim), RecallK, selection); }),
                    new { op = "time", batch = 1, calls, k = RecallK });
                AddPairRow(report, $"flat IP {size}×{Dim}, batch 1, filter {fraction:0.##%} ({selected} ids)", "queries/s", Rates(of, calls), Rates(pf, calls));
            }
            peer?.Ask(new { op = "select", bitmap = (string?)null });
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Our timed unit and the peer's (one "time" command), in alternating rounds; the peer side is null without a peer.</summary>
    static (double[] Ours, double[]? Peer) Compare(PythonPeer? peer, int rounds, Func<double> ours, object peerCommand)
    {
        if (peer is null) return (Stats.Time(() => ours(), rounds), null);
        var (a, b) = Stats.Alternate(ours, () => peer.Ask(peerCommand).GetProperty("seconds").GetDouble(), rounds);
        return (a, b);
    }

    static double[]? Rates(double[]? seconds, double work) => seconds?.Select(s => work / s).ToArray();

    /// <summary>A row of medians (higher is better) with their min–max, ours and the peer's, and the median ratio of the paired rounds.</summary>
    static void AddPairRow(BenchReport report, string measure, string unit, double[]? oursOrNull, double[]? peer)
    {
        var ours = oursOrNull!;
        var row = new Dictionary<string, object>
        {
            ["measure"] = measure, ["value"] = Stats.Median(ours), ["spread"] = Stats.Spread(ours), ["unit"] = unit,
        };
        if (peer is not null)
        {
            var ratios = Stats.Ratios(ours, peer);
            row["python 1.7.3"] = Stats.Median(peer);
            row["python spread"] = Stats.Spread(peer);
            row["ours/python"] = Stats.Median(ratios);
            row["ratio spread"] = Stats.Spread(ratios);
        }
        report.Rows.Add(row);
        Console.WriteLine($"  {measure}: {row["value"]:G4} {unit} [{row["spread"]}]" +
                          (peer is null ? "" : $" (python {row["python 1.7.3"]:G4} [{row["python spread"]}], ratio {row["ours/python"]:G3} [{row["ratio spread"]}])"));
    }

    /// <summary>
    /// HNSW: our build (in tenths, stopped early past the suite's time budget), then the recall/throughput curve over efSearch,
    /// against Python FAISS searching the very graph we built (the bench writes the index file, the peer reads it: HNSW's
    /// search is FAISS's own code on both sides, so this measures the binding, and both must find the same neighbours).
    /// The Python build is not repeated here (it took 246 s for 100k on the anchors' day): the build row has no peer.
    /// </summary>
    static void HnswCurve(BenchReport report, PythonPeer? peer, int n, bool quick)
    {
        var data = RandomUnit(n, Dim, seed: 1); // the same vectors as the first n of the flat runs
        var ids = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        var queries = RandomUnit(CurveQueries, Dim, seed: 3);

        // Build in tenths, stopping early when the projected build time would break the suite's time budget.
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
            report.Notes.Add($"HNSW build stopped at {built} of {n} vectors: the projected build time exceeded the {budget:F0} s budget; " +
                             "the curve is for the smaller graph (searched by both sides).");
        string size = Size(built);
        AddRow(report, $"HNSW{HnswM} build {size}×{Dim} (efConstruction {HnswEfConstruction}, 1 run)", build, "s", null);

        // Ground truth: exact inner-product search over the vectors the graph holds.
        long[][] truth;
        using (var flat = FaissIndex.Create(Dim, "IDMap2,Flat"))
        {
            flat.Add(data.AsSpan(0, built * Dim), ids.AsSpan(0, built));
            truth = flat.Search(queries, RecallK).Select(hits => hits.Select(h => h.Id).ToArray()).ToArray();
        }
        double Recall(Func<int, IEnumerable<long>> found) => Enumerable.Range(0, CurveQueries).Average(q =>
        {
            var exact = truth[q].ToHashSet();
            return (double)found(q).Count(exact.Contains) / exact.Count;
        });

        string dir = Directory.CreateTempSubdirectory("dss-bench-hnsw-").FullName;
        try
        {
            if (peer is not null)
            {
                string indexFile = Path.Combine(dir, "hnsw.faiss"), queriesFile = Path.Combine(dir, "queries.f32");
                index.Write(indexFile);
                File.WriteAllBytes(queriesFile, MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
                peer.Ask(new { op = "read", index = indexFile, queries = queriesFile, d = Dim });
            }
            foreach (int ef in EfSearchValues)
            {
                index.SetSearchParameters($"efSearch={ef}");
                peer?.Ask(new { op = "params", value = $"efSearch={ef}" });
                var ours = index.Search(queries, RecallK);
                var recall = new Dictionary<string, object> { ["measure"] = $"HNSW{HnswM} {size} efSearch={ef}, recall@{RecallK}", ["value"] = Recall(q => ours[q].Select(h => h.Id)), ["unit"] = "recall" };
                if (peer is not null)
                {
                    var theirs = peer.Ask(new { op = "search", batch = CurveQueries, k = RecallK }).GetProperty("ids");
                    recall["python 1.7.3"] = Recall(q => theirs[q].EnumerateArray().Select(e => e.GetInt64()));
                    recall["ours/python"] = (double)recall["value"] / (double)recall["python 1.7.3"];
                }
                report.Rows.Add(recall);
                var (o, p) = Compare(peer, quick ? 3 : 5, () => Stats.Seconds(() => index.Search(queries, RecallK)),
                    new { op = "time", batch = CurveQueries, calls = 1, k = RecallK });
                AddPairRow(report, $"HNSW{HnswM} {size} efSearch={ef}, batch {CurveQueries}", "queries/s", Rates(o, CurveQueries), Rates(p, CurveQueries));
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        report.Notes.Add($"HNSW on random unit {Dim}-d vectors is HNSW's worst case (low recall at any efSearch); the curve compares the two " +
                         "bindings of FAISS's search on one graph, not a quality estimate for real embeddings (make bench SUITES=ann has those).");
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

    static float SumStreams(float[] data, int streams)
    {
        if (streams == 1) return Sum(data);
        var partial = new float[streams];
        Parallel.For(0, streams, new ParallelOptions { MaxDegreeOfParallelism = streams }, s =>
        {
            long from = (long)data.Length * s / streams, to = (long)data.Length * (s + 1) / streams;
            partial[s] = Sum(data.AsSpan((int)from, (int)(to - from)));
        });
        return partial.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Sum(ReadOnlySpan<float> data)
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

    /// <summary>One sum over a fixed array with one stream per core: the read bandwidth at this moment, in GB/s.</summary>
    /// <summary>
    /// Sequential read bandwidth: <paramref name="streams"/> threads each sum their own contiguous part of a large float
    /// array (every page touched before timing) with 4 Vector&lt;float&gt; accumulators; GB/s of the whole array per run.
    /// </summary>
    sealed class BandwidthProbe(int megabytes, int streams)
    {
        readonly float[] _data = Filled(megabytes);
        public int Streams => streams;

        static float[] Filled(int megabytes)
        {
            var data = new float[megabytes * (1 << 20) / sizeof(float)];
            Array.Fill(data, 1f);
            return data;
        }

        public double Measure() => (double)_data.Length * sizeof(float) / Stats.Seconds(() => _sink += SumStreams(_data, streams)) / 1e9;

        /// <summary>The median of <paramref name="repeats"/> runs after one warm-up.</summary>
        public double Median(int repeats)
        {
            Measure();
            return Stats.Median([.. Enumerable.Range(0, repeats).Select(_ => Measure())]);
        }
    }

    /// <summary>
    /// Adds n random unit vectors (ids 0..n-1) in blocks, so the 1M run never holds a second full copy; with
    /// <paramref name="copyTo"/>, also writes them there as raw float32 (the Python peer's input).
    /// </summary>
    static void AddRandom(FaissIndex index, int n, int seed, string? copyTo = null)
    {
        const int chunk = 65_536; // a multiple of the generator's block size
        using var file = copyTo is null ? null : File.Create(copyTo);
        for (int start = 0; start < n; start += chunk)
        {
            int rows = Math.Min(chunk, n - start);
            var data = RandomUnit(rows, Dim, seed, firstRow: start);
            var ids = Enumerable.Range(start, rows).Select(i => (long)i).ToArray();
            index.Add(data, ids);
            file?.Write(MemoryMarshal.AsBytes(data.AsSpan()));
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

    /// <summary>Notes the Python FAISS figures measured on this machine on another day (../shared/anchors), if they are there.</summary>
    static class Anchors
    {
        const string FileName = "faiss_cpu_python_debian12.json";

        public static void Note(string? sharedDir, BenchReport report)
        {
            string? path = sharedDir is null ? null : Path.Combine(sharedDir, "anchors", FileName);
            if (path is null || !File.Exists(path))
            {
                report.Notes.Add($"No Python anchors (anchors/{FileName} not found{(sharedDir is null ? ": pass --shared DIR" : " under " + sharedDir)}).");
                return;
            }
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement.Clone();
            string note = root.TryGetProperty("note", out var n) ? n.GetString() ?? "" : "";
            report.Notes.Add($"Python anchors (for the HNSW build time only, another day: not compared in this run; the flat rows and the HNSW curve are measured live): {path} (FAISS {Text(root, "faiss")}, " +
                             $"{Text(root, "threads")} threads): HNSW32 100k build {Text(root, "hnsw32_build_s_100k", "F0")} s. {note}");
        }

        static string Text(JsonElement root, string key, string? format = null) =>
            !root.TryGetProperty(key, out var v) ? "?"
            : v.ValueKind == JsonValueKind.Number && format is not null ? v.GetDouble().ToString(format)
            : v.ToString();
    }
}
