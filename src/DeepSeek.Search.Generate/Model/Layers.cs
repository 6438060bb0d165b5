using DeepSeek.Search.Torch;
using DeepSeek.Search.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Generate;

/// <summary>Where the parameters of a model are created: device and floating-point dtype.</summary>
internal readonly record struct Placement(Device Device, ScalarType DType);

/// <summary>A module whose parameters are created directly on their device and dtype (never converted afterwards).</summary>
internal abstract class ParameterBlock : nn.Module
{
    protected ParameterBlock(string name) : base(name) { }

    protected Parameter AddParameter(string name, long[] shape, Placement placement, ScalarType? dtype = null)
    {
        var p = new Parameter(empty(shape, dtype ?? placement.DType, placement.Device));
        register_parameter(name, p);
        return p;
    }
}

/// <summary>A Linear layer in the PyTorch layout (<c>weight</c> [out, in], optional <c>bias</c> [out]): y = x·Wᵀ + b.</summary>
internal sealed class LinearLayer : ParameterBlock
{
    public LinearLayer(long inFeatures, long outFeatures, bool bias, Placement placement) : base("Linear")
    {
        Weight = AddParameter("weight", new[] { outFeatures, inFeatures }, placement);
        if (bias) Bias = AddParameter("bias", new[] { outFeatures }, placement);
    }

    public Parameter Weight { get; }
    public Parameter? Bias { get; }

    /// <summary>A low-rank adapter added to this layer (PEFT LoRA), or null. It is not a registered parameter: checkpoints of the base never hold it.</summary>
    public LowRankAdapter? Adapter { get; set; }

    /// <summary>
    /// y = x·Wᵀ + b, plus the adapter's (x·Aᵀ)·Bᵀ·scaling when one is attached, as PEFT's unmerged LoRA forward computes it with its
    /// default <c>autocast_adapter_dtype</c>: the adapter path in float32 (the input cast to the adapters' dtype), added to the base
    /// output in float32, the sum cast back to the base output's dtype once.
    /// </summary>
    public Tensor Forward(Tensor x)
    {
        if (Adapter is null) return F.linear(x, Weight, Bias);
        using var scope = NewDisposeScope();
        var result = F.linear(x, Weight, Bias);
        return result.Plus(Adapter.Delta(x)).to(result.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The weight the layer applies: W, or W + scaling·B·A with an adapter (for code that reads the matrix itself: MLA's absorbed attention).</summary>
    public Tensor EffectiveWeight() => Adapter is null ? Weight.alias() : Weight.Plus(Adapter.WeightDelta(Weight.dtype));
}

/// <summary>
/// A LoRA adapter of one linear layer (PEFT <c>LoraLayer</c>, Hu et al. 2021): <c>A</c> [r, in], <c>B</c> [out, r], scaling α/r (α/√r with
/// rsLoRA); the layer computes <c>W·x + scaling·B·(A·x)</c>. A and B are float32 masters and the adapter path runs in float32 (the
/// input is cast to the adapters' dtype, as PEFT does), so a bf16 base trains and applies float32 adapters.
/// </summary>
internal sealed class LowRankAdapter : IDisposable
{
    public LowRankAdapter(Tensor a, Tensor b, double scaling)
    {
        A = a;
        B = b;
        Scaling = scaling;
    }

    public Tensor A { get; }
    public Tensor B { get; }
    public double Scaling { get; }

    /// <summary>scaling·B·(A·x) in the adapters' dtype (float32), whatever the dtype of <paramref name="x"/>.</summary>
    public Tensor Delta(Tensor x) => F.linear(F.linear(x.to(A.dtype), A), B).Times(Scaling);

    /// <summary>scaling·B·A in <paramref name="dtype"/> (computed in float32).</summary>
    public Tensor WeightDelta(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        return matmul(B.to(ScalarType.Float32), A.to(ScalarType.Float32)).Times(Scaling).to(dtype).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}

/// <summary>
/// RMSNorm as HF <c>DeepseekV3RMSNorm</c>: <c>w ⊙ (x_f32 · rsqrt(mean(x_f32²) + eps)).to(dtype)</c> — the weight multiplies after the cast back.
/// </summary>
internal sealed class RmsNorm : ParameterBlock
{
    readonly double _eps;

    public RmsNorm(long size, double eps, Placement placement) : base("RMSNorm")
    {
        _eps = eps;
        Weight = AddParameter("weight", new[] { size }, placement);
        Composed = placement.Device.type != DeviceType.CUDA;
    }

    public Parameter Weight { get; }

    /// <summary>
    /// The composed form (HF's lines, one op each, two roundings in half types) instead of libtorch's <c>rms_norm</c> in one call.
    /// Default: composed on the CPU (HF's arithmetic bit for bit, which the goldens and trained checkpoints were made with), one call
    /// on CUDA, where a decoding step is bound by op launches (eight launches become one or two). libtorch's op rounds half types
    /// once, so in bf16 it differs from the composed form by one unit in the last place in about a quarter of the elements
    /// (FusedKernelTests).
    /// </summary>
    public bool Composed { get; set; }

    public Tensor Forward(Tensor x)
    {
        if (!Composed) return ScriptedOps.RmsNorm(x, Weight, _eps);
        using var scope = NewDisposeScope();
        var dtype = x.dtype;
        var h = x.to(ScalarType.Float32);
        h = h * h.square().mean(new long[] { -1 }, keepdim: true).Plus(_eps).rsqrt();
        return (Weight * h.to(dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>The gated MLP of DeepSeek (HF <c>DeepseekV3MLP</c>): <c>down(act(gate·x) ⊙ up·x)</c>, no biases.</summary>
internal sealed class GatedMlp : ParameterBlock
{
    readonly string _act;
    readonly LinearLayer _gate, _up, _down;

    public GatedMlp(long hidden, long intermediate, string act, Placement placement) : base("MLP")
    {
        _act = act;
        _gate = new LinearLayer(hidden, intermediate, false, placement);
        _up = new LinearLayer(hidden, intermediate, false, placement);
        _down = new LinearLayer(intermediate, hidden, false, placement);
        register_module("gate_proj", _gate);
        register_module("up_proj", _up);
        register_module("down_proj", _down);
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _down.Forward(Functional.Activation(_gate.Forward(x), _act) * _up.Forward(x)).MoveToOuterDisposeScope();
    }
}
