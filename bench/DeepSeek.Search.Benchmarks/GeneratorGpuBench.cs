using System.Diagnostics;
using System.Text.Json;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Generate;
using TorchSharp;
using static TorchSharp.torch;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// "gpu-generate": prefill and decode throughput of the DeepSeek-V3 MoE generator on a CUDA device, the shapes and timing of
/// bench/baselines/pytorch_deepseek_throughput.py (transformers DeepseekV3ForCausalLM) so both can run in one command on one GPU
/// (bench/gpu-compare-generate.sh). Random weights (seeded, normal(0, 0.02)), bf16, the config of ../shared/anchors
/// (<see cref="BenchConfig"/>):
/// <list type="bullet">
/// <item>prefill: one <see cref="DeepSeekModel.Forward"/> over [B, 512] random tokens with a fresh <see cref="KvCache"/> and
/// <c>lastPositionOnly</c>, B = 1 and 16; tokens/s = B·512 / time;</item>
/// <item>decode: what <c>dss generate --greedy --ignore-eos</c> runs — <see cref="DeepSeekGenerator.StreamAsync"/> over B random
/// 128-token prompts for 65 new tokens; the clock starts when the prefill's tokens have arrived and stops after the 64 following
/// single-token steps (each step: Forward([B, 1]) with the cache, arg-max, the ids back on the host); tokens/s = B·64 / time.
/// Both cache modes (full per-head keys/values, the default; latent).</item>
/// </list>
/// Prefill: medians of 5 timed runs after one warm-up. Decode: every variant once per round for 5 rounds, the order rotating
/// (<see cref="Stats.Interleave"/>), one warm-up each; with $DSS_BENCH_LIVE_PEER=1 transformers' grouped_mm decode joins the
/// rounds as a live Python peer (the script's --serve mode) and the decode ratios are medians of per-round ratios. Each timed
/// run ends with a device synchronisation. The device is
/// $DSS_BENCH_DEVICE (default auto). Without CUDA it runs a tiny CPU smoke of the same code in --quick mode and skips otherwise.
/// If $DSS_BENCH_PYTORCH_GEN names the baseline script's JSON, ratios ours/PyTorch are added (top-level keys: the eager experts
/// loop; a "grouped_mm" object when the script measured it too).
/// </summary>
public sealed class GeneratorGpuBench : IBenchSuite
{
    public string Name => "gpu-generate";

    /// <summary>The benchmark shape (same numbers as CONFIG in pytorch_deepseek_throughput.py).</summary>
    public static DeepSeekConfig BenchConfig => new()
    {
        Version = DeepSeekVersion.V3, VocabSize = 102400, HiddenSize = 2048, IntermediateSize = 10944, MoeIntermediateSize = 1408,
        NumHiddenLayers = 8, NumAttentionHeads = 16, NumKeyValueHeads = 16, NSharedExperts = 2, NRoutedExperts = 64,
        NumExpertsPerTok = 6, FirstKDenseReplace = 1, RoutedScalingFactor = 2.5, NormTopkProb = true, NGroup = 1, TopkGroup = 1,
        KvLoraRank = 512, QLoraRank = 1536, QkNopeHeadDim = 128, QkRopeHeadDim = 64, VHeadDim = 128, MaxPositionEmbeddings = 4096,
        RmsNormEps = 1e-6, HiddenAct = "silu", InitializerRange = 0.02, Rope = new RopeParameters { RopeType = "default", Theta = 10000.0 },
        RopeInterleave = true, TieWordEmbeddings = false, AttentionBias = false, BosTokenId = 0, EosTokenIds = new[] { 1 },
    };

    /// <summary>The CPU smoke shape (QUICK in the script): every code path of the real one, tiny.</summary>
    public static DeepSeekConfig SmokeConfig => BenchConfig with
    {
        VocabSize = 1024, HiddenSize = 64, IntermediateSize = 128, MoeIntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4,
        NumKeyValueHeads = 4, NRoutedExperts = 8, NumExpertsPerTok = 2, NSharedExperts = 1, KvLoraRank = 32, QLoraRank = 48,
        QkNopeHeadDim = 16, QkRopeHeadDim = 8, VHeadDim = 16,
    };

