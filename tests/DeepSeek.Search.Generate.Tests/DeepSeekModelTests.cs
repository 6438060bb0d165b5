using DeepSeek.Search.Generate;
using DeepSeek.Search.TestKit;
using static TorchSharp.torch;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>Reference: transformers 5.17 DeepseekV3ForCausalLM in float32 (fixtures/deepseek-v3-golden) and HF DeepseekV2 in float64 (tiny-moe-atenia).</summary>
public class DeepSeekModelTests(Xunit.Abstractions.ITestOutputHelper log)
{
    const double Tolerance = 1e-4;

    public static TheoryData<string, string, ExpertDispatch> Checkpoints()
    {
        var data = new TheoryData<string, string, ExpertDispatch>();
        foreach (var v in Fixtures.Variants)
            foreach (var l in Fixtures.Layouts)
                foreach (var d in new[] { ExpertDispatch.PerExpert, ExpertDispatch.Grouped, ExpertDispatch.Sorted }) data.Add(v, l, d);
        return data;
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Logits_activations_and_routes_match_transformers(string variant, string layout, ExpertDispatch dispatch)
    {
        var g = Fixtures.Load(variant);
        using var model = DeepSeekModel.Load(Fixtures.ModelDir(variant, layout), new DeepSeekModelOptions { ExpertDispatch = dispatch });
        Assert.Equal(g.SoftmaxScale, model.Config.SoftmaxScale, 1e-9);
        Fixtures.Close(g.F("rope.inv_freq"), model.RopeInverseFrequencies, 0, $"{variant}/{layout}/{dispatch} inv_freq", log);

        using var scope = NewDisposeScope();
        var trace = new ForwardTrace();
        Tensor logits;
        using (no_grad()) logits = model.Forward(g.Ids("input_ids"), trace: trace);
        Assert.Equal(g.Shape("logits"), logits.shape);
        Fixtures.Close(g.F("logits"), Fixtures.ToArray(logits), Tolerance, $"{variant}/{layout}/{dispatch} logits", log);
        Fixtures.Close(g.F("act.embed"), trace.Embeddings, Tolerance, $"{variant}/{layout}/{dispatch} act.embed", log);
        for (int i = 0; i < model.Config.NumHiddenLayers; i++)
            Fixtures.Close(g.F($"act.layer.{i}"), trace.LayerOutputs[i], Tolerance, $"{variant}/{layout}/{dispatch} act.layer.{i}", log);
        Fixtures.Close(g.F("act.final_norm"), trace.FinalNorm, Tolerance, $"{variant}/{layout}/{dispatch} act.final_norm", log);

        Assert.Equal(model.Config.NumHiddenLayers - model.Config.FirstKDenseReplace, trace.Routes.Count);
        foreach (var (layer, routes) in trace.Routes)
        {
            Assert.Equal(g.I($"route.{layer}.indices"), routes.Indices);
            Fixtures.Close(g.F($"route.{layer}.weights"), routes.Weights, 1e-6, $"{variant}/{layout}/{dispatch} route.{layer}.weights", log);
        }
    }

    [Fact]
    public void DeepSeek_v2_matches_the_float64_hf_reference()
    {
        using var dir = new TempDir();
        using var model = DeepSeekModel.Load(Fixtures.AteniaModel(dir.Path));
        Assert.Equal(DeepSeekVersion.V2, model.Config.Version);
        Assert.Equal("greedy", model.Config.TopkMethod);
        Assert.Null(model.Config.QLoraRank);
        var r = Fixtures.Atenia();
        using var scope = NewDisposeScope();
        Tensor logits;
        using (no_grad()) logits = model.Forward(tensor(r.InputIds, new long[] { 1, r.InputIds.Length }));
        Fixtures.Close(r.Logits, Fixtures.ToArray(logits), Tolerance, "deepseek_full (V2) logits", log);
    }

    [Theory]
    [InlineData("A", KvCacheMode.Full, ExpertDispatch.PerExpert)]
    [InlineData("A", KvCacheMode.Latent, ExpertDispatch.PerExpert)]
    [InlineData("B", KvCacheMode.Full, ExpertDispatch.PerExpert)]
    [InlineData("B", KvCacheMode.Latent, ExpertDispatch.PerExpert)]
    [InlineData("A", KvCacheMode.Full, ExpertDispatch.Grouped)]
    [InlineData("B", KvCacheMode.Latent, ExpertDispatch.Grouped)]
    [InlineData("A", KvCacheMode.Latent, ExpertDispatch.Sorted)]
    public void Cached_single_steps_match_the_full_recompute(string variant, KvCacheMode mode, ExpertDispatch dispatch)
    {
        var g = Fixtures.Load(variant);
        using var model = DeepSeekModel.Load(Fixtures.ModelDir(variant), new DeepSeekModelOptions { ExpertDispatch = dispatch });
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache(mode);
        var ids = g.Ids("greedy_ids");
        long prompt = g.Shape("input_ids")[1], total = ids.shape[1];
        var steps = new List<Tensor>();
        using (no_grad())
        {
            steps.Add(model.Forward(ids.narrow(1, 0, prompt), cache, lastPositionOnly: true));
            for (long p = prompt; p < total - 1; p++) steps.Add(model.Forward(ids.narrow(1, p, 1), cache));
        }
        Assert.Equal(total - 1, cache.Length);
        var cached = cat(steps.ToArray(), 1);
        Fixtures.Close(g.F("cached_step_logits"), Fixtures.ToArray(cached), Tolerance, $"{variant} {mode} {dispatch} cached_step_logits", log);
        Fixtures.Close(g.F("greedy_logits"), Fixtures.ToArray(cached), Tolerance, $"{variant} {mode} {dispatch} vs greedy_logits", log);
    }
}
