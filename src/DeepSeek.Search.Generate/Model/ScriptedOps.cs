using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>
/// libtorch ops that TorchSharp 0.107 binds no function for, reached through one TorchScript compilation unit
/// (<c>torch.jit.compile</c>: libtorch's own compiler resolves each op by its schema), compiled once per process at first use.
/// Autograd records through them like any op.
/// </summary>
internal static class ScriptedOps
{
    static readonly Lazy<TorchSharp.torch.jit.CompilationUnit> Unit = new(() => TorchSharp.torch.jit.compile(
        "def grouped_mm(a: Tensor, b: Tensor, offs: Tensor) -> Tensor:\n" +
        "    return torch._grouped_mm(a, b, offs)\n" +
        "\n" +
        "def rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:\n" +
        "    return torch.rms_norm(x, [x.size(-1)], weight, eps)\n" +
        "\n" +
        "def efficient_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool, scale: float) -> Tensor:\n" +
        "    return torch._scaled_dot_product_efficient_attention(q, k, v, None, False, 0.0, causal, scale=scale)[0]\n" +
        "\n" +
        "def sdp_choice(q: Tensor, k: Tensor, v: Tensor, causal: bool) -> int:\n" +
        "    return torch._fused_sdp_choice(q, k, v, None, 0.0, causal)\n"));

    /// <summary>CUDA only: softmax(q·kᵀ·scale)·v (causal: top-left aligned) by libtorch's memory-efficient kernel, whatever backend
    /// scaled_dot_product_attention would pick; q/k [B, H, T, Dqk], v [B, H, S, Dv].</summary>
    public static Tensor EfficientAttention(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        Unit.Value.invoke<Tensor>("efficient_attention", q, k, v, causal, scale);

    /// <summary>The backend scaled_dot_product_attention picks for these inputs (0 math, 1 flash, 2 efficient, 3 cuDNN).</summary>
    public static long SdpChoice(Tensor q, Tensor k, Tensor v, bool causal) => TorchSharp.ScalarExtensionMethods.ToInt64(Unit.Value.invoke<TorchSharp.Scalar>("sdp_choice", q, k, v, causal));

    /// <summary>Whether <see cref="GroupedMm"/> has a kernel for <paramref name="dtype"/>.</summary>
    public static bool GroupedMmSupports(ScalarType dtype) => dtype is ScalarType.BFloat16 or ScalarType.Float32;

    /// <summary>
    /// <c>aten::_grouped_mm(a [M, K], b [G, K, N], offs int32 [G]) → [M, N]</c>: rows <c>offs[g-1] .. offs[g]</c> of a times b[g]
    /// (<paramref name="ends"/>: cumulative row counts). CUDA (bf16, SM90 kernels), and a reference loop on the CPU for float32 and bf16.
    /// </summary>
    public static Tensor GroupedMm(Tensor a, Tensor b, Tensor ends) => Unit.Value.invoke<Tensor>("grouped_mm", a, b, ends);

    /// <summary>
    /// <c>aten::rms_norm</c> over the last dimension: x · rsqrt(mean(x²) + eps) · <paramref name="weight"/>, computed in float32 for
    /// half types and rounded to x's dtype once (HF <c>DeepseekV3RMSNorm</c> rounds before the weight too: one unit in the last place
    /// apart in bf16, FusedKernelTests).
    /// </summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps) => Unit.Value.invoke<Tensor>("rms_norm", x, weight, eps);
}
