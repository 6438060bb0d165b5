using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Torch.SafeTensors;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>
/// A tiny base trained for a few steps (3 layers, q-LoRA attention: q_a_proj/q_b_proj) and a LoRA SFT run over it on pairs it can
/// learn by heart, shared by <see cref="LoraTests"/>.
/// </summary>
public sealed class LoraRuns : IDisposable
{
    readonly TempDir _tmp = new("dss-lora");

    public static readonly string[] Colours = ["red", "blue", "green", "amber", "violet", "cyan", "black", "white"];

    public LoraRuns()
    {
        Corpus = Path.Combine(_tmp.Path, "corpus.txt");
        File.WriteAllText(Corpus, string.Join("\n\n", LmTestData.SciFactTexts(40).Select(t => t.Replace("\n\n", " "))));
        Base = Path.Combine(_tmp.Path, "base");
        LmTrainer.Train(BaseOptions(Corpus, Base));
        BaseSha = Sha(Path.Combine(Base, DeepSeekCheckpoint.WeightsFile));
        Pairs = Path.Combine(_tmp.Path, "pairs.jsonl");
        // 8 facts, each asked 4 times: the validation pairs (every 5th) are facts the training pairs also teach
        File.WriteAllLines(Pairs, Enumerable.Range(0, 32).Select(i => JsonSerializer.Serialize(new { prompt = $"Which colour is item {i % 8}?", response = Colours[i % 8] })));
        Adapter = Path.Combine(_tmp.Path, "adapter");
        Result = LmTrainer.Train(SftOptions(Adapter));
    }

    public static LmTrainOptions BaseOptions(string corpus, string output) => new()
    {
        CorpusPath = corpus, OutputPath = output, VocabSize = 300, SeqLen = 32, BatchSize = 4, Hidden = 32, Intermediate = 64, Heads = 2,
        KvLoraRank = 16, QLoraRank = 16, QkNopeHeadDim = 8, QkRopeHeadDim = 8, VHeadDim = 8, Experts = 4, MoeIntermediate = 32, Layers = 3,
        MaxSteps = 12, EvalEvery = 0, LearningRate = 3e-3, Seed = 11,
    };

    public LmTrainOptions SftOptions(string output) => new()
    {
        SftPath = Pairs, InitPath = Base, OutputPath = output, SeqLen = 48, BatchSize = 8, MaxSteps = 150, LearningRate = 1e-2, WarmupSteps = 4,
        ValidationFraction = 0.2, EvalEvery = 0, WeightDecay = 0, Seed = 5,
        Lora = new LoraSettings { Rank = 8, Alpha = 16, Targets = LoraSettings.ParseTargets("attention,mlp,lm_head") },
    };

    public static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    public string Root => _tmp.Path;
    public string Corpus { get; }
    public string Base { get; }
    public string BaseSha { get; }
    public string Pairs { get; }
    public string Adapter { get; }
    public LmTrainResult Result { get; }

    public void Dispose() => _tmp.Dispose();
}

/// <summary>LoRA adapters: PEFT's layout and initialisation, the unmerged and merged forward, SFT training with a frozen base, bad input.</summary>
public class LoraTests(LoraRuns r) : IClassFixture<LoraRuns>
{
    static readonly long[] Probe = [1, 40, 77, 120, 5, 200, 33, 90, 150, 260, 12, 8];

    static float[] Logits(DeepSeekModel model)
    {
        using var _ = no_grad();
        using var ids = tensor(Probe, new long[] { 1, Probe.Length });
        using var logits = model.Forward(ids);
        return logits.data<float>().ToArray();
    }

    static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    [Fact]
    public void A_new_adapter_starts_as_PEFT_does_and_changes_nothing()
    {
        using var model = DeepSeekModel.Load(r.Base);
        var before = Logits(model);
        using (var adapters = LoraAdapters.Attach(model, new LoraSettings { Rank = 4, Targets = LoraSettings.ParseTargets("attention") }, seed: 3))
        {
            // q-LoRA model: q_a_proj and q_b_proj are adapted, the absent q_proj skipped
            Assert.Equal(["q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"], adapters.Settings.Targets);
            Assert.Equal(3 * 5, adapters.Modules.Count);
            foreach (var (name, t) in adapters.NamedTensors())
            {
                if (name.EndsWith("lora_B.weight", StringComparison.Ordinal)) Assert.Equal(0.0, t.abs().max().item<float>());
                else
                {
                    double bound = 1.0 / Math.Sqrt(t.shape[1]); // kaiming_uniform_(a=√5)
                    Assert.True(t.abs().max().item<float>() <= bound + 1e-7);
                    Assert.True(t.abs().max().item<float>() > bound * 0.5, "A is drawn from the whole range");
                }
            }
            Assert.Equal(before, Logits(model)); // B = 0: exactly the base
        }
        Assert.Equal(before, Logits(model));
    }

