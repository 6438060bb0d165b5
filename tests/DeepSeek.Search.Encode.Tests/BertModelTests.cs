using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Torch.SafeTensors;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>Reference: transformers 5.17 BertModel outputs in fixtures/bert-golden/{tiny,tiny-gelu-new}/golden.safetensors.</summary>
public class BertModelTests(Xunit.Abstractions.ITestOutputHelper log)
{
    const double Tolerance = 1e-4;

    static BertOutput Run(BertModel model, Golden.Data g)
    {
        var ids = tensor(g.InputIds, g.Shape);
        var mask = tensor(g.AttentionMask, g.Shape);
        var types = tensor(g.TokenTypeIds, g.Shape);
        using var _ = no_grad();
        return model.Forward(ids, mask, types);
    }

    void AssertMatchesGolden(BertModel model, string fixture, bool checkPooler = true)
    {
        var g = Golden.Load(fixture);
        using var scope = NewDisposeScope();
        var output = Run(model, g);
        Golden.Close(g.LastHiddenState, Golden.ToArray(output.LastHiddenState), Tolerance, $"{fixture} last_hidden_state", log);
        if (checkPooler) Golden.Close(g.PoolerOutput, Golden.ToArray(output.PoolerOutput!), Tolerance, $"{fixture} pooler_output", log);
        var mask = tensor(g.AttentionMask, g.Shape);
        Golden.Close(g.MeanPooled, Golden.ToArray(Pooling.Mean(output.LastHiddenState, mask)), Tolerance, $"{fixture} mean_pooled", log);
        Golden.Close(g.MeanPooledNormalized, Golden.ToArray(Pooling.L2Normalize(Pooling.Mean(output.LastHiddenState, mask))), Tolerance, $"{fixture} mean_pooled_normalized", log);
        Golden.Close(g.Cls, Golden.ToArray(Pooling.Cls(output.LastHiddenState)), Tolerance, $"{fixture} cls", log);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("tiny-gelu-new")]
    public void Hf_checkpoint_reproduces_the_golden_outputs(string fixture)
    {
        using var model = BertCheckpoint.Load(Golden.ModelDir(fixture));
        Assert.Equal(fixture == "tiny" ? "gelu" : "gelu_new", model.Config.HiddenAct);
        Assert.True(model.HasPooler);
        Assert.Equal(64, model.HiddenSize);
        AssertMatchesGolden(model, fixture);
    }

