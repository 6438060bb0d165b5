using System.Runtime.InteropServices;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "ann": the table a user picks a FAISS index type from — recall@10 against queries/s — on real embeddings: SciFact's
/// 5,183 documents (title + abstract, the first 256 tokens, one vector each) and its 300 test queries, encoded by the
/// default encoder (minilm-l6). Recall@10 is against exact search (IDMap2,Flat) of the same vectors. Each configuration is
/// built by us and by Python FAISS 1.7.3 (bench/baselines/faiss_peer.py) from the same vectors with the same factory
/// string, and searched one query at a time, the two sides alternating round by round. Each configuration is also searched
/// with the ACL pre-filter's kind of restriction, an id bitmap selecting 1%, 0.1% and 0.01% of the documents (at least one),
/// the same bytes on both sides (Python: an IDSelectorBitmap in the search parameters of the index's type); its recall@10 is
/// against exact search over the selected documents.
/// <para>
/// The embeddings are encoded once (on this CPU, a few minutes) and kept in bench/cache/ (ignored by git), keyed by the
/// encoder's identity; a later run reuses them.
/// </para>
/// </summary>
public sealed class AnnBench : IBenchSuite
{
    const int K = 10;

    /// <summary>Shares of the documents a filtered search may return.</summary>
    static readonly double[] Fractions = [0.01, 0.001, 0.0001];

    public string Name => "ann";

    /// <summary>Factory string, then the search-time settings to sweep (null: none).</summary>
    static readonly (string Factory, string[]? Settings)[] Configurations =
    [
        ("IDMap2,Flat", null),
        ("IDMap2,SQ8", null),
        ("IVF64,Flat", ["nprobe=1", "nprobe=4", "nprobe=16"]),
        ("IVF64,SQ8", ["nprobe=4", "nprobe=16"]),
        ("IDMap2,HNSW32,Flat", ["efSearch=16", "efSearch=64", "efSearch=256"]),
    ];

