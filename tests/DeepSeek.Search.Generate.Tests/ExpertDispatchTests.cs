using DeepSeek.Search.Generate;
using TorchSharp;
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
    public void Grouped_experts_give_the_per_expert_logits_and_gradients(int batch, int length) => SameAsPerExpert(ExpertDispatch.Grouped, batch, length);

    [Fact]  // float64 with gradients: no grouped-GEMM kernel for it, so Sorted runs as Grouped
    public void Sorted_experts_in_float64_with_gradients_run_grouped() => SameAsPerExpert(ExpertDispatch.Sorted, 3, 50);

    static void SameAsPerExpert(ExpertDispatch dispatch, int batch, int length)
    {
        using var perExpert = Model(ExpertDispatch.PerExpert);
        using var grouped = Model(dispatch);
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
    public void Grouped_gemm_multiplies_each_row_range_by_its_group()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(2);
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var a = randn(new long[] { 12, 16 }, generator: gen).to(dtype);
            var w = randn(new long[] { 4, 8, 16 }, generator: gen).to(dtype);   // [G, N, K], passed transposed as transformers does
            long[] rows = [5, 0, 7, 0];                                           // empty groups inside and at the end
            var ends = tensor(new[] { 5, 5, 12, 12 });
            var got = ScriptedOps.GroupedMm(a, w.transpose(1, 2), ends).to(ScalarType.Float64);
            var want = cat(new[] { a.narrow(0, 0, 5).matmul(w[0].t()), a.narrow(0, 5, 7).matmul(w[2].t()) }, 0).to(ScalarType.Float64);
            Assert.Equal(new long[] { 12, 8 }, got.shape);
            double error = (got - want).abs().max().item<double>(), scale = want.abs().max().item<double>();
            Assert.True(error <= scale * (dtype == ScalarType.Float32 ? 1e-6 : 1e-2), $"{dtype}: grouped GEMM differs by {error:E2} of {scale:G3}");
            Assert.Equal(rows.Sum(), got.shape[0]);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 40)]
    [InlineData(3, 50)]
    public void Sorted_experts_give_the_per_expert_logits_in_float32(int batch, int length)
    {
        var config = DeepSeekConfig.Load(Path.Combine(Fixtures.ModelDir("A"), DeepSeekConfig.FileName));
        using var perExpert = DeepSeekModel.Create(config, new DeepSeekModelOptions { Seed = 5, ExpertDispatch = ExpertDispatch.PerExpert });
        using var sorted = DeepSeekModel.Create(config, new DeepSeekModelOptions { Seed = 5, ExpertDispatch = ExpertDispatch.Sorted });
        using var scope = NewDisposeScope();
        var ids = randint(5, config.VocabSize, new long[] { batch, length }, generator: new Generator(11));
        Tensor a, b;
        using (no_grad()) { a = perExpert.Forward(ids); b = sorted.Forward(ids); }
        double error = (a - b).abs().max().item<float>(), scale = a.abs().max().item<float>();
        Assert.True(scale > 1e-3, "the logits are not trivially zero");
        Assert.True(error <= 1e-5 * scale, $"sorted-expert logits differ by {error:E2} of {scale:G3}");
    }

    [Theory]
    [InlineData(ExpertDispatch.Auto, DeviceType.CPU, ScalarType.BFloat16, false, ExpertDispatch.PerExpert)]
    [InlineData(ExpertDispatch.Auto, DeviceType.CUDA, ScalarType.BFloat16, false, ExpertDispatch.Sorted)]
    [InlineData(ExpertDispatch.Auto, DeviceType.CUDA, ScalarType.Float64, false, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Auto, DeviceType.CUDA, ScalarType.BFloat16, true, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Sorted, DeviceType.CPU, ScalarType.Float64, false, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Sorted, DeviceType.CPU, ScalarType.Float32, true, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Sorted, DeviceType.CPU, ScalarType.Float32, false, ExpertDispatch.Sorted)]
    [InlineData(ExpertDispatch.PerExpert, DeviceType.CUDA, ScalarType.BFloat16, false, ExpertDispatch.PerExpert)]
    public void Dispatch_resolves_by_device_dtype_and_gradients(ExpertDispatch requested, DeviceType device, ScalarType dtype, bool gradients, ExpertDispatch expected) =>
        Assert.Equal(expected, RoutedExperts.Resolve(requested, device, dtype, gradients));

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
