using DeepSeek.Search.Encode;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Train.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train.Tests;

public class ContrastiveStepTests
{
    static readonly BertTokenizer Tokenizer = BertTokenizer.BundledUncased();

    static BertModel Tiny(long seed) => new(new BertConfig { HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64 }, true, seed);

    static ContrastiveBatch Batch()
    {
        var texts = new[]
        {
            "aspirin lowers the risk of heart attacks", "vitamin d supports bone health and is made in the skin under sunlight",
            "statins reduce cholesterol", "adults need seven hours of sleep every night to keep their memory sharp",
            "coffee contains caffeine", "exercise strengthens the heart and lowers blood pressure in older adults",
        };
        var examples = texts.Select((t, i) => new TrainingExample($"query {i} about {t.Split(' ')[0]}", new TrainingText($"d{i}", t),
            i % 2 == 0 ? [new TrainingText($"n{i}", "an unrelated negative text number " + i)] : [],
            new HashSet<string> { $"d{i}" })).ToList();
        return ContrastiveBatch.From(examples);
    }

    static Dictionary<string, Tensor> Gradients(DualTowers towers) =>
        towers.TrainableParameters().Where(p => p.Parameter.grad is not null).ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void GradCache_chunks_give_the_full_batch_loss_and_gradient(bool learnTemperature, bool untied)
    {
        var batch = Batch();
        (double Loss, Dictionary<string, Tensor> Grads, float ScaleGrad) RunWith(int chunk)
        {
            var q = Tiny(11);
            using var towers = new DualTowers(q, untied ? Tiny(12) : null, PoolingMode.Mean, true, CPU, ScalarType.Float32);
            var scale = learnTemperature ? new Parameter(tensor((float)Math.Log(20)), true) : null;
            var step = new ContrastiveStep(towers, Tokenizer, new InfoNceLoss(0.05, symmetric: true), scale, 16, 24, chunkSize: chunk);
            double loss = step.Run(batch);
            return (loss, Gradients(towers), scale?.grad?.item<float>() ?? 0);
        }
        var full = RunWith(0);
        var chunked = RunWith(2);
        Assert.Equal(full.Loss, chunked.Loss, 5);
        Assert.Equal(full.Grads.Keys.Order(), chunked.Grads.Keys.Order());
        Assert.True(full.Grads.Count > 10);
        foreach (var (name, g) in full.Grads)
            Assert.True(g.allclose(chunked.Grads[name], rtol: 1e-3, atol: 1e-6), $"{name}: max diff {(g - chunked.Grads[name]).abs().max().item<float>()}");
        Assert.Equal(full.ScaleGrad, chunked.ScaleGrad, 4);
        if (learnTemperature) Assert.NotEqual(0f, full.ScaleGrad);
        if (untied) Assert.Contains(full.Grads.Keys, k => k.StartsWith("document.", StringComparison.Ordinal));
    }

    [Fact]
    public void The_pooler_is_kept_but_not_trained()
    {
        using var towers = new DualTowers(Tiny(1), null, PoolingMode.Cls, true, CPU, ScalarType.Float32);
        Assert.DoesNotContain(towers.TrainableParameters(), p => p.Name.StartsWith("pooler.", StringComparison.Ordinal));
        Assert.True(towers.Query.HasPooler);
        new ContrastiveStep(towers, Tokenizer, new InfoNceLoss(), null, 16, 24).Run(Batch());
        Assert.All(towers.TrainableParameters(), p => Assert.NotNull(p.Parameter.grad));
    }

    [Fact]
    public void Bf16_passes_fill_float32_master_gradients_close_to_the_fp32_ones()
    {
        var batch = Batch();
        using var fp32 = new DualTowers(Tiny(5), null, PoolingMode.Mean, true, CPU, ScalarType.Float32);
        using var bf16 = new DualTowers(Tiny(5), null, PoolingMode.Mean, true, CPU, ScalarType.BFloat16);
        double l32 = new ContrastiveStep(fp32, Tokenizer, new InfoNceLoss(), null, 16, 24).Run(batch);
        double l16 = new ContrastiveStep(bf16, Tokenizer, new InfoNceLoss(), null, 16, 24, chunkSize: 3).Run(batch);
        Assert.Equal(l32, l16, 1);
        var g32 = Gradients(fp32);
        var g16 = Gradients(bf16);
        Assert.Equal(g32.Keys.Order(), g16.Keys.Order());
        foreach (var (name, g) in g16) Assert.Equal(ScalarType.Float32, g.dtype);
        Assert.All(bf16.TrainableParameters(), p => Assert.Equal(ScalarType.Float32, p.Parameter.dtype));
        var flat32 = cat(g32.Values.Select(g => g.flatten()).ToList());
        var flat16 = cat(g16.Keys.Order().Select(k => g16[k].flatten()).ToList());
        flat32 = cat(g32.Keys.Order().Select(k => g32[k].flatten()).ToList());
        double cosine = nn.functional.cosine_similarity(flat32.unsqueeze(0), flat16.unsqueeze(0)).item<float>();
        Assert.True(cosine > 0.95, $"bf16 gradient direction differs: cosine {cosine}");

        // after an update of the master weights, the working copy follows
        using (no_grad()) foreach (var (_, p) in bf16.TrainableParameters()) p.add_(0.5f);
        bf16.MasterToWorking();
        var e32 = fp32.Embed(true, tensor(new long[] { 101, 2000, 102 }, 1, 3), ones(1, 3, ScalarType.Int64));
        var e16 = bf16.Embed(true, tensor(new long[] { 101, 2000, 102 }, 1, 3), ones(1, 3, ScalarType.Int64));
        Assert.False(e32.allclose(e16, atol: 1e-2));   // the shifted weights are in use
    }
}
