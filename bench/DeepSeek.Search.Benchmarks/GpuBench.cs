using System.Text.Json;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Train;
using DeepSeek.Search.Train.Losses;
using TorchSharp;
using static TorchSharp.torch;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "gpu": encoder inference and contrastive training throughput on a CUDA device, the same shapes as
/// bench/baselines/pytorch_bert_throughput.py (PyTorch + transformers) so both can run in one command on one GPU:
/// <list type="bullet">
/// <item>encode: bf16 forward + mean pooling of a random-weight MiniLM-L6-shaped BERT, 512 × 128 and 256 × 256 tokens, no padding;</item>
/// <item>train: InfoNCE steps (in-batch negatives, τ = 0.05, AdamW, clip 1.0, bf16 compute with fp32 master weights),
/// batch 256, queries 32 / documents 128 tokens, tied towers — the trainer's own <see cref="DualTowers"/> and <see cref="InfoNceLoss"/>.</item>
/// </list>
/// The device is $DSS_BENCH_DEVICE (default auto). Without CUDA it runs a small CPU smoke of the same code in --quick mode and
/// skips otherwise. If $DSS_BENCH_PYTORCH names the baseline script's JSON output, ratios ours/PyTorch are added.
/// Medians of timed runs after warm-up, each run ending with a device synchronisation.
/// </summary>
public sealed class GpuBench : IBenchSuite
{
    public string Name => "gpu";

    public BenchReport Run(BenchContext context)
    {
        var report = new BenchReport { Title = "GPU throughput: encode and contrastive training (MiniLM-L6 shape), ours vs PyTorch" };
        TorchRuntime.Initialize();
        var device = TorchRuntime.ResolveDevice(Environment.GetEnvironmentVariable("DSS_BENCH_DEVICE") is { Length: > 0 } d ? d : "auto");
        bool cuda = device.type == DeviceType.CUDA;
        if (!cuda && !context.Quick)
        {
            report.Notes.Add("skipped: no CUDA device (set DSS_LIBTORCH to a PyTorch CUDA install's torch/lib; see README). --quick runs a CPU smoke.");
            return report;
        }
        report.Environment["device"] = cuda ? $"cuda ({TorchRuntime.Describe()})" : "cpu (smoke only)";
        int scale = cuda ? 1 : 32;
        int repeats = cuda ? 20 : 2, warmup = cuda ? 5 : 1;
        var config = BertConfig.MiniLmL6;
        var pytorch = ReadBaseline();

        using (var model = new BertModel(config, addPoolingLayer: false, seed: 0))
        {
            model.To(device, cuda ? ScalarType.BFloat16 : ScalarType.Float32);
            model.eval();
            foreach (var (batch, seq) in new[] { (512 / scale, 128), (256 / scale, 256) })
            {
                using var ids = randint(1000, 30000, new long[] { batch, seq }, dtype: ScalarType.Int64, device: device);
                using var mask = ones(batch, seq, ScalarType.Int64, device);
                var times = Stats.Time(() =>
                {
                    using var scope = NewDisposeScope();
                    using var _ = no_grad();
                    Pooling.Mean(model.Forward(ids, mask).LastHiddenState, mask);
                    Sync(cuda);
                }, repeats, warmup);
                double perS = batch / Stats.Median(times);
                Row(report, $"encode {batch}×{seq}", perS, "seq/s", pytorch, $"encode_{batch}x{seq}_seq_per_s");
            }
            if (cuda) Diagnostics(report, model, device, pytorch, repeats, warmup);
        }

        int b = 256 / scale;
        var towers = new DualTowers(new BertModel(config, addPoolingLayer: false, seed: 0), null, PoolingMode.Mean, normalize: true,
            device, cuda ? ScalarType.BFloat16 : ScalarType.Float32);
        try
        {
            var loss = new InfoNceLoss(0.05);
            var parameters = towers.TrainableParameters().Select(p => p.Parameter).ToList();
            using var optimizer = optim.AdamW(parameters, lr: 1e-4);
            using var q = randint(1000, 30000, new long[] { b, 32 }, dtype: ScalarType.Int64, device: device);
            using var dd = randint(1000, 30000, new long[] { b, 128 }, dtype: ScalarType.Int64, device: device);
            using var qm = ones(b, 32, ScalarType.Int64, device);
            using var dm = ones(b, 128, ScalarType.Int64, device);
            using var exclude = zeros(new long[] { b, b }, ScalarType.Bool, device);
            var times = Stats.Time(() =>
            {
                using var scope = NewDisposeScope();
                var value = loss.Forward(towers.Embed(true, q, qm), towers.Embed(false, dd, dm), exclude);
                value.backward();
                towers.GradientsToMaster();
                nn.utils.clip_grad_norm_(parameters, 1.0);
                optimizer.step();
                optimizer.zero_grad();
                towers.MasterToWorking();
                Sync(cuda);
            }, repeats, warmup);
            Row(report, $"train InfoNCE batch {b}, q 32 / d 128", b / Stats.Median(times), "pairs/s", pytorch, "train_pairs_per_s");
        }
        finally { towers.Dispose(); }

        report.Notes.Add("PyTorch side: bench/baselines/pytorch_bert_throughput.py (transformers BertModel, SDPA, bf16 weights for encode, bf16 autocast for train), same GPU, same command.");
        report.Notes.Add("Targets (issue): train ≥ 0.8× PyTorch, encode 512×128 ≥ 0.9× PyTorch. Anchor (../shared/anchors, H100): 57,981 seq/s encode 512×128, 8,257 pairs/s train.");
        return report;
    }

