using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Train.Losses;

/// <summary>
/// Margin (triplet) ranking loss, batch-all form (Hermans et al. 2017): every (query, positive, negative) triplet of the batch —
/// negatives being the other rows' positives and the hard negatives, excluded candidates left out — contributes
/// max(0, margin − sim(q, d⁺) + sim(q, d⁻)); the sum is divided by the number of triplets that violate the margin (at least 1), so
/// easy triplets do not dilute the gradient. Similarities are raw (cosine for normalised embeddings); temperature plays no part.
/// </summary>
public sealed class TripletLoss : IContrastiveLoss
{
    public TripletLoss(double margin = 0.2)
    {
        if (!(margin >= 0)) throw new InvalidInputException($"margin must not be negative (got {margin})");
        Margin = margin;
    }

    public double Margin { get; }

    public Tensor Forward(Tensor queries, Tensor documents, Tensor exclude, Tensor? logitScale = null)
    {
        long b = queries.shape[0], d = documents.shape[0];
        if (d < b) throw new ArgumentException($"{d} documents for {b} queries: every query needs its positive");
        var scores = queries.matmul(documents.t());                            // [b, d]
        var positive = scores.diagonal().unsqueeze(1);                         // row i's positive is column i
        var isPositive = eye(b, d, dtype: ScalarType.Bool, device: queries.device);
        var negative = exclude.logical_or(isPositive).logical_not();
        var violation = F.relu((scores - positive).Plus(Margin)) * negative.to(scores.dtype);
        var active = Scalars.With(0L, 1L, (zero, one) => violation.gt(zero).sum().clamp_min(one)).to(scores.dtype);
        return violation.sum() / active;
    }
}
