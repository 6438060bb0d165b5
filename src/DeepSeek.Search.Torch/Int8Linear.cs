using DeepSeek.Search.Core;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>
/// A linear layer y = x·Wᵀ + b run in INT8 on the CPU with dynamic quantization, as PyTorch's
/// <c>torch.ao.quantization.quantize_dynamic</c> and ONNX Runtime's <c>quantize_dynamic</c> do for inference: W is quantized once
/// (symmetric int8, one scale per output row), each call quantizes x (u8 with a scale and zero point per row, over the row's
/// [min, max]: per token, finer than those runtimes' one range per tensor), accumulates the products exactly in int32 and
/// dequantizes with both scales in float32. The kernel (native/cpu/int8_linear.cpp, libdss_cpu.so) uses AVX-512 VNNI
/// where the CPU has it and portable C++ elsewhere; the rows are split between <see cref="Threads"/> native threads (the
/// library's own pool, native/cpu/threads.h; not the managed thread pool, which a server keeps busy with requests). Inference only: no autograd, CPU
/// float32 tensors in and out. The error against the float layer is bounded by the two rounding steps
/// (tests/DeepSeek.Search.Encode.Tests/Int8LinearTests.cs checks it against a float64 reference of the same quantization and
/// against the float layer).
/// </summary>
public sealed unsafe class Int8Linear : IInferenceLinear
{
    const int RowsPerThread = 32;

    readonly byte[] _packed;     // pinned: the kernel reads it through a pointer
    readonly float[] _scales;
    readonly int[] _sums;
    readonly float[]? _bias;
    readonly float[]? _inScale;  // 1 / the channel scales, or null

    /// <summary>
    /// Quantizes <paramref name="weight"/> [out, in] (PyTorch's Linear layout) and keeps <paramref name="bias"/> [out] in float32.
    /// With <paramref name="channelScales"/> [in] (positive), SmoothQuant's migration: W·diag(s) is quantized and each input
    /// row is divided by s before its own quantization, so the product is the same while an input channel with a wide
    /// range (an outlier dimension of a LayerNorm's output) no longer takes the row's 256 levels from the others.
    /// </summary>
    public Int8Linear(Tensor weight, Tensor? bias, float[]? channelScales = null, FusedActivation activation = FusedActivation.None)
    {
        if (!Enum.IsDefined(activation)) throw new InvalidInputException($"INT8 linear: unknown activation {(int)activation}");
        Activation = activation;
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2) throw new InvalidInputException($"INT8 linear: weight must be [out, in], got [{string.Join(", ", weight.shape)}]");
        OutFeatures = checked((int)weight.shape[0]);
        InFeatures = checked((int)weight.shape[1]);
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != OutFeatures))
            throw new InvalidInputException($"INT8 linear: bias must be [{OutFeatures}], got [{string.Join(", ", bias.shape)}]");
        if (channelScales is not null && (channelScales.Length != InFeatures || channelScales.Any(c => !(c > 0) || !float.IsFinite(c))))
            throw new InvalidInputException($"INT8 linear: channel scales must be {InFeatures} positive numbers");
        var w = NativeKernels.Floats(weight);
        _inScale = channelScales?.Select(c => 1f / c).ToArray();
        _packed = GC.AllocateUninitializedArray<byte>(checked((int)NativeKernels.dss_q8_packed_bytes(OutFeatures, InFeatures)), pinned: true);
        _scales = new float[OutFeatures];
        _sums = new int[OutFeatures];
        fixed (float* wp = w)
        fixed (float* cp = channelScales)
        fixed (float* sp = _scales)
        fixed (int* up = _sums)
            if (NativeKernels.dss_q8_pack(wp, OutFeatures, InFeatures, cp, (sbyte*)NativeKernels.Address(_packed), sp, up) != 0)
                throw new InvalidInputException($"INT8 linear: cannot pack a {OutFeatures} × {InFeatures} weight");
        _bias = bias is null ? null : NativeKernels.Floats(bias);
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>Whether this CPU runs the AVX-512 VNNI kernel (else the portable one; DSS_Q8_PORTABLE=1 forces it).</summary>
    public static bool UsesVnni => NativeKernels.dss_q8_vnni() == 1;

    /// <summary>What the kernel applies to each output as it writes it (erf GELU: <see cref="FusedActivation.Gelu"/>).</summary>
    public FusedActivation Activation { get; }

    /// <summary>Threads a call splits its rows between (default: the processor count; at most one per 32 rows).</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>x [..., in] → y [..., out]: float32 on the CPU (x is made contiguous first).</summary>
    public Tensor Forward(Tensor x)
    {
        var (input, rows, y) = NativeKernels.LinearCall(x, InFeatures, OutFeatures, "INT8 linear");
        using var _ = input;
        float* xp = (float*)NativeKernels.TensorData(input), yp = (float*)NativeKernels.TensorData(y);
        sbyte* pp = (sbyte*)NativeKernels.Address(_packed);
        fixed (float* sp = _scales)
        fixed (int* up = _sums)
        fixed (float* bp = _bias)
        fixed (float* ip = _inScale)
        {
            int threads = NativeKernels.ThreadsFor(rows * InFeatures * OutFeatures, (rows + RowsPerThread - 1) / RowsPerThread);
            int rc = NativeKernels.dss_q8_linear_mt(xp, checked((int)rows), InFeatures, InFeatures, ip, pp, sp, up, bp, OutFeatures, yp, OutFeatures, (int)Activation, threads);
            if (rc != 0) throw new InvalidOperationException($"dss_q8_linear failed ({rc}) on {rows} rows of {InFeatures} → {OutFeatures}");
        }
        return y;
    }
}
