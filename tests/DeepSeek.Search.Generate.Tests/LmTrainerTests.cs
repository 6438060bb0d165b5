using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.TestKit;
using static TorchSharp.torch;
using DeepSeek.Search.Torch.SafeTensors;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Generate.Training;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>Synchronous progress sink (Progress&lt;T&gt; would post to a thread pool).</summary>
sealed class Reporter(Action<ProgressEvent> report) : IProgress<ProgressEvent>
{
    public void Report(ProgressEvent value) => report(value);
}

/// <summary>
/// Two short runs on the first 300 SciFact documents, shared by the tests of <see cref="LmTrainerTests"/>: the same seed and data,
/// with DeepSeek-V3's bias update (γ = 0.01, large for a 150-step run) and without it (γ = 0). The first also records the logits of
/// the in-memory model once training finished.
/// </summary>
public sealed class TrainedLms : IDisposable
{
    readonly TempDir _tmp = new("dss-train-lm");

    public TrainedLms()
    {
        Corpus = LmTestData.SciFactSlice(_tmp.Path, 300);
        Balanced = Path.Combine(_tmp.Path, "balanced");
        Unbalanced = Path.Combine(_tmp.Path, "unbalanced");
        ProbeIds = new long[] { 0, 35, 71, 120, 44, 280, 301, 17, 99, 400, 256, 3, 88, 150, 1, 0, 77, 211, 500, 42 };
        BalancedResult = LmTrainer.Train(Options(Balanced, 0.01), null, onFinished: model =>
        {
            using var ids = tensor(ProbeIds, new long[] { 1, ProbeIds.Length });
            using var _ = no_grad();
            using var logits = model.Forward(ids);
            InMemoryLogits = logits.data<float>().ToArray();
        });
        UnbalancedResult = LmTrainer.Train(Options(Unbalanced, 0));
    }

    public LmTrainOptions Options(string output, double gamma) => new()
    {
        CorpusPath = Corpus,
        OutputPath = output,
        VocabSize = 512,
        SeqLen = 64,
        BatchSize = 8,
        Hidden = 64,
        Intermediate = 192,
        MaxSteps = 150,
        LearningRate = 3e-3,
        LogEvery = 10,
        EvalEvery = 75,
        ValidationMaxBlocks = 64,
        BiasUpdateSpeed = gamma,
        Seed = 7,
    };

    public string Root => _tmp.Path;
    public string Corpus { get; }
    public string Balanced { get; }
    public string Unbalanced { get; }
    public LmTrainResult BalancedResult { get; }
    public LmTrainResult UnbalancedResult { get; }
    public long[] ProbeIds { get; }
    public float[] InMemoryLogits { get; private set; } = [];

    public void Dispose() => _tmp.Dispose();
}

/// <summary>dss train-lm end to end on a real corpus slice: the loss falls, experts stay busy, the folder is a loadable HF checkpoint.</summary>
public class LmTrainerTests(TrainedLms f) : IClassFixture<TrainedLms>
{
    [Fact]
    public void Training_and_validation_loss_fall()
    {
        foreach (var (dir, result) in new[] { (f.Balanced, f.BalancedResult), (f.Unbalanced, f.UnbalancedResult) })
        {
            Assert.Equal(150, result.Steps);
            var curve = LmTrainingCurve.ReadCsv(Path.Combine(dir, LmTrainingCurve.CsvFile));
            var losses = curve.Points.Where(p => p.Loss is not null).Select(p => p.Loss!.Value).ToList();
            Assert.Equal(15, losses.Count);
            double first = losses.Take(3).Average(), last = losses.TakeLast(3).Average();
            Assert.True(last < first - 0.5, $"train loss {first:F3} → {last:F3}");
            Assert.True(result.InitialValidationLoss > 6.0); // ≈ ln 512 at initialisation
            Assert.True(result.FinalValidationLoss < result.InitialValidationLoss - 0.5,
                $"validation loss {result.InitialValidationLoss:F3} → {result.FinalValidationLoss:F3}");
            Assert.Equal(3, curve.Points.Count(p => p.ValidationLoss is not null)); // steps 0, 75, 150
        }
    }