    /// <summary>
    /// Where the encode time goes (CUDA only): the host-side time to issue one forward (no synchronisation), the same forward
    /// without the attention mask and with three Q/K/V GEMMs instead of one, a 4× larger batch (per-forward overheads amortised),
    /// and the host cost of one tiny tensor operation. The PyTorch script measures the same keys.
    /// </summary>
    static void Diagnostics(BenchReport report, BertModel model, Device device, JsonElement? pytorch, int repeats, int warmup)
    {
        using var ids = randint(1000, 30000, new long[] { 512, 128 }, dtype: ScalarType.Int64, device: device);
        using var mask = ones(512, 128, ScalarType.Int64, device);
        double Encode(Tensor x, Tensor? m)
        {
            var t = Stats.Time(() =>
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var h = model.Forward(x, m).LastHiddenState;
                if (m is not null) Pooling.Mean(h, m); else h.mean(new long[] { 1 });
                Sync(true);
            }, repeats, warmup);
            return x.shape[0] / Stats.Median(t);
        }
        var issue = new List<double>();
        for (int i = 0; i < repeats + warmup; i++)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            Sync(true);
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            Pooling.Mean(model.Forward(ids, mask).LastHiddenState, mask);
            if (i >= warmup) issue.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            Sync(true);
        }
        Row(report, "diag: host time to issue encode 512×128", Stats.Median(issue), "ms", pytorch, "encode_512x128_issue_ms");
        Row(report, "diag: encode 512×128 without mask", Encode(ids, null), "seq/s", pytorch, "encode_512x128_nomask_seq_per_s");
        bool fused = BertModel.FusedQkv;
        BertModel.FusedQkv = !fused;
        Row(report, $"diag: encode 512×128 with {(fused ? "three Q/K/V GEMMs" : "one fused QKV GEMM")}", Encode(ids, mask), "seq/s", pytorch,
            fused ? "encode_512x128_seq_per_s" : "encode_512x128_fused_seq_per_s");
        BertModel.FusedQkv = fused;
        using (var big = randint(1000, 30000, new long[] { 2048, 128 }, dtype: ScalarType.Int64, device: device))
        using (var bigMask = ones(2048, 128, ScalarType.Int64, device))
            Row(report, "diag: encode 2048×128", Encode(big, bigMask), "seq/s", pytorch, "encode_2048x128_seq_per_s");
        using var tiny = zeros(1, device: device);
        var per = Stats.Time(() =>
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < 2000; i++) tiny.add_(1.0);
            Sync(true);
        }, 5, 1);
        Row(report, "diag: host cost of one tiny in-place op", Stats.Median(per) / 2000 * 1e6, "µs", pytorch, "tiny_op_us");
        report.Notes.Add($"Fused QKV in the main rows: {fused} (DSS_BERT_FUSED_QKV=0 turns it off).");
    }

    static void Sync(bool cuda)
    {
        if (cuda) torch.cuda.synchronize();
    }

    static void Row(BenchReport report, string name, double value, string unit, JsonElement? pytorch, string key)
    {
        var row = new Dictionary<string, object> { ["measure"] = name, ["ours"] = value, ["unit"] = unit };
        if (pytorch is { } p && p.TryGetProperty(key, out var v))
        {
            row["pytorch"] = v.GetDouble();
            row["ours/pytorch"] = value / v.GetDouble();
        }
        report.Rows.Add(row);
        Console.WriteLine($"  {name}: {value:F0} {unit}" + (row.TryGetValue("ours/pytorch", out var r) ? $" ({(double)r:F2}× PyTorch)" : ""));
    }

    static JsonElement? ReadBaseline()
    {
        var path = Environment.GetEnvironmentVariable("DSS_BENCH_PYTORCH");
        if (string.IsNullOrEmpty(path) || !File.Exists(path)) return null;
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }
}
