using DeepSeek.Search.Core;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>A linear layer y = x·Wᵀ + b that runs inference natively on the CPU, from a copy of the weights made when it was built.</summary>
public interface IInferenceLinear
{
    int InFeatures { get; }
    int OutFeatures { get; }

    /// <summary>What the layer applies to its outputs as it writes them.</summary>
    FusedActivation Activation { get; }

    /// <summary>x [..., in] → y [..., out]: float32 on the CPU, no autograd.</summary>
    Tensor Forward(Tensor x);
}

/// <summary>An activation <see cref="Float32Linear"/> or <see cref="Int8Linear"/> applies to its outputs as it writes them.</summary>
public enum FusedActivation
{
    None = 0,
    /// <summary>erf GELU, x·½(1 + erf(x/√2)) (HF <c>gelu</c>), erf within 1.5e-7 (Abramowitz &amp; Stegun 7.1.26).</summary>
    Gelu = 1,
}

/// <summary>
/// A float32 linear layer y = x·Wᵀ + b for CPU inference over weights packed once into the panels the kernel streams
/// (native/cpu/f32_linear.cpp, libdss_cpu.so: a 14 × 32 AVX-512 register tile). On the 2-core AMD EPYC machine, in rounds
/// alternating with libtorch's addmm (MKL) and ONNX Runtime's MatMul on MiniLM's projections over a 4096-token batch, it led
/// ONNX Runtime by 4–6% and libtorch by 7–33% (a development timing; 146–209 GFLOP/s as this shared machine's speed moved, two cores' FMA peak measuring
/// about 193); bench/results/encode.md measures what that gives the encoder. An erf GELU can be applied
/// as the outputs are written (<see cref="FusedActivation"/>), saving the activation's pass over memory. The rows (or, for a few rows,
/// the output columns) are split between <see cref="Int8Linear.Threads"/> native threads (the library's own pool, native/cpu/threads.h). Inference only:
/// no autograd, AVX-512F CPUs only (<see cref="Supported"/>; callers keep libtorch elsewhere), and the packed copy is a
/// snapshot: changing the source weights afterwards does not change it. Checked against libtorch's linear
/// (tests/DeepSeek.Search.Encode.Tests/Float32LinearTests.cs).
/// </summary>
public sealed unsafe class Float32Linear : IInferenceLinear
{

    readonly float[] _packed;   // pinned: the kernel reads it through a pointer
    readonly float[]? _bias;

    /// <summary>
    /// Packs <paramref name="weight"/> [out, in] (PyTorch's Linear layout) and keeps <paramref name="bias"/> [out]; the outputs
    /// go through <paramref name="activation"/>.
    /// </summary>
    public Float32Linear(Tensor weight, Tensor? bias, FusedActivation activation = FusedActivation.None)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!Supported) throw new InvalidInputException("the native float32 linear layer needs AVX-512F, which this CPU does not have");
        if (weight.dim() != 2) throw new InvalidInputException($"float32 linear: weight must be [out, in], got [{string.Join(", ", weight.shape)}]");
        OutFeatures = checked((int)weight.shape[0]);
        InFeatures = checked((int)weight.shape[1]);
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != OutFeatures))
            throw new InvalidInputException($"float32 linear: bias must be [{OutFeatures}], got [{string.Join(", ", bias.shape)}]");
        var w = NativeKernels.Floats(weight);
        _packed = GC.AllocateUninitializedArray<float>(checked((int)NativeKernels.dss_f32_packed_floats(OutFeatures, InFeatures)), pinned: true);
        fixed (float* wp = w)
            if (NativeKernels.dss_f32_pack(wp, OutFeatures, InFeatures, NativeKernels.Address(_packed)) != 0)
                throw new InvalidInputException($"float32 linear: cannot pack a {OutFeatures} × {InFeatures} weight");
        _bias = bias is null ? null : NativeKernels.Floats(bias);
        Activation = activation;
    }

    /// <summary>What the outputs go through.</summary>
    public FusedActivation Activation { get; }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>Whether this CPU runs the kernel (AVX-512F).</summary>
    public static bool Supported => NativeKernels.dss_f32_supported() == 1;

    /// <summary>x [..., in] → y [..., out]: float32 on the CPU (x is made contiguous first).</summary>
    public Tensor Forward(Tensor x)
    {
        var (input, rows, y) = NativeKernels.LinearCall(x, InFeatures, OutFeatures, "float32 linear");
        using var _ = input;
        fixed (float* bp = _bias)
        {
            int rc = NativeKernels.dss_f32_linear_mt((float*)NativeKernels.TensorData(input), checked((int)rows), InFeatures, InFeatures, NativeKernels.Address(_packed), bp,
                OutFeatures, (float*)NativeKernels.TensorData(y), OutFeatures, (int)Activation, NativeKernels.ThreadsFor(rows * InFeatures * OutFeatures, rows * OutFeatures));
            if (rc != 0) throw new InvalidOperationException($"dss_f32_linear failed ({rc}) on {rows} rows of {InFeatures} → {OutFeatures}");
        }
        return y;
    }
}