    [Fact]
    public void Parameter_names_are_the_hf_names()
    {
        using var model = new BertModel(new BertConfig { HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 64, VocabSize = 100 });
        using var reader = SafeTensorsFile.Open(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors"));
        Assert.Equal(reader.Entries.Keys.Order(StringComparer.Ordinal), model.ParameterShapes.Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Random_init_follows_the_config_and_the_seed()
    {
        var cfg = new BertConfig { HiddenSize = 48, NumHiddenLayers = 3, NumAttentionHeads = 6, IntermediateSize = 96, VocabSize = 500, MaxPositionEmbeddings = 64 };
        using var a = new BertModel(cfg, seed: 3);
        using var b = new BertModel(cfg, seed: 3);
        using var c = new BertModel(cfg, seed: 4);
        Assert.Equal(BertCheckpoint.WeightsSha256(a), BertCheckpoint.WeightsSha256(b));
        Assert.NotEqual(BertCheckpoint.WeightsSha256(a), BertCheckpoint.WeightsSha256(c));
        var shapes = a.ParameterShapes.ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal(new long[] { 500, 48 }, shapes["embeddings.word_embeddings.weight"]);
        Assert.Equal(new long[] { 64, 48 }, shapes["embeddings.position_embeddings.weight"]);
        Assert.Equal(new long[] { 96, 48 }, shapes["encoder.layer.2.intermediate.dense.weight"]);
        Assert.False(shapes.ContainsKey("encoder.layer.3.intermediate.dense.weight"));

        using var scope = NewDisposeScope();
        var tensors = a.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(0f, tensors["embeddings.word_embeddings.weight"][0].abs().max().item<float>()); // padding row
        Assert.Equal(1f, tensors["encoder.layer.0.output.LayerNorm.weight"].mean().item<float>());
        Assert.Equal(0f, tensors["encoder.layer.0.output.dense.bias"].abs().max().item<float>());
        float std = tensors["encoder.layer.0.intermediate.dense.weight"].std().item<float>();
        Assert.InRange(std, 0.018f, 0.022f);

        var ids = tensor(new long[] { 101, 5, 6, 102, 0, 0, 101, 7, 8, 9, 10, 102 }, new long[] { 2, 6 });
        var mask = tensor(new long[] { 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1 }, new long[] { 2, 6 });
        var output = a.Forward(ids, mask);
        Assert.Equal(new long[] { 2, 6, 48 }, output.LastHiddenState.shape);
        Assert.Equal(new long[] { 2, 48 }, output.PoolerOutput!.shape);
    }

    [Fact]
    public void Padding_does_not_change_the_real_tokens()
    {
        using var model = BertCheckpoint.Load(Golden.ModelDir("tiny"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var alone = model.Forward(tensor(new long[] { 101, 2054, 2003, 102 }, new long[] { 1, 4 }));
        var padded = model.Forward(tensor(new long[] { 101, 2054, 2003, 102, 0, 0, 0 }, new long[] { 1, 7 }),
            tensor(new long[] { 1, 1, 1, 1, 0, 0, 0 }, new long[] { 1, 7 }));
        Golden.Close(Golden.ToArray(alone.LastHiddenState), Golden.ToArray(padded.LastHiddenState.narrow(1, 0, 4)), 1e-5, "padded");
    }

    [Fact]
    public void Bad_configs_give_clear_errors()
    {
        var e = Assert.Throws<InvalidInputException>(() => new BertModel(new BertConfig { HiddenSize = 70, NumAttentionHeads = 4 }));
        Assert.Contains("not divisible by num_attention_heads", e.Message);
        Assert.Throws<InvalidInputException>(() => new BertModel(new BertConfig { HiddenAct = "mish" }));
        Assert.Throws<InvalidInputException>(() => new BertModel(new BertConfig { NumHiddenLayers = 0 }));
        Assert.Throws<InvalidInputException>(() => new BertModel(new BertConfig { PositionEmbeddingType = "relative_key" }));

        using var tmp = new TempDir();
        CopyCheckpoint("tiny", tmp.Path);
        var json = File.ReadAllText(tmp.File("config.json")).Replace("\"hidden_size\": 64", "\"hidden_size\": 70");
        File.WriteAllText(tmp.File("config.json"), json);
        var ce = Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path));
        Assert.Contains("hidden_size 70 is not divisible by num_attention_heads 4", ce.Message);
        Assert.Contains("config.json", ce.Message);

        File.WriteAllText(tmp.File("config.json"), "{\"model_type\": \"gpt2\"}");
        Assert.Contains("gpt2", Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path)).Message);
        File.Delete(tmp.File("config.json"));
        Assert.Contains("config.json", Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path)).Message);
        Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.File("nowhere")));
    }

    static void CopyCheckpoint(string fixture, string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Golden.ModelDir(fixture))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        foreach (var f in Directory.GetFiles(dir)) File.SetAttributes(f, FileAttributes.Normal);
    }

    /// <summary>Rewrites a fixture checkpoint's tensors through <paramref name="edit"/> into <paramref name="dir"/>.</summary>
    static void EditedCheckpoint(string fixture, string dir, Func<List<SafeTensorsItem>, IEnumerable<SafeTensorsItem>> edit)
    {
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(Golden.ModelDir(fixture), "config.json"), Path.Combine(dir, "config.json"));
        File.SetAttributes(Path.Combine(dir, "config.json"), FileAttributes.Normal);
        using var r = SafeTensorsFile.Open(Path.Combine(Golden.ModelDir(fixture), "model.safetensors"));
        var tensors = r.Entries.Values.OrderBy(t => t.Begin).Select(t => new SafeTensorsItem(t.Name, t.DType, r.ReadTensor(t.Name))).ToList();
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), edit(tensors).ToList());
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        using var tmp = new TempDir();
        EditedCheckpoint("tiny", tmp.Path, ts => ts.Where(t => t.Name != "encoder.layer.1.output.dense.weight"));
        var e = Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path));
        Assert.Contains("missing tensor 'encoder.layer.1.output.dense.weight'", e.Message);
    }

    [Fact]
    public void Unexpected_tensor_is_named()
    {
        using var tmp = new TempDir();
        EditedCheckpoint("tiny", tmp.Path, ts => ts.Append(SafeTensorsItem.FromFloats("encoder.layer.2.output.dense.bias", new float[64], new long[] { 64 })));
        var e = Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path));
        Assert.Contains("unexpected tensor 'encoder.layer.2.output.dense.bias'", e.Message);
    }

    [Fact]
    public void Wrong_shape_is_named()
    {
        using var tmp = new TempDir();
        EditedCheckpoint("tiny", tmp.Path, ts => ts.Select(t => t.Name == "pooler.dense.weight"
            ? SafeTensorsItem.FromFloats(t.Name, new float[64 * 32], new long[] { 64, 32 }) : t));
        var e = Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path));
        Assert.Contains("'pooler.dense.weight' has shape [64, 32]", e.Message);
        Assert.Contains("[64, 64]", e.Message);
    }

    [Fact]
    public void Truncated_weights_are_a_checkpoint_error()
    {
        using var tmp = new TempDir();
        CopyCheckpoint("tiny", tmp.Path);
        var bytes = File.ReadAllBytes(tmp.File("model.safetensors"));
        File.WriteAllBytes(tmp.File("model.safetensors"), bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path));
        Assert.Contains("truncated", e.Message);
        File.Delete(tmp.File("model.safetensors"));
        Assert.Contains("model.safetensors", Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp.Path)).Message);
    }

    [Fact]
    public void BertForX_prefixed_checkpoints_load_and_ignore_the_head()
    {
        using var tmp = new TempDir();
        EditedCheckpoint("tiny", tmp.Path, ts => ts.Select(t => t with { Name = "bert." + t.Name })
            .Append(SafeTensorsItem.FromFloats("cls.predictions.bias", new float[30522], new long[] { 30522 }))
            .Append(SafeTensorsItem.FromInt64("bert.embeddings.position_ids", Enumerable.Range(0, 512).Select(i => (long)i).ToArray(), new long[] { 1, 512 })));
        using var model = BertCheckpoint.Load(tmp.Path);
        AssertMatchesGolden(model, "tiny");

        using var tmp2 = new TempDir();
        EditedCheckpoint("tiny", tmp2.Path, ts => ts.Where(t => t.Name != "encoder.layer.0.attention.self.key.bias").Select(t => t with { Name = "bert." + t.Name }));
        Assert.Contains("'bert.encoder.layer.0.attention.self.key.bias'", Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp2.Path)).Message);
    }

    [Fact]
    public void Checkpoints_without_pooler_and_with_tf_layernorm_names_load()
    {
        using var tmp = new TempDir();
        EditedCheckpoint("tiny-gelu-new", tmp.Path, ts => ts.Where(t => !t.Name.StartsWith("pooler."))
            .Select(t => t with { Name = t.Name.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta") }));
        using var model = BertCheckpoint.Load(tmp.Path);
        Assert.False(model.HasPooler);
        AssertMatchesGolden(model, "tiny-gelu-new", checkPooler: false);

        using var tmp2 = new TempDir();
        EditedCheckpoint("tiny", tmp2.Path, ts => ts.Where(t => t.Name != "pooler.dense.bias"));
        Assert.Contains("'pooler.dense.bias'", Assert.Throws<CheckpointException>(() => BertCheckpoint.Load(tmp2.Path)).Message);
    }

    [Fact]
    public void Half_precision_weights_load_as_float32()
    {
        using var tmp = new TempDir();
        using (var r = SafeTensorsFile.Open(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors")))
        {
            File.Copy(Path.Combine(Golden.ModelDir("tiny"), "config.json"), tmp.File("config.json"));
            SafeTensorsWriter.Write(tmp.File("model.safetensors"), r.Entries.Values.Select(t =>
                SafeTensorsItem.FromFloats(t.Name, r.ReadFloats(t.Name), t.Shape, t.Name.StartsWith("encoder") ? SafeTensorsDType.BF16 : SafeTensorsDType.F16)).ToList());
        }
        using var model = BertCheckpoint.Load(tmp.Path);
        var g = Golden.Load("tiny");
        using var scope = NewDisposeScope();
        var output = Run(model, g);
        Golden.Close(g.LastHiddenState, Golden.ToArray(output.LastHiddenState), 0.1, "half-precision weights");
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("tiny-gelu-new")]
    public void Save_then_load_round_trips(string fixture)
    {
        using var tmp = new TempDir();
        using (var model = BertCheckpoint.Load(Golden.ModelDir(fixture)))
        {
            BertCheckpoint.Save(model, tmp.Path);
            Assert.Equal(BertCheckpoint.WeightsSha256(model), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(tmp.File("model.safetensors")))));
        }
        Assert.True(File.Exists(tmp.File("config.json")));
        using var again = BertCheckpoint.Load(tmp.Path);
        Assert.Equal(fixture == "tiny" ? "gelu" : "gelu_new", again.Config.HiddenAct);
        AssertMatchesGolden(again, fixture);

        // the saved weights are bit-identical to the HF ones
        using var a = SafeTensorsFile.Open(Path.Combine(Golden.ModelDir(fixture), "model.safetensors"));
        using var b = SafeTensorsFile.Open(tmp.File("model.safetensors"));
        Assert.Equal(a.Entries.Keys.Order(), b.Entries.Keys.Order());
        foreach (var name in a.Entries.Keys) Assert.Equal(a.Bytes(name).ToArray(), b.Bytes(name).ToArray());
    }

    [Fact]
    public void Random_model_round_trips_through_save()
    {
        using var tmp = new TempDir();
        var cfg = new BertConfig { HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64, VocabSize = 200, HiddenAct = "relu", MaxPositionEmbeddings = 40 };
        using var model = new BertModel(cfg, seed: 11);
        BertCheckpoint.Save(model, tmp.Path);
        using var again = BertCheckpoint.Load(tmp.Path);
        Assert.Equal(cfg with { }, again.Config);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 101 % 200, 5, 6, 7 }, new long[] { 1, 4 });
        Assert.Equal(Golden.ToArray(model.Forward(ids).LastHiddenState), Golden.ToArray(again.Forward(ids).LastHiddenState));
    }

    [Fact]
    public void Too_long_inputs_are_rejected()
    {
        using var model = new BertModel(new BertConfig { HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32, VocabSize = 50, MaxPositionEmbeddings = 8 });
        using var scope = NewDisposeScope();
        Assert.Throws<InvalidInputException>(() => model.Forward(zeros(new long[] { 1, 9 }, ScalarType.Int64)));
        Assert.Throws<InvalidInputException>(() => model.Forward(zeros(new long[] { 9 }, ScalarType.Int64)));
    }
}
