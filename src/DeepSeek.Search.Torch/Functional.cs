using DeepSeek.Search.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Torch;

/// <summary>The tensor functions every model here shares: the linear map as one GEMM, and Hugging Face's activations by name.</summary>
public static class Functional
{
    /// <summary>
    /// x·Wᵀ + b over the last dimension as one <c>addmm</c> on the flattened input, the path <c>at::linear</c> takes for contiguous
    /// input: the bias rides in the GEMM's epilogue (cuBLASLt) instead of a separate broadcast add, which on a GPU was the single
    /// largest cost of a TorchSharp <c>Linear</c> (bench/results/gpu.md). Same products as <c>nn.Linear</c>.
    /// </summary>
    public static Tensor Affine(Tensor x, Tensor weight, Tensor? bias)
    {
        if (bias is null) return F.linear(x, weight);
        var shape = TensorShape.Of(x);
        if (shape.Length == 2) return addmm(bias, x, weight.t(), 1f, 1f);
        var y = addmm(bias, x.reshape(-1, shape[^1]), weight.t(), 1f, 1f);
        shape[^1] = weight.size(0);
        return y.view(shape);
    }

    /// <summary>HF <c>ACT2FN</c> by its config name (<c>hidden_act</c>): gelu = erf GELU; gelu_new / gelu_pytorch_tanh / gelu_fast =
    /// tanh approximation; quick_gelu = x·σ(1.702x); relu; silu / swish; tanh. Another name is a <see cref="CheckpointException"/>.</summary>
    public static Tensor Activation(Tensor x, string name) => name switch
    {
        "gelu" => F.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => F.gelu(x, GELU.Approximate.tanh),
        "quick_gelu" => x * x.Times(1.702).sigmoid(),
        "relu" => F.relu(x),
        "silu" or "swish" => F.silu(x),
        "tanh" => x.tanh(),
        _ => throw new CheckpointException($"unsupported hidden_act '{name}'"),
    };
}