    public BenchReport Run(BenchContext context)
    {
        var report = new BenchReport { Title = "GPU generation: DeepSeek-V3 MoE (2048 hidden, 8 layers, 64 experts top-6) prefill and decode, ours vs PyTorch" };
        TorchRuntime.Initialize();
        string spec = Environment.GetEnvironmentVariable("DSS_BENCH_DEVICE") is { Length: > 0 } d ? d : "auto";
        var device = TorchRuntime.ResolveDevice(spec);
        bool cuda = device.type == DeviceType.CUDA;
        if (!cuda && !context.Quick)
        {
            report.Notes.Add("skipped: no CUDA device (set DSS_LIBTORCH to a PyTorch CUDA install's torch/lib; see README). --quick runs a CPU smoke.");
            return report;
        }
        report.Environment["device"] = cuda ? $"cuda ({TorchRuntime.Describe()})" : "cpu (smoke only: tiny config)";
        var config = cuda ? BenchConfig : SmokeConfig;
        int prefillLen = cuda ? 512 : 32, promptLen = cuda ? 128 : 16, steps = cuda ? 64 : 8;
        int prefillRepeats = cuda ? 5 : 1, decodeRounds = cuda ? 5 : 1;
        var pytorch = cuda ? ReadBaseline("DSS_BENCH_PYTORCH_GEN") : null; // the CPU smoke's tiny shape is not comparable
        var grouped = pytorch is { } p && p.TryGetProperty("grouped_mm", out var g) && g.ValueKind == JsonValueKind.Object ? g : (JsonElement?)null;
        // transformers with grouped_mm experts as a live peer, its decode interleaved with ours round by round (on CUDA with
        // $DSS_BENCH_LIVE_PEER=1: the GPU machine's python3 with torch and transformers; see bench/gpu-compare-generate.sh)
        PythonPeer? live = null;
        if (cuda && Environment.GetEnvironmentVariable("DSS_BENCH_LIVE_PEER") == "1")
        {
            live = PythonPeer.TryStart("pytorch_deepseek_throughput.py", "--serve --experts grouped_mm", out string why);
            if (live is null) report.Notes.Add($"no live transformers peer: {why}");
            else Console.WriteLine($"  live peer: {live.Hello.GetProperty("device")}, transformers {live.Hello.GetProperty("transformers")}, experts {live.Hello.GetProperty("experts_implementation")}");
        }
        using var livePeer = live;

        long t0 = Stopwatch.GetTimestamp();
        using var model = DeepSeekModel.Create(config, new DeepSeekModelOptions { Device = spec, DType = ScalarType.BFloat16, Seed = 0 });
        Sync(cuda);
        double initS = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long parameters = model.parameters().Sum(x => x.NumberOfElements);
        Console.WriteLine($"  model: {parameters / 1e6:F0}M parameters, bf16, created in {initS:F1} s");
        report.Environment["params_M"] = Math.Round(parameters / 1e6, 1);
        report.Environment["model_init_s"] = Math.Round(initS, 1);

        // which backend torch's scaled_dot_product_attention would pick at these shapes (0 math, 1 flash, 2 efficient, 3 cuDNN);
        // ours calls the memory-efficient kernel directly on CUDA (see MultiHeadLatentAttention.FusedProduct)
        using (var scope = NewDisposeScope())
            foreach (var (b, t, keys) in new[] { (1, prefillLen, prefillLen), (1, 1, promptLen + 1), (16, 1, promptLen + 1) })
            {
                var q = randn(new long[] { b, config.NumAttentionHeads, t, config.QkHeadDim }, model.DType, model.Device);
                var k = randn(new long[] { b, config.NumAttentionHeads, keys, config.QkHeadDim }, model.DType, model.Device);
                var v = randn(new long[] { b, config.NumAttentionHeads, keys, config.VHeadDim }, model.DType, model.Device);
                report.Environment[$"torch_sdpa_backend_b{b}_t{t}_keys{keys}"] = ScriptedOps.SdpChoice(q, k, v, t > 1);
            }

        var random = new Random(1);
        int low = Math.Min(1000, config.VocabSize / 2);
        var inputs = new Dictionary<int, long[]>();
        foreach (int b in new[] { 1, 16 })
        {
            var drawn = new long[b * prefillLen];
            for (int i = 0; i < drawn.Length; i++) drawn[i] = random.Next(low, config.VocabSize - 1);
            inputs[b] = drawn;
        }
        // The numerics of both bf16 dispatches against float32 (the same seed, experts one at a time): prefill logits, on the host.
        var reference = new Dictionary<int, Tensor>();
        using (var f32 = DeepSeekModel.Create(config, new DeepSeekModelOptions { Device = spec, DType = ScalarType.Float32, Seed = 0, ExpertDispatch = ExpertDispatch.PerExpert }))
        using (no_grad())
            foreach (var (b, drawn) in inputs)
            {
                using var scope = NewDisposeScope();
                using var cache = f32.CreateCache(KvCacheMode.Full);
                using var hostIds = tensor(drawn, new long[] { b, prefillLen });
                reference[b] = f32.Forward(hostIds.to(device), cache, lastPositionOnly: true).to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
            }
        if (cuda) torch.cuda.synchronize();
        foreach (int b in new[] { 1, 16 })
        {
            var host = inputs[b];
            using var hostIds = tensor(host, new long[] { b, prefillLen });
            using var ids = hostIds.to(device);

            // Every dispatch in the same run: sorted (grouped GEMM, the CUDA default without gradients), padded (batched GEMM, the
            // CUDA default with them), and the one-expert-at-a-time loop they replaced; sorted twice more with one of the composed
            // forms that the one-call kernels replaced: HF's RMSNorm lines (rms_norm is the CUDA default) and the eager attention
            // product (scaled_dot_product_attention is the default without padding). Their logits are compared with the first's.
            Tensor? firstLogits = null;
            var decodes = new List<(string Name, Func<double> Seconds)>();
            foreach (var (dispatch, composedNorms, eagerAttention) in new[]
                     {
                         (ExpertDispatch.Sorted, false, false), (ExpertDispatch.Sorted, true, false), (ExpertDispatch.Sorted, false, true),
                         (ExpertDispatch.Grouped, false, false), (ExpertDispatch.PerExpert, false, false),
                     })
            {
                model.ExpertDispatch = dispatch;
                model.ComposedNorms = composedNorms || !cuda;
                model.EagerAttention = eagerAttention;
                string variant = dispatch + (composedNorms ? "_composed_norms" : "") + (eagerAttention ? "_eager_attention" : "");
                string suffix = dispatch switch
                {
                    ExpertDispatch.Sorted => ", experts sorted (grouped GEMM)",
                    ExpertDispatch.Grouped => ", experts padded (batched GEMM)",
                    _ => ", experts one at a time",
                } + (composedNorms ? ", composed RMSNorm" : "") + (eagerAttention ? ", eager attention" : "");
                using (no_grad())
                using (var cache = model.CreateCache(KvCacheMode.Full))
                {
                    var logits = model.Forward(ids, cache, lastPositionOnly: true).to(ScalarType.Float32);
                    if (!logits.isfinite().all().item<bool>()) report.Notes.Add($"warning: non-finite logits in the prefill of batch {b} ({variant})");
                    using (var onHost = logits.cpu())
                    {
                        var r = reference[b];
                        double off = (onHost - r).abs().max().item<float>();
                        double same = onHost.argmax(-1).eq(r.argmax(-1)).to(ScalarType.Float32).mean().item<float>();
                        report.Environment[$"prefill_b{b}_{variant}_bf16_vs_float32"] = $"max |Δlogit| {off:G3} (max |logit| {r.abs().max().item<float>():G3}), same arg-max in {same:P0} of rows";
                        Console.WriteLine($"  {variant} bf16 vs float32 logits, b{b}: max |Δ| {off:G3}, same arg-max {same:P0}");
                    }
                    if (firstLogits is null) firstLogits = logits;
                    else
                    {
                        double diff = (logits - firstLogits).abs().max().item<float>(), scale = firstLogits.abs().max().item<float>();
                        double agree = logits.argmax(-1).eq(firstLogits.argmax(-1)).to(ScalarType.Float32).mean().item<float>();
                        report.Environment[$"prefill_b{b}_{variant}_vs_Sorted"] = $"max |Δlogit| {diff:G3} (max |logit| {scale:G3}), same arg-max in {agree:P0} of rows";
                        Console.WriteLine($"  {variant} vs sorted logits, b{b}: max |Δ| {diff:G3} of {scale:G3}, same arg-max {agree:P0}");
                        logits.Dispose();
                    }
                }
                var times = Stats.Time(() =>
                {
                    using var _ = no_grad();
                    using var scope = NewDisposeScope();
                    using var cache = model.CreateCache(KvCacheMode.Full);
                    model.Forward(ids, cache, lastPositionOnly: true);
                    Sync(cuda);
                }, prefillRepeats, warmup: 1);
                Row(report, $"prefill b{b} × {prefillLen}{suffix}", times.Select(t => b * prefillLen / t).ToArray(), pytorch, grouped, null, $"prefill_b{b}_tok_per_s");

                var prompts = Enumerable.Range(0, b).Select(r => host.Skip(r * prefillLen).Take(promptLen).Select(x => (int)x).ToArray()).ToArray();
                var modes = dispatch == ExpertDispatch.Grouped ? new[] { KvCacheMode.Full, KvCacheMode.Latent } : new[] { KvCacheMode.Full };
                foreach (var mode in modes)
                {
                    var options = new GenerationOptions { MaxNewTokens = steps + 1, Greedy = true, IgnoreEos = true, CacheMode = mode };
                    string name = $"decode b{b}, {steps} steps after {promptLen}, {(mode == KvCacheMode.Full ? "full" : "latent")} cache{suffix}";
                    var (useDispatch, useComposed, useEager) = (dispatch, composedNorms || !cuda, eagerAttention);
                    decodes.Add((name, () =>
                    {
                        model.ExpertDispatch = useDispatch;
                        model.ComposedNorms = useComposed;
                        model.EagerAttention = useEager;
                        using var generator = new DeepSeekGenerator(model);
                        return DecodeOnce(generator, prompts, options, b, steps);
                    }));
                }
            }
            firstLogits?.Dispose();
            // Decode swings with the machine (GPU clocks, the host's other work): every variant runs once per round, the order
            // rotating, so drift falls on all of them; one warm-up each.
            var timed = decodes.Select(x => x.Seconds).ToList();
            if (livePeer is not null) timed.Add(() => livePeer.Ask(new { op = "decode", batch = b }).GetProperty("seconds").GetDouble());
            var decodeSeconds = Stats.Interleave(timed, decodeRounds, TimeSpan.Zero);
            double[]? peerRates = livePeer is null ? null : decodeSeconds[^1].Select(t => b * steps / t).ToArray();
            for (int i = 0; i < decodes.Count; i++)
                Row(report, decodes[i].Name, decodeSeconds[i].Select(t => b * steps / t).ToArray(), pytorch, grouped, peerRates, $"decode_b{b}_tok_per_s");
        }
        model.ExpertDispatch = ExpertDispatch.Auto;
        model.EagerAttention = false;
        model.ComposedNorms = !cuda;
        foreach (var l in reference.Values) l.Dispose();

        report.Notes.Add("ours: DeepSeekModel (TorchSharp), bf16; RMSNorm by libtorch's rms_norm in one call (the CUDA default; 'composed RMSNorm' rows: HF's lines, one op each); attention by libtorch's memory-efficient kernel, called directly (no padding here: causal at prefill, no mask at decode; the default on CUDA; torch's scaled_dot_product_attention picks cuDNN here, see torch_sdpa_backend below, whose plan per new key length stalled decoding; 'eager attention' rows: the product it replaced, scores masked and softmaxed in float32); routed experts three ways in the same run: 'sorted' (ExpertDispatch.Sorted: the expert-sorted pairs through libtorch's aten::_grouped_mm with exact offsets, via TorchScript; no padding, no host sync), 'padded' (ExpertDispatch.Grouped: batched GEMMs over a padded [experts, capacity, hidden] buffer; no host sync up to 64 tokens, one above; gathered expert weights when there are fewer (token, expert) pairs than experts) and 'one at a time' (ExpertDispatch.PerExpert: one GEMM pair per hit expert, one host sync per MoE layer). The default on CUDA (Auto) is sorted without gradients and padded with them.");
        if (livePeer is not null)
            report.Notes.Add("decode rounds: our variants and transformers' grouped_mm (a live peer: pytorch_deepseek_throughput.py --serve, its model on the same GPU) interleaved, the order rotating, 5 rounds after one warm-up each; ours/grouped_mm on decode rows is the median of the per-round ratios with their min–max; the 'pytorch grouped_mm' figure there is the live peer's median (the eager column stays the script's separate pass).");
        report.Notes.Add("decode is the generator's own path (DeepSeekGenerator.StreamAsync, greedy, EOS ignored), timed from the prefill's tokens to the 65th token: 64 single-token steps, each ending with the picked ids on the host.");
        report.Notes.Add("PyTorch side: bench/baselines/pytorch_deepseek_throughput.py (transformers DeepseekV3ForCausalLM, bf16, its default attention (sdpa), experts 'eager' for the main ratio and 'grouped_mm' as a second reference; decode is a loop of model(next, past_key_values=cache, logits_to_keep=1) with a device arg-max; its cache keeps the MLA latent and expands keys per step).");
        report.Notes.Add("Anchor (../shared/anchors, H100, transformers 5.17): eager prefill 3,097 / 45,185 tok/s (b1 / b16), decode 10.2 / 77 tok/s; grouped_mm prefill 19,147 / 143,916, decode 37.7 / 619.");
        report.Environment["config"] = $"hidden {config.HiddenSize}, {config.NumHiddenLayers} layers ({config.FirstKDenseReplace} dense), {config.NumAttentionHeads} heads, " +
            $"{config.NRoutedExperts} routed experts top-{config.NumExpertsPerTok} + {config.NSharedExperts} shared, moe_ffn {config.MoeIntermediateSize}, " +
            $"dense_ffn {config.IntermediateSize}, kv_lora {config.KvLoraRank}, q_lora {config.QLoraRank}, vocab {config.VocabSize}, default RoPE θ 10000";
        if (pytorch is { } pt)
        {
            foreach (var key in new[] { "torch", "transformers", "device", "experts_implementation" })
                if (pt.TryGetProperty(key, out var v)) report.Environment["pytorch_" + key] = v.ToString();
            if (pt.TryGetProperty("experts_error", out var e1)) report.Notes.Add($"PyTorch side: {e1}");
            if (pt.TryGetProperty("grouped_mm", out var gm) && gm.ValueKind == JsonValueKind.Object && gm.TryGetProperty("error", out var e2))
                report.Notes.Add($"PyTorch grouped_mm: {e2}");
        }
        else report.Notes.Add(cuda ? "no PyTorch numbers: $DSS_BENCH_PYTORCH_GEN does not name the JSON of bench/baselines/pytorch_deepseek_throughput.py"
            : "CPU smoke: tiny shape, no ratios (the numbers only show that the code runs)");
        return report;
    }

