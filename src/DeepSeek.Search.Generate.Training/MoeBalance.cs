using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>The load of one MoE layer over some tokens: how many (token, expert) assignments each routed expert received.</summary>
public sealed record ExpertLoad(int Layer, long[] Counts)
{
    public long Total => Counts.Sum();

    /// <summary>Experts that received no token.</summary>
    public int Idle => Counts.Count(c => c == 0);

    /// <summary>Smallest and largest share of the assignments (1/E each when perfectly balanced).</summary>
    public double MinShare => Total == 0 ? 0 : (double)Counts.Min() / Total;
    public double MaxShare => Total == 0 ? 0 : (double)Counts.Max() / Total;

    /// <summary>max / mean of the counts (1 = balanced, E = everything on one expert).</summary>
    public double MaxOverMean => Total == 0 ? 0 : Counts.Max() * (double)Counts.Length / Total;

    /// <summary>Coefficient of variation (standard deviation / mean) of the counts; 0 = balanced.</summary>
    public double CoefficientOfVariation
    {
        get
        {
            if (Total == 0) return 0;
            double mean = (double)Total / Counts.Length;
            double variance = Counts.Sum(c => (c - mean) * (c - mean)) / Counts.Length;
            return Math.Sqrt(variance) / mean;
        }
    }
}

/// <summary>
/// Watches the MoE layers of a training or validation forward pass (<see cref="IMoeObserver"/>): adds up the tokens per expert of every
/// layer, and, with α &gt; 0 while gradients are recorded, builds DeepSeek-V3's complementary sequence-wise balance loss
/// (spec §6): per sequence of T tokens, s′ = s / Σⱼ sⱼ (the sigmoid scores normalised per token), Pᵢ = mean over the sequence of s′ᵢ,
/// fᵢ = E/(K·T)·#{t: i ∈ TopK(t)} (a count, no gradient); L = α·Σᵢ fᵢ·Pᵢ averaged over the sequences and summed over the layers. The
/// gradient reaches the router through Pᵢ; the routed weights keep their own graph (the observer only reads them).
/// </summary>
internal sealed class MoeBalanceObserver : IMoeObserver, IDisposable
{
    readonly SortedDictionary<int, long[]> _counts = new();
    readonly List<Tensor> _losses = new();
    readonly double _alpha;
    readonly int _experts, _topK;

    public MoeBalanceObserver(DeepSeekConfig config, double seqAuxAlpha)
    {
        _alpha = seqAuxAlpha;
        _experts = config.NRoutedExperts;
        _topK = config.NumExpertsPerTok;
        for (int l = 0; l < config.NumHiddenLayers; l++)
            if (config.IsMoeLayer(l)) _counts[l] = new long[_experts];
    }

    /// <summary>Rows of the current batch (sequences); the sequence-wise loss needs it to split the flat tokens.</summary>
    public long Sequences { get; set; } = 1;

    /// <summary>Tokens per expert by MoE layer since the last <see cref="ResetCounts"/>.</summary>
    public IReadOnlyList<ExpertLoad> Loads => _counts.Select(kv => new ExpertLoad(kv.Key, (long[])kv.Value.Clone())).ToList();

    /// <summary>The counts by layer (live arrays; read, do not keep).</summary>
    public IReadOnlyDictionary<int, long[]> Counts => _counts;

    public void ResetCounts()
    {
        foreach (var c in _counts.Values) Array.Clear(c);
    }

    /// <summary>The balance loss of the forward passes since the last call (summed over layers), or null; the caller owns it.</summary>
    public Tensor? TakeLoss()
    {
        if (_losses.Count == 0) return null;
        var sum = _losses[0].alias();
        for (int i = 1; i < _losses.Count; i++) sum = sum.Plus(_losses[i]);
        foreach (var t in _losses) t.Dispose();
        _losses.Clear();
        return sum;
    }

    void IMoeObserver.OnRouted(int layer, RoutingDecision routing, Tensor scores, long[] tokensPerExpert)
    {
        if (_counts.TryGetValue(layer, out var counts))
            for (int e = 0; e < counts.Length && e < tokensPerExpert.Length; e++) counts[e] += tokensPerExpert[e];
        if (_alpha <= 0 || !is_grad_enabled()) return;

        // inside the layer's dispose scope: the loss is detached from it and owned by this observer until TakeLoss
        long n = scores.shape[0], b = Sequences, t = n / b;
        var s = scores.view(b, t, _experts);
        var normalized = s / s.sum(-1, keepdim: true);
        var p = normalized.mean(new long[] { 1 });                                                        // [B, E]
        var hits = zeros(b, _experts, ScalarType.Float32, scores.device)
            .scatter_add_(1, routing.Indices.view(b, t * _topK), ones(b, t * _topK, ScalarType.Float32, scores.device));
        var f = hits.Times((double)_experts / (_topK * t));                                                 // no gradient
        var loss = (f * p).sum(-1).mean().Times(_alpha);
        _losses.Add(loss.DetachFromDisposeScope());
    }

    public void Dispose()
    {
        foreach (var t in _losses) t.Dispose();
        _losses.Clear();
    }
}

/// <summary>DeepSeek-V3's auxiliary-loss-free balancing step (spec §6).</summary>
internal static class BiasBalancer
{
    /// <summary>
    /// b_i ← b_i + γ·sign(mean(c) − c_i) for every MoE layer of <paramref name="model"/>, with c its tokens per expert in
    /// <paramref name="counts"/> (overloaded experts are lowered, underloaded ones raised; equal ones unchanged). Computed in float32.
    /// </summary>
    public static void Update(DeepSeekModel model, IReadOnlyDictionary<int, long[]> counts, double gamma)
    {
        if (gamma == 0) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (layer, c) in counts)
        {
            if (model.CorrectionBias(layer) is not Tensor bias) continue;
            double mean = c.Average();
            var delta = c.Select(x => (float)(gamma * Math.Sign(mean - x))).ToArray();
            bias.PlusInPlace(tensor(delta, ScalarType.Float32).to(bias.device));
        }
    }
}
