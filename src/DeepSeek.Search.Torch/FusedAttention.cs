using DeepSeek.Search.Core;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>
/// Encoder self-attention in one native call (native/cpu/attention.cpp, AVX-512 float32): softmax(Q·Kᵀ·scale + bias)·V for
/// every sequence and head, read straight from a fused QKV projection [batch, seq, 3·heads·dim] and written as
/// [batch, seq, heads·dim], the layout the output projection takes, with no permute or reshape copies. The CPU encoder's
/// inference attention (float32 and INT8) where the CPU runs AVX-512; elsewhere callers use scaled_dot_product_attention.
/// Inference only. Checked against torch's scaled_dot_product_attention (tests/DeepSeek.Search.Encode.Tests/Int8LinearTests.cs).
/// </summary>
public static unsafe class FusedAttention
{
    /// <summary>Whether this CPU runs it for heads of <paramref name="dim"/> over <paramref name="seq"/> tokens.</summary>
    public static bool Supported(long dim, long seq) => dim <= 128 && seq <= 4096 && NativeKernels.dss_attention_supported((int)dim, (int)seq) == 1;

    /// <summary>
    /// <paramref name="qkv"/> [batch, seq, 3·heads·dim] float32 on the CPU; <paramref name="keyBias"/> [batch, seq] added to the
    /// scores of each key (0, or a very negative value for padding), or null; returns [batch, seq, heads·dim].
    /// </summary>
    public static Tensor Forward(Tensor qkv, int heads, Tensor? keyBias, float scale)
    {
        ArgumentNullException.ThrowIfNull(qkv);
        if (qkv.dim() != 3 || qkv.size(2) % (3 * heads) != 0)
            throw new InvalidInputException($"fused attention: qkv must be [batch, seq, 3·{heads}·dim], got [{string.Join(", ", qkv.shape)}]");
        long batch = qkv.size(0), seq = qkv.size(1), dim = qkv.size(2) / (3 * heads);
        if (!Supported(dim, seq)) throw new InvalidInputException($"fused attention does not run here for heads of {dim} over {seq} tokens");
        using var input = qkv.to(ScalarType.Float32).contiguous();
        using var bias = keyBias?.to(ScalarType.Float32).reshape(batch, seq).contiguous();
        var output = empty([batch, seq, heads * dim], ScalarType.Float32);
        int threads = NativeKernels.ThreadsFor(2 * batch * heads * seq * seq * dim, batch * heads);
        int rc = NativeKernels.dss_attention_f32((float*)NativeKernels.TensorData(input), (int)batch, (int)seq, heads, (int)dim,
            bias is null ? null : (float*)NativeKernels.TensorData(bias), scale, (float*)NativeKernels.TensorData(output), threads);
        if (rc != 0) throw new InvalidOperationException($"dss_attention_f32 failed ({rc})");
        return output;
    }
}
