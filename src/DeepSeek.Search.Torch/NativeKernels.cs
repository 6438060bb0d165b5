using System.Runtime.InteropServices;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Native;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>
/// The P/Invokes of libdss_cpu.so (native/cpu: the CPU encoder's float32 and INT8 linear layers and its float32 attention), found
/// by <see cref="NativeLibraryProbe"/>, and the address of a tensor's memory for them.
/// </summary>
internal static unsafe partial class NativeKernels
{
    const string Library = "dss_cpu";

    static NativeKernels() => NativeLibrary.SetDllImportResolver(typeof(NativeKernels).Assembly, NativeLibraryProbe.For(Library));

    /// <summary>Below this many multiply-adds (~25 µs of one core in float32) a call runs on its own thread: waking another costs more than it saves, and on a busy machine that thread may wait for a core.</summary>
    internal const long SerialMultiplyAdds = 1 << 22;

    /// <summary>
    /// The threads one kernel call of <paramref name="multiplyAdds"/> spreads over, at most <paramref name="parts"/> (the
    /// units it can be cut into) and <see cref="Int8Linear.Threads"/>: the one rule of the INT8 and float32 linear and the
    /// attention kernels.
    /// </summary>
    internal static int ThreadsFor(long multiplyAdds, long parts) =>
        multiplyAdds < SerialMultiplyAdds ? 1 : (int)Math.Clamp(parts, 1, Math.Max(1, Int8Linear.Threads));

    /// <summary>The address of a contiguous tensor's first element (LibTorchSharp's <c>THSTensor_data</c>, from the library TorchSharp itself loads).</summary>
    internal static IntPtr TensorData(Tensor t) => ((delegate* unmanaged<IntPtr, IntPtr>)DataExport.Value)(t.Handle);

    /// <summary>A tensor's values as float32 on the host (weights and biases copied for a native layer).</summary>
    internal static float[] Floats(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }

    /// <summary>The address of a pinned array's first element (GC.AllocateUninitializedArray with pinned: true).</summary>
    internal static T* Address<T>(T[] pinned) where T : unmanaged => (T*)Marshal.UnsafeAddrOfPinnedArrayElement(pinned, 0);

    /// <summary>
    /// A native linear layer's call: checks that <paramref name="x"/> is on the CPU and ends in <paramref name="inFeatures"/>
    /// (errors named after <paramref name="layer"/>), and returns it as contiguous float32 (dispose it), the rows it holds and
    /// the uninitialised output [..., <paramref name="outFeatures"/>] the kernel writes.
    /// </summary>
    internal static (Tensor Input, long Rows, Tensor Output) LinearCall(Tensor x, int inFeatures, int outFeatures, string layer)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.device_type != TorchSharp.DeviceType.CPU) throw new InvalidInputException($"{layer} runs on the CPU only, got a tensor on {x.device}");
        if (x.dim() < 1 || TensorShape.Last(x) != inFeatures)
            throw new InvalidInputException($"{layer}: input must end in {inFeatures} features, got [{string.Join(", ", x.shape)}]");
        var input = x.to(ScalarType.Float32).contiguous();
        var shape = TensorShape.Of(x);
        shape[^1] = outFeatures;
        return (input, input.numel() / inFeatures, empty(shape, ScalarType.Float32));
    }

    static readonly Lazy<IntPtr> DataExport = new(() =>
        NativeLibrary.GetExport(NativeLibrary.Load("LibTorchSharp", typeof(TorchSharp.torch).Assembly, null), "THSTensor_data"));

    [LibraryImport(Library)] internal static partial long dss_q8_packed_bytes(int n, int k);
    [LibraryImport(Library)] internal static partial int dss_q8_pack(float* w, int n, int k, float* channel, sbyte* packed, float* scales, int* sums);
    [LibraryImport(Library)] internal static partial int dss_q8_vnni();
    [LibraryImport(Library)] internal static partial int dss_q8_linear_mt(float* x, int m, int k, long ldx, float* inScale, sbyte* packed, float* wscales, int* wsums,
        float* bias, int n, float* y, long ldy, int act, int threads);
    [LibraryImport(Library)] internal static partial int dss_f32_supported();
    [LibraryImport(Library)] internal static partial long dss_f32_packed_floats(int n, int k);
    [LibraryImport(Library)] internal static partial int dss_f32_pack(float* w, int n, int k, float* packed);
    [LibraryImport(Library)] internal static partial int dss_f32_linear_mt(float* x, int m, int k, long ldx, float* packed, float* bias, int n, float* y, long ldy,
        int act, int threads);
    [LibraryImport(Library)] internal static partial int dss_attention_supported(int dim, int seq);
    [LibraryImport(Library)] internal static partial int dss_attention_f32(float* qkv, int batch, int seq, int heads, int dim, float* bias, float scale,
        float* output, int threads);
}
