using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.TestKit;
using static TorchSharp.torch;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Generate.Tests;

public class DeepSeekCheckpointTests(Xunit.Abstractions.ITestOutputHelper log)
{
    static float[] Logits(DeepSeekModel model, string variant = "A")
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Fixtures.ToArray(model.Forward(Fixtures.Load(variant).Ids("input_ids")));
    }

    /// <summary>Copies a fixture checkpoint into <paramref name="dir"/>, letting <paramref name="edit"/> change its tensors.</summary>
    static void CopyWith(string source, string dir, Func<List<SafeTensorsItem>, List<SafeTensorsItem>> edit, Action<JsonObject>? editConfig = null)
    {
        using var scope = NewDisposeScope();
        using var f = SafeTensorsFile.Open(Path.Combine(source, "model.safetensors"));
        var items = f.Entries.Values.OrderBy(e => e.Begin).Select(e => new SafeTensorsItem(e.Name, e.DType, f.ReadTensor(e.Name))).ToList();
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), edit(items));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
    }

    [Theory]
    [InlineData(ExpertLayout.PerExpert, "hf")]
    [InlineData(ExpertLayout.Fused, "hf_fused")]
    public void Save_writes_the_hf_names_and_reloads_identically(ExpertLayout layout, string reference)
    {
        using var dir = new TempDir();
        using var model = DeepSeekModel.Load(Fixtures.ModelDir("A"));
        DeepSeekCheckpoint.Save(model, dir.Path, new DeepSeekSaveOptions { ExpertLayout = layout });
        using (var saved = SafeTensorsFile.Open(Path.Combine(dir.Path, "model.safetensors")))
        using (var hf = SafeTensorsFile.Open(Path.Combine(Fixtures.ModelDir("A", reference), "model.safetensors")))
        {
            Assert.Equal(hf.Entries.Keys.Order(StringComparer.Ordinal), saved.Entries.Keys.Order(StringComparer.Ordinal));
            foreach (var e in hf.Entries.Values) Assert.Equal(e.Shape, saved.Entries[e.Name].Shape);
            Assert.True(hf.Bytes("model.layers.1.mlp.gate.e_score_correction_bias").SequenceEqual(saved.Bytes("model.layers.1.mlp.gate.e_score_correction_bias")));
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "config.json")))!.AsObject();
        Assert.Equal("deepseek_v3", (string?)config["model_type"]);
        Assert.Equal("yarn", (string?)config["rope_parameters"]!["rope_type"]);
        Assert.Equal(24, (int)config["q_lora_rank"]!);
        Assert.True(File.Exists(Path.Combine(dir.Path, "generation_config.json")));
        using var reloaded = DeepSeekModel.Load(dir.Path);
        Assert.Equal(Logits(model), Logits(reloaded));
    }

    [Fact]
    public void Tied_models_save_without_lm_head_and_sharded_checkpoints_load()
    {
        using var dir = new TempDir();
        using var model = DeepSeekModel.Load(Fixtures.ModelDir("B"));
        Assert.True(model.Config.TieWordEmbeddings);
        Assert.DoesNotContain(model.ParameterShapes, p => p.Name == "lm_head.weight");
        DeepSeekCheckpoint.Save(model, dir.Path, new DeepSeekSaveOptions { MaxShardBytes = 200_000 });
        var shards = Directory.GetFiles(dir.Path, "model-*-of-*.safetensors");
        Assert.True(shards.Length >= 3, $"{shards.Length} shards");
        Assert.False(File.Exists(Path.Combine(dir.Path, "model.safetensors")));
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "model.safetensors.index.json")))!;
        Assert.Null(index["weight_map"]!["lm_head.weight"]);
        Assert.Equal(shards.Length, DeepSeekCheckpoint.WeightFiles(dir.Path).Count);
        using var reloaded = DeepSeekModel.Load(dir.Path);
        Assert.Equal(Logits(model, "B"), Logits(reloaded, "B"));

        // an index that names a tensor in the wrong shard is an error
        var map = index["weight_map"]!.AsObject();
        string first = map.First().Key;
        map[first] = Path.GetFileName(shards.First(s => Path.GetFileName(s) != (string?)map[first]));
        File.WriteAllText(Path.Combine(dir.Path, "model.safetensors.index.json"), index.ToJsonString());
        var e = Assert.Throws<CheckpointException>(() => DeepSeekModel.Load(dir.Path));
        Assert.Contains(first, e.Message);
    }

    [Fact]
    public void Half_precision_checkpoints_and_models()
    {
        using var dir = new TempDir();
        using var model = DeepSeekModel.Load(Fixtures.ModelDir("A"));
        DeepSeekCheckpoint.Save(model, dir.Path, new DeepSeekSaveOptions { DType = SafeTensorsDType.BF16 });
        using (var f = SafeTensorsFile.Open(Path.Combine(dir.Path, "model.safetensors")))
        {
            Assert.Equal(SafeTensorsDType.BF16, f.Entries["model.embed_tokens.weight"].DType);
            Assert.Equal(SafeTensorsDType.F32, f.Entries["model.layers.1.mlp.gate.e_score_correction_bias"].DType);
        }
        Assert.Equal("bfloat16", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "config.json")))!["dtype"]);
        using var fromBf16 = DeepSeekModel.Load(dir.Path);
        double d1 = Fixtures.MaxAbsDiff(Fixtures.Load("A").F("logits"), Logits(fromBf16));
        using var bf16Model = DeepSeekModel.Load(Fixtures.ModelDir("A"), new DeepSeekModelOptions { DType = ScalarType.BFloat16 });
        Assert.Equal(ScalarType.BFloat16, bf16Model.DType);
        double d2 = Fixtures.MaxAbsDiff(Fixtures.Load("A").F("logits"), Logits(bf16Model));
        log.WriteLine($"bf16 weights in fp32: {d1:G3}; bf16 model: {d2:G3}");
        Assert.InRange(d1, 1e-6, 0.25);
        Assert.InRange(d2, 1e-6, 0.5);
    }

    [Fact]
    public void Fp8_block_scaled_weights_are_dequantised_on_load()
    {
        using var fp8 = new TempDir();
        using var reference = new TempDir();
        const int block = 16;
        var dequantised = new Dictionary<string, Tensor>();
        using var scope = NewDisposeScope();
        // quantise every 2-D projection (as the hub checkpoints do: not the embeddings, norms, router or its bias)
        bool Quantised(SafeTensorsItem i) => i.Tensor.dim() == 2 && i.Name.Contains("_proj.weight") || i.Name.EndsWith("lm_head.weight");
        CopyWith(Fixtures.ModelDir("A"), fp8.Path, items => items.SelectMany(i =>
        {
            if (!Quantised(i)) return new[] { i };
            long rows = i.Tensor.shape[0], cols = i.Tensor.shape[1];
            var blocks = i.Tensor.abs().reshape(1, 1, rows, cols);
            var scale = nn.functional.max_pool2d(blocks, new long[] { block, block }, ceil_mode: true).reshape(-1, (cols + block - 1) / block) / 448f;
            scale = scale.clamp_min(1e-12f);
            var expanded = scale.repeat_interleave(block, 0).repeat_interleave(block, 1).narrow(0, 0, rows).narrow(1, 0, cols);
            var scaled = i.Tensor / expanded;
            var codes = scaled.data<float>().ToArray().Select(Float8.ToE4M3).ToArray();
            var decoded = tensor(codes.Select(c => Float8.E4M3[c]).ToArray(), new[] { rows, cols });
            dequantised[i.Name] = (decoded * expanded).DetachFromDisposeScope();
            return new[] { new SafeTensorsItem(i.Name, SafeTensorsDType.F8_E4M3, scaled), new SafeTensorsItem(i.Name + "_scale_inv", SafeTensorsDType.F32, scale) };
        }).ToList(), c => c["quantization_config"] = new JsonObject { ["quant_method"] = "fp8", ["weight_block_size"] = new JsonArray(block, block) });
        CopyWith(Fixtures.ModelDir("A"), reference.Path, items => items.Select(i => dequantised.TryGetValue(i.Name, out var d) ? i with { Tensor = d } : i).ToList());
        foreach (var t in dequantised.Values) t.Dispose();

        using (var f = SafeTensorsFile.Open(Path.Combine(fp8.Path, "model.safetensors")))
            Assert.Equal(SafeTensorsDType.F8_E4M3, f.Entries["model.layers.1.mlp.experts.3.up_proj.weight"].DType);
        using var a = DeepSeekModel.Load(fp8.Path);
        using var b = DeepSeekModel.Load(reference.Path);
        Assert.Equal(Logits(b), Logits(a));
        double d = Fixtures.MaxAbsDiff(Fixtures.Load("A").F("logits"), Logits(a));
        double scale = Fixtures.Load("A").F("logits").Max(Math.Abs);
        log.WriteLine($"FP8 (16x16 blocks) vs fp32 golden logits: max |diff| {d:G3} (max |logit| {scale:G3})");
        // The loader's contract is the equality above (fp8 · scale_inv, as DeepSeek's weight_dequant). Against the fp32 golden the
        // logits only have to move: E4M3 keeps 3 mantissa bits, and this random 2-layer model amplifies that unevenly.
        Assert.True(d > 1e-5 && double.IsFinite(d), $"quantised logits should differ from fp32 but stay finite (got {d})");

        // a quantised weight without its scale
        using var noScale = new TempDir();
        CopyWith(fp8.Path, noScale.Path, items => items.Where(i => i.Name != "model.layers.0.self_attn.o_proj.weight_scale_inv").ToList());
        var e = Assert.Throws<CheckpointException>(() => DeepSeekModel.Load(noScale.Path));
        Assert.Contains("'model.layers.0.self_attn.o_proj.weight_scale_inv'", e.Message);
    }

    [Fact]
    public void Float_settings_are_written_as_floats_for_transformers_strict_config_validation()
    {
        // transformers 5.x refuses "routed_scaling_factor": 1 (an int where its dataclass declares a float)
        var config = DeepSeekConfig.FromJson(JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.ModelDir("A"), "config.json")))!.AsObject())
            with { RoutedScalingFactor = 1, Source = null };
        string text = config.ToJson().ToJsonString();
        Assert.Contains("\"routed_scaling_factor\":1.0", text);
        Assert.Contains("\"rope_theta\":10000.0", text);
        Assert.Contains("\"rms_norm_eps\":1E-06", text);
        Assert.Contains("\"initializer_range\":0.02", text);
        var back = DeepSeekConfig.FromJson(JsonNode.Parse(text)!.AsObject());
        Assert.Equal((1.0, 10000.0, config.RmsNormEps, config.InitializerRange), (back.RoutedScalingFactor, back.Rope.Theta, back.RmsNormEps, back.InitializerRange));
    }

    [Fact]
    public void Config_in_the_4x_style_loads_the_same_model()
    {
        using var dir = new TempDir();
        CopyWith(Fixtures.ModelDir("A"), dir.Path, items => items, c =>
        {
            var rope = c["rope_parameters"]!.AsObject();
            c.Remove("rope_parameters");
            c["rope_theta"] = 10000;
            rope.Remove("rope_theta");
            rope.Remove("rope_type");
            rope["type"] = "yarn";
            rope["factor"] = 4;
            c["rope_scaling"] = rope;
        });
        using var legacy = DeepSeekModel.Load(dir.Path);
        Assert.Equal("yarn", legacy.Config.Rope.RopeType);
        using var model = DeepSeekModel.Load(Fixtures.ModelDir("A"));
        Assert.Equal(Logits(model), Logits(legacy));
        using var saved = new TempDir();
        DeepSeekCheckpoint.Save(legacy, saved.Path);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "config.json")))!;
        Assert.Null(config["rope_parameters"]);
        Assert.Equal("yarn", (string?)config["rope_scaling"]!["rope_type"]);
    }

    public static TheoryData<string, string> BadCheckpoints() => new()
    {
        { "missing", "missing tensor 'model.layers.2.mlp.experts.5.down_proj.weight'" },
        { "shape", "'model.layers.0.self_attn.kv_b_proj.weight' has shape [128, 31], the config needs [128, 32]" },
        { "unexpected", "unexpected tensor 'model.layers.0.mlp.extra.weight'" },
        { "model_type", "unknown model_type 'llama'" },
        { "truncated", "truncated file or lying header" },
        { "lying", "the header lies about its offsets" },
        { "integer", "is I64, expected a floating-point tensor" },
        { "fused_shape", "'model.layers.1.mlp.experts.gate_up_proj' has shape [8, 64, 60]" },
        { "no_weights", "no model.safetensors" },
        { "no_config", "model config not found" },
    };

    [Theory]
    [MemberData(nameof(BadCheckpoints))]
    public void Bad_checkpoints_fail_with_a_clear_error_before_generation(string kind, string expected)
    {
        using var dir = new TempDir();
        string source = kind == "fused_shape" ? Fixtures.ModelDir("A", "hf_fused") : Fixtures.ModelDir("A");
        using (var scope = NewDisposeScope())
        {
            switch (kind)
            {
                case "missing": CopyWith(source, dir.Path, items => items.Where(i => i.Name != "model.layers.2.mlp.experts.5.down_proj.weight").ToList()); break;
                case "shape": CopyWith(source, dir.Path, items => items.Select(i => i.Name == "model.layers.0.self_attn.kv_b_proj.weight" ? i with { Tensor = i.Tensor.narrow(1, 0, 31) } : i).ToList()); break;
                case "unexpected": CopyWith(source, dir.Path, items => items.Append(new SafeTensorsItem("model.layers.0.mlp.extra.weight", SafeTensorsDType.F32, zeros(2, 2))).ToList()); break;
                case "model_type": CopyWith(source, dir.Path, items => items, c => c["model_type"] = "llama"); break;
                case "integer": CopyWith(source, dir.Path, items => items.Select(i => i.Name == "model.norm.weight" ? i with { DType = SafeTensorsDType.I64 } : i).ToList()); break;
                case "fused_shape": CopyWith(source, dir.Path, items => items.Select(i => i.Name == "model.layers.1.mlp.experts.gate_up_proj" ? i with { Tensor = i.Tensor.narrow(2, 0, 60) } : i).ToList()); break;
                case "no_weights": File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir.Path, "config.json")); break;
                case "no_config": File.Copy(Path.Combine(source, "model.safetensors"), Path.Combine(dir.Path, "model.safetensors")); break;
                case "truncated":
                case "lying":
                {
                    File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir.Path, "config.json"));
                    var bytes = File.ReadAllBytes(Path.Combine(source, "model.safetensors"));
                    if (kind == "truncated") bytes = bytes[..(bytes.Length - 1000)];
                    else
                    {
                        // shift the first data_offsets of the header by 4 bytes (same length, so the header still parses)
                        var text = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToUInt64(bytes, 0));
                        int at = text.IndexOf("\"data_offsets\":[0,", StringComparison.Ordinal);
                        Assert.True(at > 0);
                        var patched = text[..at] + "\"data_offsets\":[4," + text[(at + "\"data_offsets\":[0,".Length)..];
                        System.Text.Encoding.UTF8.GetBytes(patched).CopyTo(bytes, 8);
                    }
                    File.WriteAllBytes(Path.Combine(dir.Path, "model.safetensors"), bytes);
                    break;
                }
            }
        }
        var e = Assert.Throws<CheckpointException>(() => DeepSeekGenerator.Load(dir.Path));
        log.WriteLine(e.Message);
        Assert.Contains(expected, e.Message);
        var run = Assert.ThrowsAny<SearchException>(() => GenerationRun.Execute(new GenerationRequest { ModelDirectory = dir.Path, PromptIds = new[] { new[] { 1, 2 } } }));
        Assert.Contains(expected, run.Message);
    }
}
