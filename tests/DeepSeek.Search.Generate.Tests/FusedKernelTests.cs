using DeepSeek.Search.Generate;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>
/// The one-call kernels against the composed forms they replace. RMSNorm: libtorch's rms_norm (the CUDA default) against HF's lines
/// (the CPU default), values and gradients, and a whole model on the goldens with it. Attention:
/// the fused attention (torch's scaled_dot_product_attention, run for passes without padding) against the eager product it replaces,
/// on the golden configs: A (YaRN, m² ≠ 1, so the query is pre-scaled) and B (default RoPE). Every mask shape the fused path takes:
/// causal prefill, one new token over a cache, several new tokens over a cache (the boolean mask); and a padded batch, which both
/// run eagerly. The golden comparisons with transformers (now through the fused path) are in <see cref="DeepSeekModelTests"/>.
/// </summary>
public class FusedKernelTests
{
    [Theory]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Rms_norm_in_one_call_gives_the_composed_values_and_gradients(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(9);
        var x0 = (randn(new long[] { 3, 5, 96 }, generator: gen) * 3 + 1).to(dtype);
        var w0 = (rand(new long[] { 96 }, generator: gen) + 0.5).to(dtype);
        var (y1, gx1, gw1) = NormAndGradients(x0, w0, composed: true);
        var (y2, gx2, gw2) = NormAndGradients(x0, w0, composed: false);
        double scale = y1.abs().max().item<double>();
        // one rounding instead of two in bf16: at most one unit in the last place (2^-8 relative) apart
        double tolerance = dtype switch { ScalarType.BFloat16 => scale / 128, ScalarType.Float32 => scale * 1e-6, _ => scale * 1e-6 };
        double error = (y1 - y2).abs().max().item<double>();
        Assert.True(scale > 1, "the output is not trivially small");
        Assert.True(error <= tolerance, $"{dtype}: rms_norm differs from the composed form by {error:E2} (of {scale:G3})");
        if (dtype == ScalarType.BFloat16) return;   // gradients in full precision only
        foreach (var (a, b, what) in new[] { (gx1, gx2, "input"), (gw1, gw2, "weight") })
        {
            double g = (a - b).abs().max().item<double>(), gs = a.abs().max().item<double>();
            Assert.True(gs > 1e-3 && g <= gs * 1e-5, $"{dtype}: {what} gradient differs by {g:E2} (of {gs:G3})");
        }
    }

    static (Tensor Y, Tensor Gx, Tensor Gw) NormAndGradients(Tensor x0, Tensor w0, bool composed)
    {
        var x = x0.detach().clone().requires_grad_(true);
        var w = w0.detach().clone().requires_grad_(true);
        Tensor y;
        if (composed)
        {
            var h = x.to(ScalarType.Float32);
            y = w * (h * (h.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6).rsqrt()).to(x.dtype);
        }
        else y = ScriptedOps.RmsNorm(x, w, 1e-6);
        Assert.Equal(x0.dtype, y.dtype);
        var weights = linspace(-1, 1, y.NumberOfElements).reshape(y.shape).to(y.dtype);
        (y * weights).sum().backward();
        return (y.detach().to(ScalarType.Float64), x.grad!.to(ScalarType.Float64), w.grad!.to(ScalarType.Float64));
    }

    [Theory]
    [InlineData("A")]
    [InlineData("B")]
    public void A_model_with_one_call_norms_matches_the_goldens(string variant)
    {
        using var model = DeepSeekModel.Load(Fixtures.ModelDir(variant));
        Assert.True(model.ComposedNorms, "the CPU default is the composed form");
        model.ComposedNorms = false;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = Fixtures.ToArray(model.Forward(Fixtures.Load(variant).Ids("input_ids")));
        double error = Fixtures.MaxAbsDiff(Fixtures.Load(variant).F("logits"), logits);
        Assert.True(error < 1e-4, $"{variant}: logits with rms_norm differ from transformers' by {error:E2}");
    }

    static DeepSeekModel Model(string variant, ScalarType dtype) =>
        DeepSeekModel.Create(DeepSeekConfig.Load(Path.Combine(Fixtures.ModelDir(variant), DeepSeekConfig.FileName)),
            new DeepSeekModelOptions { Seed = 7, DType = dtype });

