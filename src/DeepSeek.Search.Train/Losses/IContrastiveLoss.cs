using static TorchSharp.torch;

namespace DeepSeek.Search.Train.Losses;

/// <summary>
/// A loss over one batch of embeddings. Convention: <c>queries</c> is [B, H]; <c>documents</c> is [D, H] with D ≥ B, where row i's
/// positive is document i and every other document is a candidate negative (the other rows' positives, then hard negatives);
/// <c>exclude</c> is a bool [B, D] mask of candidates that must not count as negatives of row i (documents also relevant to it).
/// Embeddings arrive in float32; the result is a scalar.
/// </summary>
public interface IContrastiveLoss
{
    /// <param name="logitScale">For learnable temperature: the scalar log(1/τ) parameter; null uses the fixed temperature.</param>
    Tensor Forward(Tensor queries, Tensor documents, Tensor exclude, Tensor? logitScale = null);
}