    /// <summary>One generation of <paramref name="steps"/> + 1 tokens; seconds from the first step's tokens to the last token.</summary>
    static double DecodeOnce(DeepSeekGenerator generator, int[][] prompts, GenerationOptions options, int batch, int steps)
    {
        int seen = 0;
        long start = 0;
        var stream = generator.StreamAsync(prompts, options).GetAsyncEnumerator();
        try
        {
            while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                if (++seen == batch) start = Stopwatch.GetTimestamp(); // the prefill step is complete (its ids are on the host)
        }
        finally { stream.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (seen != batch * (steps + 1)) throw new InvalidOperationException($"expected {batch * (steps + 1)} tokens, the generator gave {seen}");
        return seconds;
    }

    static void Sync(bool cuda)
    {
        if (cuda) torch.cuda.synchronize();
    }

    /// <summary>
    /// One row: our rates' median and spread, the ratios to the script's JSON (eager; grouped_mm), or, when
    /// <paramref name="liveGrouped"/> holds the live peer's rates from the same interleaved rounds, the ratio to those: the
    /// median of the per-round ratios with their min–max.
    /// </summary>
    static void Row(BenchReport report, string name, double[] rates, JsonElement? pytorch, JsonElement? grouped, double[]? liveGrouped, string key)
    {
        double value = Stats.Median(rates);
        var row = new Dictionary<string, object> { ["measure"] = name, ["ours"] = value, ["ours_spread"] = Stats.Spread(rates), ["runs"] = rates.Length, ["unit"] = "tok/s" };
        string ratio = "";
        if (pytorch is { } p && p.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number)
        {
            row["pytorch eager"] = v.GetDouble();
            row["ours/eager"] = value / v.GetDouble();
            ratio = $" ({value / v.GetDouble():F2}× PyTorch eager)";
        }
        if (liveGrouped is { Length: > 0 } && liveGrouped.Length == rates.Length)
        {
            var ratios = Stats.Ratios(rates, liveGrouped);
            row["pytorch grouped_mm"] = Stats.Median(liveGrouped);
            row["pytorch_grouped_mm_spread"] = Stats.Spread(liveGrouped);
            row["pytorch_grouped_mm_source"] = "live, interleaved";
            row["ours/grouped_mm"] = Stats.Median(ratios);
            row["ratio_spread"] = Stats.Spread(ratios);
        }
        else if (grouped is { } g && g.TryGetProperty(key, out var w) && w.ValueKind == JsonValueKind.Number)
        {
            row["pytorch grouped_mm"] = w.GetDouble();
            row["ours/grouped_mm"] = value / w.GetDouble();
        }
        report.Rows.Add(row);
        Console.WriteLine($"  {name}: {value:F1} tok/s [{Stats.Spread(rates)}]{ratio}{(row.TryGetValue("ours/grouped_mm", out var gr) ? $", {(double)gr:F2}× grouped_mm" : "")}");
    }

    static JsonElement? ReadBaseline(string variable)
    {
        var path = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(path) || !File.Exists(path)) return null;
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }
}