    /// <summary>Logits of a 2 × 9 prefill, then 3 tokens in one pass, then 2 single-token steps, all over one full cache.</summary>
    static List<Tensor> Run(DeepSeekModel model, Tensor ids, Tensor? mask) => RunRaw(model, ids, mask).Select(t => t.to(ScalarType.Float64)).ToList();

    static List<Tensor> RunRaw(DeepSeekModel model, Tensor ids, Tensor? mask)
    {
        using var cache = model.CreateCache();
        var outputs = new List<Tensor>();
        using (no_grad())
        {
            outputs.Add(model.Forward(ids.narrow(1, 0, 9), cache, mask?.narrow(1, 0, 9)));
            outputs.Add(model.Forward(ids.narrow(1, 9, 3), cache, mask?.narrow(1, 9, 3)));
            outputs.Add(model.Forward(ids.narrow(1, 12, 1), cache, mask?.narrow(1, 12, 1)));
            outputs.Add(model.Forward(ids.narrow(1, 13, 1), cache, mask?.narrow(1, 13, 1)));
        }
        return outputs;
    }

    [Theory]
    [InlineData("A", ScalarType.Float64, 1e-6)]
    [InlineData("B", ScalarType.Float64, 1e-6)]
    [InlineData("A", ScalarType.Float32, 2e-5)]
    [InlineData("B", ScalarType.Float32, 2e-5)]
    public void Fused_attention_gives_the_eager_logits(string variant, ScalarType dtype, double tolerance)
    {
        using var model = Model(variant, dtype);
        using var scope = NewDisposeScope();
        var ids = randint(5, model.Config.VocabSize, new long[] { 2, 14 }, generator: new Generator(3));
        var ones = torch.ones(2, 14, ScalarType.Int64);   // a host mask of ones is no padding: fused too
        foreach (var mask in new[] { null, ones })
        {
            model.EagerAttention = false;
            var fused = Run(model, ids, mask);
            model.EagerAttention = true;
            var eager = Run(model, ids, mask);
            for (int i = 0; i < eager.Count; i++)
            {
                Assert.True(eager[i].abs().max().item<double>() > 1e-3, "the logits are not trivially zero");
                double error = (fused[i] - eager[i]).abs().max().item<double>();
                Assert.True(error < tolerance, $"{variant} {dtype}, pass {i}, mask {(mask is null ? "none" : "ones")}: fused differs by {error:E2}");
            }
        }
    }

    [Fact]
    public void A_padded_batch_runs_eagerly_and_stays_finite()
    {
        using var model = Model("A", ScalarType.Float64);
        using var scope = NewDisposeScope();
        var ids = randint(5, model.Config.VocabSize, new long[] { 2, 14 }, generator: new Generator(4));
        var mask = torch.ones(2, 14, ScalarType.Int64);
        mask[1, TensorIndex.Slice(0, 4)] = tensor(0L);   // left padding: its first queries see no key
        model.EagerAttention = true;
        var eager = Run(model, ids, mask);
        for (int i = 0; i < eager.Count; i++) Assert.False(eager[i].isnan().any().item<bool>(), $"eager pass {i}: NaN in the padded batch");
        model.EagerAttention = false;
        var fusedSetting = Run(model, ids, mask);
        for (int i = 0; i < eager.Count; i++)
        {
            Assert.False(fusedSetting[i].isnan().any().item<bool>(), $"pass {i}: NaN in the padded batch");
            Assert.Equal(0.0, (fusedSetting[i] - eager[i]).abs().max().item<double>());
        }
        // the later passes' masks are all ones, yet they ran eagerly (equal to 0 above): the cache remembers the padding.
        // The unpadded row alone (fused: float64 products, float32 softmax in the eager one) gives its logits in the batch.
        model.EagerAttention = false;
        var alone = Run(model, ids.narrow(0, 0, 1), null);
        for (int i = 0; i < eager.Count; i++)
        {
            double error = (alone[i] - eager[i].narrow(0, 0, 1)).abs().max().item<double>();
            Assert.True(error < 1e-6, $"pass {i}: the unpadded row differs by {error:E2} from its batch");
        }
    }
}