    [Fact]
    public void Bias_update_keeps_every_expert_busy_and_balances_the_load()
    {
        var balanced = f.BalancedResult.FinalValidationLoads;
        var unbalanced = f.UnbalancedResult.FinalValidationLoads;
        Assert.Single(balanced); // layer 0 dense, layer 1 MoE
        Assert.Equal(1, balanced[0].Layer);
        Assert.All(balanced, l => Assert.All(l.Counts, c => Assert.True(c > 0, $"idle expert in layer {l.Layer}: [{string.Join(", ", l.Counts)}]")));
        for (int i = 0; i < balanced.Count; i++)
        {
            Assert.True(balanced[i].CoefficientOfVariation < unbalanced[i].CoefficientOfVariation,
                $"CV with the bias update {balanced[i].CoefficientOfVariation:F3}, without {unbalanced[i].CoefficientOfVariation:F3}");
            Assert.True(balanced[i].MaxOverMean < unbalanced[i].MaxOverMean);
            Assert.Equal(64L * 64 * 2, balanced[i].Total); // 64 validation blocks × 64 tokens × top-2
        }

        // the biases moved (and only with γ > 0), and are stored in float32 with the weights
        using var trained = SafeTensorsFile.Open(Path.Combine(f.Balanced, DeepSeekCheckpoint.WeightsFile));
        using var plain = SafeTensorsFile.Open(Path.Combine(f.Unbalanced, DeepSeekCheckpoint.WeightsFile));
        const string bias = "model.layers.1.mlp.gate.e_score_correction_bias";
        Assert.Equal(SafeTensorsDType.F32, trained.Entries[bias].DType);
        using var b = trained.ReadTensor(bias);
        using var z = plain.ReadTensor(bias);
        Assert.True(b.abs().max().item<float>() > 0.01);
        Assert.Equal(0f, z.abs().max().item<float>());
    }

    [Fact]
    public void Output_is_a_Hugging_Face_folder_that_reloads_with_identical_logits()
    {
        foreach (var file in new[] { "config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                     "training_curve.csv", "training_curve.png", LmTrainer.SummaryFile })
            Assert.True(File.Exists(Path.Combine(f.Balanced, file)), file + " missing");
        Assert.False(Directory.Exists(f.Balanced + LmTrainer.PartialSuffix));
        Assert.Single(Directory.GetDirectories(Path.Combine(f.Balanced, "checkpoints")));

        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(f.Balanced, "config.json"))))
        {
            var c = doc.RootElement;
            Assert.Equal("deepseek_v3", c.GetProperty("model_type").GetString());
            Assert.Equal("DeepseekV3ForCausalLM", c.GetProperty("architectures")[0].GetString());
            Assert.Equal(10000.0, c.GetProperty("rope_parameters").GetProperty("rope_theta").GetDouble());
            Assert.Equal(512, c.GetProperty("vocab_size").GetInt32());
            Assert.Equal(1, c.GetProperty("first_k_dense_replace").GetInt32());
            Assert.Equal(8, c.GetProperty("n_routed_experts").GetInt32());
            Assert.Equal(1, c.GetProperty("eos_token_id").GetInt32());
        }
        using (var weights = SafeTensorsFile.Open(Path.Combine(f.Balanced, DeepSeekCheckpoint.WeightsFile)))
        {
            Assert.Contains("model.layers.1.mlp.experts.7.down_proj.weight", weights.Entries.Keys); // per-expert layout
            Assert.Contains("model.layers.1.mlp.shared_experts.gate_proj.weight", weights.Entries.Keys);
            Assert.DoesNotContain("model.layers.1.mlp.experts.gate_up_proj", weights.Entries.Keys);
            Assert.All(weights.Entries.Values, e => Assert.Equal(SafeTensorsDType.F32, e.DType));
        }

        using var model = DeepSeekModel.Load(f.Balanced);
        using var ids = tensor(f.ProbeIds, new long[] { 1, f.ProbeIds.Length });
        using var _ = no_grad();
        using var logits = model.Forward(ids);
        var reloaded = logits.data<float>().ToArray();
        Assert.Equal(f.InMemoryLogits.Length, reloaded.Length);
        Assert.Equal(f.ProbeIds.Length * 512, reloaded.Length);
        double maxDiff = f.InMemoryLogits.Zip(reloaded, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff <= 1e-6, $"max |Δlogit| {maxDiff}");
    }

    [Fact]
    public void Trained_tokenizer_round_trips_and_the_model_generates_and_writes_logits()
    {
        using var generator = DeepSeekGenerator.Load(f.Balanced);
        var tok = generator.Tokenizer!;
        Assert.Equal(512, tok.VocabSize);
        foreach (var text in new[] { "Vitamin D deficiency is associated with", "Zürich — 東京 😀 (p<0.05)", " two  spaces\nand lines " })
        {
            var ids = tok.Encode(text);
            Assert.Equal(0, ids[0]);
            Assert.Equal(text, tok.Decode(ids, skipSpecialTokens: true));
        }
        var prompt = generator.EncodePrompt("The role of");
        var result = generator.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 6, Greedy = true, IgnoreEos = true })[0];
        Assert.Equal(6, result.GeneratedIds.Length);
        Assert.All(result.GeneratedIds, id => Assert.InRange(id, 0, 511));

        string path = Path.Combine(f.Root, "logits.safetensors");
        GenerationRun.WriteLogits(generator.Model, prompt, path);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(new long[] { prompt.Length, 512 }, file.Entries["logits"].Shape);
        Assert.Equal(SafeTensorsDType.F32, file.Entries["logits"].DType);
        Assert.Equal(SafeTensorsDType.I64, file.Entries["input_ids"].DType);
        using var storedIds = file.ReadTensor("input_ids");
        Assert.Equal(prompt.Select(i => (long)i).ToArray(), storedIds.data<long>().ToArray());
    }
}