    [Fact]
    public void SFT_with_LoRA_trains_the_adapters_only_and_learns_the_pairs()
    {
        Assert.Equal(LoraRuns.Sha(Path.Combine(r.Base, DeepSeekCheckpoint.WeightsFile)), r.BaseSha); // the base folder is untouched
        Assert.False(File.Exists(Path.Combine(r.Adapter, DeepSeekCheckpoint.WeightsFile)));
        Assert.True(r.Result.FinalValidationLoss < r.Result.InitialValidationLoss - 1.0,
            $"validation loss on the responses {r.Result.InitialValidationLoss} → {r.Result.FinalValidationLoss}");
        using var file = SafeTensorsFile.Open(Path.Combine(r.Adapter, LoraAdapters.WeightsFile));
        Assert.Equal(r.Result.Parameters, file.Entries.Values.Sum(e => e.ElementCount));

        // the model answers a training prompt with its response
        using var g = DeepSeekGenerator.Load(r.Base, new DeepSeekModelOptions { Adapter = r.Adapter });
        var prompt = g.EncodeChat([ChatMessage.User("Which colour is item 3?")]);
        var answer = g.Generate([prompt], new GenerationOptions { Greedy = true, MaxNewTokens = 6 })[0];
        Assert.Equal(LoraRuns.Colours[3], answer.Text.Trim());
    }

