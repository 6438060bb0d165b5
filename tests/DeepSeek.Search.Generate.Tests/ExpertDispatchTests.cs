using DeepSeek.Search.Generate;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>
/// <see cref="ExpertDispatch.Grouped"/> (the CUDA default) against <see cref="ExpertDispatch.PerExpert"/> on the CPU, in float64 so that
/// only the summation order may differ: each of the grouped paths (gathered weights for fewer pairs than experts, padding to the
/// batch at decode sizes, padding to the largest expert load above <see cref="RoutedExperts.UnsyncedCapacityTokens"/> tokens), with
/// gradients. The golden comparisons with transformers for both dispatches are in <see cref="DeepSeekModelTests"/>.
/// </summary>
public class ExpertDispatchTests
{
    static DeepSeekModel Model(ExpertDispatch dispatch) =>
        DeepSeekModel.Create(DeepSeekConfig.Load(Path.Combine(Fixtures.ModelDir("A"), DeepSeekConfig.FileName)),
            new DeepSeekModelOptions { Seed = 5, DType = ScalarType.Float64, ExpertDispatch = dispatch });

    [Theory]
    [InlineData(1, 1)]   // 3 pairs < 8 experts: gathered weights
    [InlineData(1, 40)]  // 40 tokens: padded to the batch, no host sync
    [InlineData(3, 50)]  // 150 tokens: padded to the largest expert load
    public void Grouped_experts_give_the_per_expert_logits_and_gradients(int batch, int length)
    {
        using var perExpert = Model(ExpertDispatch.PerExpert);
        using var grouped = Model(ExpertDispatch.Grouped);
        using var scope = NewDisposeScope();
        var ids = randint(5, perExpert.Config.VocabSize, new long[] { batch, length }, generator: new Generator(11));

        var (a, ga) = LogitsAndExpertGradients(perExpert, ids);
        var (b, gb) = LogitsAndExpertGradients(grouped, ids);
        Assert.True(a.abs().max().item<double>() > 1e-3, "the logits are not trivially zero");
        double logitError = (a - b).abs().max().item<double>();
        Assert.True(logitError < 1e-9, $"logits differ by {logitError:E2}");
        Assert.Equal(ga.Count, gb.Count);
        Assert.NotEmpty(ga);
        for (int i = 0; i < ga.Count; i++)
        {
            Assert.True(ga[i].abs().max().item<double>() > 0, $"gradient {i} is zero: the experts took no part");
            double error = (ga[i] - gb[i]).abs().max().item<double>();
            Assert.True(error < 1e-9, $"expert gradient {i} differs by {error:E2}");
        }
    }

    [Fact]
    public void The_dispatch_can_change_between_forward_passes()
    {
        using var model = Model(ExpertDispatch.PerExpert);
        using var scope = NewDisposeScope();
        var ids = randint(5, model.Config.VocabSize, new long[] { 2, 20 }, generator: new Generator(3));
        Tensor a, b;
        using (no_grad()) a = model.Forward(ids);
        model.ExpertDispatch = ExpertDispatch.Grouped;
        Assert.Equal(ExpertDispatch.Grouped, model.ExpertDispatch);
        using (no_grad()) b = model.Forward(ids);
        Assert.True((a - b).abs().max().item<double>() < 1e-9);
    }

    static (Tensor Logits, List<Tensor> Gradients) LogitsAndExpertGradients(DeepSeekModel model, Tensor ids)
    {
        var logits = model.Forward(ids);
        logits.log_softmax(-1).select(-1, 7).sum().backward();
        var grads = model.named_parameters()
            .Where(p => p.name.Contains(".experts.", StringComparison.Ordinal))
            .Select(p => p.parameter.grad!.detach().clone())
            .ToList();
        return (logits.detach(), grads);
    }
}