/// <summary>Resume: an interrupted run continued from its checkpoint ends with the weights of a straight run.</summary>
public class LmTrainerResumeTests
{
    static LmTrainOptions Tiny(string corpus, string output) => new()
    {
        CorpusPath = corpus,
        OutputPath = output,
        VocabSize = 300,
        SeqLen = 32,
        BatchSize = 4,
        Hidden = 32,
        Intermediate = 64,
        Heads = 2,
        KvLoraRank = 16,
        QLoraRank = 16,
        QkNopeHeadDim = 8,
        QkRopeHeadDim = 8,
        VHeadDim = 8,
        Experts = 4,
        MoeIntermediate = 32,
        Layers = 3,
        MaxSteps = 12,
        CheckpointEvery = 6,
        EvalEvery = 0,
        LogEvery = 3,
        LearningRate = 3e-3,
        BiasUpdateSpeed = 0.01,
        SeqAuxLoss = 0.001,
        Seed = 11,
    };

    [Fact]
    public void Resumed_run_ends_with_the_weights_of_a_straight_run()
    {
        using var tmp = new TempDir("dss-train-lm-resume");
        // a plain text corpus: documents separated by blank lines
        string corpus = Path.Combine(tmp.Path, "corpus.txt");
        File.WriteAllText(corpus, string.Join("\n\n", LmTestData.SciFactTexts(40).Select(t => t.Replace("\n\n", " "))));
        string straight = Path.Combine(tmp.Path, "straight"), resumed = Path.Combine(tmp.Path, "resumed");

        var a = LmTrainer.Train(Tiny(corpus, straight));
        Assert.Equal(40, a.Documents);
        Assert.Equal(12, a.Steps);

        using (var cts = new CancellationTokenSource())
        {
            var progress = new Reporter(p => { if (p is LmCheckpointProgress { Step: 6 }) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => LmTrainer.Train(Tiny(corpus, resumed), progress, cts.Token));
        }
        Assert.False(Directory.Exists(resumed));
        Assert.True(Directory.Exists(Path.Combine(resumed + LmTrainer.PartialSuffix, "checkpoints", "step-0000006")));

        // other settings cannot continue it
        var e = Assert.Throws<InvalidInputException>(() => LmTrainer.Train(Tiny(corpus, resumed) with { Resume = true, LearningRate = 1e-3 }));
        Assert.Contains("other settings", e.Message);

        var b = LmTrainer.Train(Tiny(corpus, resumed) with { Resume = true });
        Assert.Equal(6, b.ResumedFromStep);
        Assert.Equal(12, b.Steps);
        Assert.False(Directory.Exists(resumed + LmTrainer.PartialSuffix));

        using var fa = SafeTensorsFile.Open(Path.Combine(straight, DeepSeekCheckpoint.WeightsFile));
        using var fb = SafeTensorsFile.Open(Path.Combine(resumed, DeepSeekCheckpoint.WeightsFile));
        Assert.Equal(fa.Entries.Keys.Order(), fb.Entries.Keys.Order());
        Assert.Contains("model.layers.2.mlp.gate.e_score_correction_bias", fa.Entries.Keys);
        foreach (var name in fa.Entries.Keys)
        {
            using var ta = fa.ReadTensor(name);
            using var tb = fb.ReadTensor(name);
            double diff = (ta - tb).abs().max().item<float>();
            Assert.True(diff <= 1e-6, $"{name}: max |Δ| {diff}");
        }
        Assert.Equal(a.FinalValidationLoss, b.FinalValidationLoss);
        Assert.Equal(a.LastLoss, b.LastLoss);
    }
}

/// <summary>A given tokenizer (--tokenizer) is used as it is and copied into the model folder.</summary>
public class LmTrainerTokenizerTests
{
    [Fact]
    public void A_given_tokenizer_is_used_and_copied()
    {
        using var tmp = new TempDir("dss-train-lm-tok");
        var texts = LmTestData.SciFactTexts(20);
        string tokDir = Path.Combine(tmp.Path, "tok");
        BpeTrainer.Train(texts, 320).Save(tokDir);
        string corpus = Path.Combine(tmp.Path, "corpus.txt");
        File.WriteAllText(corpus, string.Join("\n\n", texts));
        string output = Path.Combine(tmp.Path, "model");
        var r = LmTrainer.Train(new LmTrainOptions
        {
            CorpusPath = corpus, OutputPath = output, TokenizerPath = tokDir, VocabSize = 9999, SeqLen = 16, BatchSize = 2, Hidden = 32, Heads = 2,
            MaxSteps = 2, ValidationFraction = 0,
        });
        Assert.False(r.TrainedTokenizer);
        Assert.Equal(320, r.VocabSize);
        Assert.Equal(0, r.ValidationBlocks);
        Assert.Null(r.FinalValidationLoss);
        Assert.Empty(r.FinalValidationLoads);
        foreach (var file in new[] { ByteLevelBpeTokenizer.TokenizerFile, ByteLevelBpeTokenizer.TokenizerConfigFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(tokDir, file)), File.ReadAllBytes(Path.Combine(output, file)));
        Assert.Equal(320, DeepSeekConfig.Load(Path.Combine(output, DeepSeekConfig.FileName)).VocabSize);
    }
}

/// <summary>Bad input fails with one clear error and never replaces an existing model.</summary>
public class LmTrainerBadInputTests
{
    static LmTrainOptions Small(string corpus, string output) => new()
    {
        CorpusPath = corpus, OutputPath = output, VocabSize = 300, SeqLen = 16, BatchSize = 2, Hidden = 32, Heads = 2, MaxSteps = 2,
    };

