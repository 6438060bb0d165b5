using System.Text.Json;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Train;
using DeepSeek.Search.Train.Losses;
using TorchSharp;
using static TorchSharp.torch;

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
