using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode;

/// <summary>How token states become one vector: the mean over real tokens (sentence-transformers' mean pooling) or the <c>[CLS]</c> state.</summary>
public enum PoolingMode { Mean, Cls }

/// <summary>
/// Pooling and normalisation on <c>last_hidden_state</c>, as sentence-transformers computes them (checked against the
/// <c>mean_pooled</c>, <c>mean_pooled_normalized</c> and <c>cls</c> tensors of fixtures/bert-golden).
/// </summary>
public static class Pooling
{
    /// <summary>Σ(h·mask) / max(Σmask, 1e-9) over the sequence: [batch, seq, hidden] → [batch, hidden].</summary>
    public static Tensor Mean(Tensor lastHiddenState, Tensor attentionMask)
    {
        var mask = attentionMask.to(lastHiddenState.dtype, lastHiddenState.device).unsqueeze(-1);
        return (lastHiddenState * mask).sum(1) / Scalars.With(1e-9, floor => mask.sum(1).clamp_min(floor));
    }

    /// <summary>The first token's state: [batch, seq, hidden] → [batch, hidden].</summary>
    public static Tensor Cls(Tensor lastHiddenState) => lastHiddenState.select(1, 0);

    public static Tensor Apply(PoolingMode mode, Tensor lastHiddenState, Tensor attentionMask) => mode switch
    {
        PoolingMode.Mean => Mean(lastHiddenState, attentionMask),
        PoolingMode.Cls => Cls(lastHiddenState),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>Row-wise L2 normalisation, x / max(‖x‖, 1e-12) (torch.nn.functional.normalize).</summary>
    public static Tensor L2Normalize(Tensor x) => nn.functional.normalize(x, p: 2, dim: -1);

    /// <summary>Parses "mean" or "cls" (sentence-transformers also writes "mean_tokens", "cls_token").</summary>
    public static PoolingMode Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "mean" or "mean_tokens" => PoolingMode.Mean,
        "cls" or "cls_token" => PoolingMode.Cls,
        _ => throw new InvalidInputException($"unknown pooling '{value}' (use mean or cls)"),
    };

    public static string Name(PoolingMode mode) => mode == PoolingMode.Mean ? "mean" : "cls";
}