    [Fact]
    public void Empty_corpus_is_a_clear_error_and_an_existing_model_survives()
    {
        using var tmp = new TempDir("dss-train-lm-bad");
        string empty = Path.Combine(tmp.Path, "empty.jsonl");
        File.WriteAllText(empty, "");
        string output = Path.Combine(tmp.Path, "model");
        var e = Assert.Throws<InvalidInputException>(() => LmTrainer.Train(Small(empty, output)));
        Assert.Contains("no text", e.Message);
        Assert.False(Directory.Exists(output));
        Assert.False(Directory.Exists(output + LmTrainer.PartialSuffix));

        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "marker.txt"), "keep me");
        Assert.Throws<InvalidInputException>(() => LmTrainer.Train(Small(empty, output) with { Overwrite = true }));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(output, "marker.txt")));
        Assert.False(Directory.Exists(output + LmTrainer.PartialSuffix));

        string whitespace = Path.Combine(tmp.Path, "blank.txt");
        File.WriteAllText(whitespace, "\n\n   \n");
        Assert.Contains("no text", Assert.Throws<InvalidInputException>(() => LmTrainer.Train(Small(whitespace, Path.Combine(tmp.Path, "m2")))).Message);
    }

    [Fact]
    public void Existing_output_missing_files_and_bad_options_are_refused()
    {
        using var tmp = new TempDir("dss-train-lm-bad");
        string corpus = Path.Combine(tmp.Path, "corpus.txt");
        File.WriteAllText(corpus, "A short document about cells.\n\nAnother one, about proteins and genes.");
        string output = Path.Combine(tmp.Path, "model");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "marker.txt"), "keep me");

        InvalidInputException Fails(LmTrainOptions o) => Assert.Throws<InvalidInputException>(() => LmTrainer.Train(o));
        Assert.Contains("already exists", Fails(Small(corpus, output)).Message);
        Assert.Contains("nothing to resume", Fails(Small(corpus, output) with { Resume = true }).Message);
        string fresh = Path.Combine(tmp.Path, "fresh");
        Assert.Contains("not found", Fails(Small(Path.Combine(tmp.Path, "missing.jsonl"), fresh)).Message);
        Assert.Contains("--tokenizer", Fails(Small(corpus, fresh) with { TokenizerPath = tmp.Path }).Message);
        Assert.Contains("--vocab-size", Fails(Small(corpus, fresh) with { VocabSize = 100 }).Message);
        Assert.Contains("--seq-len", Fails(Small(corpus, fresh) with { SeqLen = 1 }).Message);
        Assert.Contains("--experts-per-token", Fails(Small(corpus, fresh) with { ExpertsPerToken = 9 }).Message);
        Assert.Contains("--dense-layers", Fails(Small(corpus, fresh) with { DenseLayers = 3 }).Message);
        Assert.Contains("--qk-rope-dim", Fails(Small(corpus, fresh) with { QkRopeHeadDim = 7 }).Message);
        Assert.Contains("--bias-update-speed", Fails(Small(corpus, fresh) with { BiasUpdateSpeed = -1 }).Message);
        Assert.Contains("too small", Fails(Small(corpus, fresh) with { SeqLen = 4096 }).Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(output, "marker.txt")));
        Assert.False(Directory.Exists(fresh));
        Assert.False(Directory.Exists(fresh + LmTrainer.PartialSuffix));
    }
}