    [Fact]
    public void The_adapter_folder_is_PEFT_s_layout()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(r.Adapter, LoraAdapters.ConfigFile)))!.AsObject();
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);
        Assert.Equal(8, (int)config["r"]!);
        Assert.Equal(16.0, (double)config["lora_alpha"]!);
        Assert.Equal(Path.GetFullPath(r.Base), (string?)config["base_model_name_or_path"]);
        var targets = config["target_modules"]!.AsArray().Select(t => (string)t!).ToList();
        Assert.Equal(["q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"], targets);
        var peftName = new Regex(@"^base_model\.model\.(model\.layers\.(\d+)\.(self_attn|mlp|mlp\.shared_experts)\.)?([a-z_]+)\.lora_(A|B)\.weight$");
        using var model = DeepSeekModel.Load(r.Base);
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        using var file = SafeTensorsFile.Open(Path.Combine(r.Adapter, LoraAdapters.WeightsFile));
        foreach (var (name, e) in file.Entries)
        {
            var m = peftName.Match(name);
            Assert.True(m.Success, name);
            Assert.Contains(m.Groups[4].Value, targets);
            Assert.Equal(SafeTensorsDType.F32, e.DType);
            var weight = shapes[name[LoraAdapters.PeftPrefix.Length..^".lora_A.weight".Length] + ".weight"];
            Assert.Equal(m.Groups[5].Value == "A" ? new[] { 8L, weight[1] } : new[] { weight[0], 8L }, e.Shape);
        }
        // every attention projection, the dense MLP (layer 0), the shared experts (MoE layers 1, 2), the LM head: 3·5 + 3·3 + 1
        Assert.Equal(2 * (3 * 5 + 3 * 3 + 1), file.Entries.Count);
    }

    [Fact]
    public void Merged_unmerged_and_latent_cache_agree()
    {
        using var plain = DeepSeekModel.Load(r.Base);
        using var adapted = DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = r.Adapter });
        using var merged = DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = r.Adapter, MergeAdapter = true });
        Assert.NotNull(adapted.Adapters);
        Assert.Null(merged.Adapters);
        var a = Logits(adapted);
        Assert.True(MaxDiff(Logits(plain), a) > 1e-2, "a trained adapter changes the logits");
        Assert.True(MaxDiff(Logits(merged), a) < 1e-4, $"merged vs unmerged {MaxDiff(Logits(merged), a)}");

        // MLA's absorbed attention reads kv_b_proj's matrix itself: it must see the adapter too
        using var g = DeepSeekGenerator.Load(r.Base, new DeepSeekModelOptions { Adapter = r.Adapter });
        var prompt = g.EncodeChat([ChatMessage.User("Which colour is item 5?")]);
        var full = g.Generate([prompt], new GenerationOptions { Greedy = true, MaxNewTokens = 8, IgnoreEos = true, CacheMode = KvCacheMode.Full })[0];
        var latent = g.Generate([prompt], new GenerationOptions { Greedy = true, MaxNewTokens = 8, IgnoreEos = true, CacheMode = KvCacheMode.Latent })[0];
        Assert.Equal(full.GeneratedIds, latent.GeneratedIds);
    }

    [Fact]
    public void Supervised_pairs_take_loss_on_the_response_only_and_keep_it_when_cut()
    {
        var tok = Text.Tokenization.ByteLevelBpeTokenizer.Load(r.Base);
        string path = Path.Combine(r.Root, "one.jsonl");
        File.WriteAllText(path, JsonSerializer.Serialize(new { system = "Be brief.", prompt = string.Join(" ", Enumerable.Repeat("long prompt words", 30)), response = "blue" }) + "\n");
        var pairs = SftExamples.Read(path, tok, DeepSeekVersion.V3, seqLen: 24, validationFraction: 0);
        Assert.Equal(1, pairs.PromptsCut);
        var (ids, promptLength) = pairs.Pair(0);
        Assert.Equal(24, ids.Length);
        Assert.Equal(tok.BosTokenId, ids[0]);                      // BOS kept
        Assert.Equal(tok.EosTokenId, ids[^1]);                     // the response ends with EOS
        var response = tok.Encode("blue", addSpecialTokens: false);
        Assert.Equal(response, ids[promptLength..^1]);
        var chatEnd = tok.Encode(ChatTemplate.AssistantTag, addSpecialTokens: false);
        Assert.Equal(chatEnd, ids[(promptLength - chatEnd.Length)..promptLength]); // the prompt's end (the generation prompt) kept

        File.AppendAllText(path, JsonSerializer.Serialize(new { prompt = "short", response = "red" }) + "\n");
        using var batch = SftExamples.Read(path, tok, DeepSeekVersion.V3, 24, 0).Batch([0, 1], CPU);
        var labels = batch.Labels.data<long>().ToArray();
        var padded = batch.Ids.data<long>().ToArray();
        Assert.Equal(new long[] { 2, 24 }, batch.Ids.shape);
        for (int j = 0; j < 24; j++) Assert.Equal(j >= promptLength ? ids[j] : -100, labels[j]);
        var (short_, shortPrompt) = SftExamples.Read(path, tok, DeepSeekVersion.V3, 24, 0).Pair(1);
        for (int j = 0; j < 24; j++)
        {
            Assert.Equal(j < short_.Length ? short_[j] : tok.PadTokenId!.Value, padded[24 + j]);               // right-padded
            Assert.Equal(j >= shortPrompt && j < short_.Length ? short_[j] : -100, labels[24 + j]);            // padding takes no loss
        }
    }

    [Fact]
    public void Bad_adapters_and_settings_are_clear_errors()
    {
        using var tmp = new TempDir("dss-lora-bad");
        Assert.Contains("adapter folder not found", Assert.Throws<InvalidInputException>(() => DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = Path.Combine(tmp.Path, "none") })).Message);
        Assert.Contains("--merge needs --adapter", Assert.Throws<InvalidInputException>(() => DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { MergeAdapter = true })).Message);

        // an adapter of another model: the module exists, the shapes do not fit
        string other = Path.Combine(tmp.Path, "other");
        var bigger = LoraRuns.BaseOptions(r.Corpus, "-") with { Hidden = 48 };
        using (var m = DeepSeekModel.Create(bigger.ModelConfig(300, 0, 1, 2), new DeepSeekModelOptions { Seed = 1 }))
        using (var ad = LoraAdapters.Attach(m, new LoraSettings { Rank = 4 }, seed: 1))
            ad.Save(other, "elsewhere");
        var e = Assert.Throws<CheckpointException>(() => DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = other }));
        Assert.Contains("kv_a_proj_with_mqa", e.Message);
        Assert.Contains("needs lora_A [4, 32]", e.Message);

        string Variant(string name, Action<JsonObject> change)
        {
            string dir = Path.Combine(tmp.Path, name);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(r.Adapter, LoraAdapters.WeightsFile), Path.Combine(dir, LoraAdapters.WeightsFile));
            var c = JsonNode.Parse(File.ReadAllText(Path.Combine(r.Adapter, LoraAdapters.ConfigFile)))!.AsObject();
            change(c);
            File.WriteAllText(Path.Combine(dir, LoraAdapters.ConfigFile), c.ToJsonString());
            return dir;
        }
        Assert.Contains("fan_in_fan_out", Assert.Throws<CheckpointException>(() => DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = Variant("fan", c => c["fan_in_fan_out"] = true) })).Message);
        Assert.Contains("DoRA", Assert.Throws<CheckpointException>(() => DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = Variant("dora", c => c["use_dora"] = true) })).Message);
        Assert.Contains("needs lora_A [4,", Assert.Throws<CheckpointException>(() => DeepSeekModel.Load(r.Base, new DeepSeekModelOptions { Adapter = Variant("rank", c => c["r"] = 4) })).Message);

        using (var model = DeepSeekModel.Load(r.Base))
            Assert.Contains("no linear module named 'wq'", Assert.Throws<InvalidInputException>(() => LoraAdapters.Attach(model, new LoraSettings { Targets = ["wq", "o_proj"] })).Message);
        Assert.Contains("needs --init", Assert.Throws<InvalidInputException>(() => LmTrainer.Train(r.SftOptions(Path.Combine(tmp.Path, "x")) with { InitPath = null })).Message);
        Assert.Contains("exclude each other", Assert.Throws<InvalidInputException>(() => LmTrainer.Train(r.SftOptions(Path.Combine(tmp.Path, "x")) with { CorpusPath = r.Corpus })).Message);
        string broken = Path.Combine(tmp.Path, "broken.jsonl");
        File.WriteAllLines(broken, ["{\"prompt\": \"a\", \"response\": \"b\"}", "{\"prompt\": \"a\"}"]);
        var sft = Assert.Throws<InvalidInputException>(() => LmTrainer.Train(r.SftOptions(Path.Combine(tmp.Path, "y")) with { SftPath = broken }));
        Assert.Contains("broken.jsonl:2: no \"response\"", sft.Message);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "y")));
    }
}