    public BenchReport Run(BenchContext context)
    {
        var report = new BenchReport { Title = "Index types on SciFact embeddings (minilm-l6): recall@10 against queries/s, ours vs Python FAISS" };
        string? folder = context.SharedDir is null ? null : Path.Combine(context.SharedDir, "data", "scifact");
        if (folder is null || !Directory.Exists(folder))
        {
            report.Notes.Add("skipped: pass --shared DIR with data/scifact (BEIR format)");
            return report;
        }
        var (docs, queries, d) = Embeddings(folder, context.Quick);
        int n = docs.Length / d, nq = queries.Length / d;
        report.Environment["documents"] = n;
        report.Environment["queries"] = nq;
        report.Environment["faiss_threads"] = FaissIndex.Threads;

        string dir = Directory.CreateTempSubdirectory("dss-bench-ann-").FullName;
        try
        {
            string docsFile = Path.Combine(dir, "docs.f32"), queriesFile = Path.Combine(dir, "queries.f32");
            File.WriteAllBytes(docsFile, MemoryMarshal.AsBytes(docs.AsSpan()).ToArray());
            File.WriteAllBytes(queriesFile, MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
            using var peer = PythonPeer.TryStart("faiss_peer.py", FaissIndex.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture), out string why);
            if (peer is null) report.Notes.Add($"No Python FAISS peer ({why}): no python columns.");
            peer?.Ask(new { op = "load", vectors = docsFile, queries = queriesFile, d, keep = true });

            var ids = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
            long[][] truth;
            var filters = new List<(string Label, IdSelection Selection, string File, long[][] Truth)>();
            using (var exact = FaissIndex.Create(d))
            {
                exact.Add(docs, ids);
                truth = TopIds(exact.Search(queries, K));
                foreach (double fraction in Fractions)
                {
                    var selection = new IdSelection(n);
                    var random = new Random(17 + filters.Count);   // the same documents from run to run
                    int selected = Math.Max(1, (int)Math.Round(n * fraction));
                    foreach (int id in Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(selected)) selection.Add(id);
                    string file = Path.Combine(dir, $"selection-{filters.Count}.bits");
                    File.WriteAllBytes(file, selection.Bits.ToArray());
                    filters.Add(($"{fraction:0.##%} ({selected} ids)", selection, file, TopIds(exact.Search(queries, K, selection))));
                }
            }
            int rounds = context.Quick ? 3 : 7;
            foreach (var (factory, settings) in Configurations)
            {
                if (context.Quick && factory.Contains("SQ8", StringComparison.Ordinal) && factory.StartsWith("IVF", StringComparison.Ordinal)) continue;
                using var index = FaissIndex.Create(d, factory);
                double build = Stats.Seconds(() =>
                {
                    if (!index.IsTrained) index.Train(docs);
                    index.Add(docs, ids);
                });
                double? peerBuild = peer?.Ask(new { op = "build", factory }).GetProperty("seconds").GetDouble();
                foreach (string? setting in settings ?? new string?[] { null })
                {
                    if (setting is not null)
                    {
                        index.SetSearchParameters(setting);
                        peer?.Ask(new { op = "params", value = setting });
                    }
                    Measure(factory, setting, "", null, truth);
                    foreach (var (label, selection, file, filteredTruth) in filters)
                    {
                        peer?.Ask(new { op = "select", bitmap = file });
                        Measure(factory, setting, label, selection, filteredTruth);
                    }
                    peer?.Ask(new { op = "select", bitmap = (string?)null });
                }

                void Measure(string factory, string? setting, string filter, IdSelection? selection, long[][] expected)
                {
                    double recall = Recall(expected, TopIds(index.Search(queries, K, selection)));
                    double? peerRecall = null;
                    if (peer is not null)
                    {
                        var theirs = peer.Ask(new { op = "search", batch = nq, k = K }).GetProperty("ids");
                        peerRecall = Recall(expected, theirs.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).Where(x => x >= 0).ToArray()).ToArray());
                    }
                    double Ours() => Stats.Seconds(() => { for (int q = 0; q < nq; q++) index.Search(queries.AsSpan(q * d, d), K, selection); });
                    double[] ours, theirsTimes = [];
                    if (peer is null) ours = Stats.Time(() => Ours(), rounds);
                    else (ours, theirsTimes) = Stats.Alternate(Ours, () => peer.Ask(new { op = "time", batch = 1, calls = nq, k = K }).GetProperty("seconds").GetDouble(), rounds);
                    var oursQps = ours.Select(t => nq / t).ToArray();
                    var row = new Dictionary<string, object>
                    {
                        ["index"] = factory,
                        ["search setting"] = setting ?? "",
                        ["filter"] = filter,
                        ["recall@10"] = recall,
                        ["queries/s (batch 1)"] = Stats.Median(oursQps),
                        ["spread"] = Stats.Spread(oursQps),
                        ["build s"] = build,
                    };
                    if (peer is not null)
                    {
                        var theirQps = theirsTimes.Select(t => nq / t).ToArray();
                        row["python recall@10"] = peerRecall!.Value;
                        row["python queries/s"] = Stats.Median(theirQps);
                        row["python spread"] = Stats.Spread(theirQps);
                        row["ours/python"] = Stats.Median(Stats.Ratios(oursQps, theirQps));
                        row["python build s"] = peerBuild!.Value;
                    }
                    report.Rows.Add(row);
                    Console.WriteLine($"  {factory} {setting} {filter}: recall {recall:F3}, {row["queries/s (batch 1)"]:F0} q/s" +
                                      (peer is null ? "" : $" (python {row["python recall@10"]:F3}, {row["python queries/s"]:F0} q/s, ratio {row["ours/python"]:F2})"));
                }
            }
        }
        finally { Directory.Delete(dir, recursive: true); }

        report.Notes.Add($"SciFact corpus, one vector per document (title + abstract through {PretrainedEncoders.DefaultName}, the first 256 tokens, " +
                         $"mean-pooled and normalised), {nq} {(context.Quick ? "" : "test ")}queries; recall@10 = share of exact IDMap2,Flat's top 10 found, per query, averaged.");
        report.Notes.Add("queries/s: the queries searched one at a time (batch 1), median with min–max of alternating rounds (ours, then Python, then the other " +
                         "way round); the ratio is the median of the rounds' ratios. Build: one run each (training on all the vectors where the type needs it, then adding them).");
        report.Notes.Add("IVF64: 64 lists for 5,183 vectors (about √n); nprobe lists are scanned per query. SQ8: 8-bit scalar quantisation (a quarter of the memory), " +
                         "scores from the decoded vectors. HNSW32: efConstruction 40 (FAISS's default), efSearch as given. At batch 1 ours scans Flat and SQ8 storage itself (FlatScan) and the probed lists of IVF,Flat and IVF,SQ8 (codes scored undecoded, plus the query's inner product with the list's centroid, as the codes are residuals); HNSW is FAISS's own search on both sides.");
        report.Notes.Add("filter: a random id bitmap selecting that share of the documents (the ACL pre-filter's form), the same bytes on both sides; recall@10 against exact search " +
                         "over the selected documents (the top 10 of fewer than 10 selected is all of them). Ours: Flat and SQ8 by FlatScan, IVF,Flat and IVF,SQ8 by our scan of the probed lists, HNSW by FAISS with our shim's selector; " +
                         "Python: an IDSelectorBitmap in SearchParameters (IVF: with its nprobe; HNSW: with its efSearch; through IDMap2, which 1.7.3 lets take no parameters, on the index it wraps). " +
                         "A collection searches exactly instead when at most " + Retrieve.Collections.CollectionSearcher.ExactSearchMaxChunks + " chunks are permitted (as here at every share): these rows are the index alone.");
        return report;
    }

    static long[][] TopIds(SearchResult result) => result.Select(h => h.Select(x => x.Id).ToArray()).ToArray();

    static double Recall(long[][] truth, long[][] found) =>
        truth.Zip(found, (t, f) => t.Length == 0 ? 1.0 : (double)f.Intersect(t).Count() / t.Length).Average();

    /// <summary>The documents' and test queries' vectors (row-major), from bench/cache/ or encoded now and cached.</summary>
    internal static (float[] Docs, float[] Queries, int Dimension) Embeddings(string folder, bool quick)
    {
        var data = BeirDataset.Load(folder, "test");
        var documents = data.Corpus.ToList();
        if (quick) documents = documents.Take(1000).ToList();
        var judged = data.JudgedQueries;
        var pulled = PretrainedEncoders.Pull(PretrainedEncoders.MiniLmL6);
        var (identity, _) = TextEncoder.Describe(pulled.Directory);
        string cacheDir = Path.Combine("bench", "cache");
        string stem = Path.Combine(cacheDir, $"scifact-{PretrainedEncoders.DefaultName}-{documents.Count}-{StableName(identity)}");
        if (File.Exists(stem + ".docs.f32") && File.Exists(stem + ".queries.f32"))
        {
            var cachedDocs = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(stem + ".docs.f32")).ToArray();
            var cachedQueries = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(stem + ".queries.f32")).ToArray();
            int dim = cachedDocs.Length / documents.Count;
            Console.WriteLine($"  embeddings from {stem}.*.f32");
            return (cachedDocs, cachedQueries, dim);
        }
        using var encoder = TextEncoder.Load(pulled.Directory);
        int d = encoder.Dimension;
        var docs = new float[(long)documents.Count * d];
        const int slice = 256;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int start = 0; start < documents.Count; start += slice)
        {
            var texts = documents.Skip(start).Take(slice).Select(x => TextChunker.ComposeText(x.Title, x.Text)).ToList();
            var vectors = encoder.EncodeDocuments(texts);
            for (int i = 0; i < vectors.Length; i++) vectors[i].CopyTo(docs, (long)(start + i) * d);
            double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            int done = Math.Min(documents.Count, start + slice);
            Console.WriteLine($"  encoding SciFact: {done}/{documents.Count} documents, {done / elapsed:F1}/s, about {(documents.Count - done) / (done / elapsed):F0} s left");
        }
        var queryVectors = encoder.EncodeQueries(judged.Select(q => q.Text).ToList());
        var queries = new float[(long)queryVectors.Length * d];
        for (int i = 0; i < queryVectors.Length; i++) queryVectors[i].CopyTo(queries, (long)i * d);
        Directory.CreateDirectory(cacheDir);
        File.WriteAllBytes(stem + ".docs.f32.tmp", MemoryMarshal.AsBytes(docs.AsSpan()).ToArray());
        File.WriteAllBytes(stem + ".queries.f32.tmp", MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
        File.Move(stem + ".docs.f32.tmp", stem + ".docs.f32", overwrite: true);
        File.Move(stem + ".queries.f32.tmp", stem + ".queries.f32", overwrite: true);
        return (docs, queries, d);
    }

    internal static string StableName(string identity) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(identity)))[..12].ToLowerInvariant();
}