/// <summary>The pieces of a training step: the loss, the balance loss, gradients through the router, the bias rule.</summary>
public class LmTrainingStepTests
{
    static DeepSeekConfig Config => new LmTrainOptions { CorpusPath = "-", OutputPath = "-", Hidden = 32, Heads = 2, KvLoraRank = 16, Experts = 4 }
        .ModelConfig(64, 0, 1, null);

    [Fact]
    public void Gradients_reach_the_router_through_the_routing_weights_and_the_balance_loss()
    {
        using var model = DeepSeekModel.Create(Config, new DeepSeekModelOptions { Seed = 3 });
        var router = model.Layers[1].Moe!.Router.Weight;
        using var ids = randint(0, 64, new long[] { 2, 16 }, generator: new Generator(5));

        using (var observer = new MoeBalanceObserver(model.Config, seqAuxAlpha: 0.0))
        {
            using var logits = model.Forward(ids, observer);
            using var loss = LmTrainer.CausalLmLoss(logits, ids);
            Assert.InRange(loss.item<float>(), Math.Log(64) - 0.3, Math.Log(64) + 0.3);
            Assert.Null(observer.TakeLoss());
            loss.backward();
            Assert.True(router.grad!.abs().sum().item<float>() > 0, "no gradient through the routing weights");
            Assert.Equal(2 * 16 * 2, observer.Counts[1].Sum());
        }
        router.grad!.zero_();
        using (var observer = new MoeBalanceObserver(model.Config, seqAuxAlpha: 0.01) { Sequences = 2 })
        {
            using var logits = model.Forward(ids, observer);
            using var aux = observer.TakeLoss();
            Assert.NotNull(aux);
            Assert.InRange(aux!.item<float>(), 0.005, 0.02); // ≈ α·1 near uniform routing
            aux.backward();
            Assert.True(router.grad!.abs().sum().item<float>() > 0, "no gradient from the sequence-wise balance loss");
        }
    }

    [Fact]
    public void Bias_update_moves_each_expert_towards_the_mean_load()
    {
        using var model = DeepSeekModel.Create(Config, new DeepSeekModelOptions { Seed = 3 });
        var counts = new Dictionary<int, long[]> { [1] = new long[] { 10, 0, 5, 5 } };
        BiasBalancer.Update(model, counts, 0.001);
        BiasBalancer.Update(model, counts, 0.001);
        var bias = model.Layers[1].Moe!.Router.CorrectionBias!.data<float>().ToArray();
        Assert.Equal(new[] { -0.002f, 0.002f, 0f, 0f }, bias);
        BiasBalancer.Update(model, counts, 0);
        Assert.Equal(bias, model.Layers[1].Moe!.Router.CorrectionBias!.data<float>().ToArray());
    }

    [Fact]
    public void Blocks_are_packed_with_eos_between_documents_and_a_validation_slice()
    {
        var tok = BpeTrainer.Train(LmTestData.SciFactTexts(30), 400).Load();
        var texts = LmTestData.SciFactTexts(30);
        var blocks = PackedBlocks.Build(texts, tok, 32, 0.05);
        long expected = texts.Sum(t => tok.Encode(t, splitSpecialTokens: true).Length + 1L);
        Assert.Equal(expected / 32 * 32, blocks.Tokens);
        Assert.Equal(blocks.BlockCount, blocks.Train.Count + blocks.Validation.Count);
        Assert.All(blocks.Validation, b => Assert.Equal(19, b % 20));
        Assert.Empty(blocks.Train.Intersect(blocks.Validation));
        var first = new List<long>();
        blocks.CopyBlock(0, first);
        Assert.Equal(0, first[0]); // BOS opens the first document
        var all = new List<long>();
        for (int b = 0; b < blocks.BlockCount; b++) blocks.CopyBlock(b, all);
        Assert.True(all.Count(id => id == 1) >= Math.Min(texts.Length, blocks.BlockCount) - 1); // EOS after every complete document

        Assert.Equal(new[] { "one\nline two", "three" }, LmCorpus.SplitParagraphDocuments("one\r\nline two\n\n\n  \nthree\n"));
    }
}
