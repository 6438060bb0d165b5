using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Train.Losses;

/// <summary>
/// InfoNCE (van den Oord et al. 2018; the in-batch softmax of DPR and Contriever): for each query, cross-entropy of
/// softmax(sim(q, d) / τ) over all candidates against its positive, averaged over the batch. Excluded candidates get a logit of
/// −1e9 (probability 0). <see cref="Symmetric"/> adds the document→query direction (each positive against all queries, rows whose
/// documents are relevant to another query excluded likewise) and averages the two.
/// </summary>
public sealed class InfoNceLoss : IContrastiveLoss
{
    const double Masked = -1e9;

    public InfoNceLoss(double temperature = 0.05, bool symmetric = false)
    {
        if (!(temperature > 0)) throw new InvalidInputException($"temperature must be positive (got {temperature})");
        Temperature = temperature;
        Symmetric = symmetric;
    }

    public double Temperature { get; }
    public bool Symmetric { get; }

    public Tensor Forward(Tensor queries, Tensor documents, Tensor exclude, Tensor? logitScale = null)
    {
        long b = queries.shape[0];
        if (documents.shape[0] < b) throw new ArgumentException($"{documents.shape[0]} documents for {b} queries: every query needs its positive");
        var scores = queries.matmul(documents.t());
        scores = logitScale is null ? scores.Over(Temperature) : scores * logitScale.exp();
        var targets = Scalars.With(b, stop => arange(stop, dtype: ScalarType.Int64, device: queries.device));
        var loss = Scalars.With(Masked, masked => F.cross_entropy(scores.masked_fill(exclude, masked), targets));
        if (!Symmetric) return loss;
        // positives (first b columns) against the queries: logits [b docs, b queries]
        var reverse = Scalars.With(Masked, masked => scores.narrow(1, 0, b).t().masked_fill(exclude.narrow(1, 0, b).t(), masked));
        return loss.Plus(F.cross_entropy(reverse, targets)).Over(2.0);
    }
}
