using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>
/// Rotary position embedding settings: Hugging Face 5.x <c>rope_parameters</c> or 4.x <c>rope_theta</c> + <c>rope_scaling</c>.
/// Kinds: <c>default</c>, <c>linear</c> (positions divided by the factor) and <c>yarn</c> (NTK-by-parts, as
/// <c>modeling_rope_utils._compute_yarn_parameters</c>). The YaRN factor is always the explicit <c>factor</c> (transformers 5.x; the
/// 4.5x substitution of <c>max_position_embeddings / original_max_position_embeddings</c> is not reproduced — the two agree for every
/// released DeepSeek config).
/// </summary>
public sealed record RopeParameters
{
    public string RopeType { get; init; } = "default";
    public double Theta { get; init; } = 10000.0;
    public double Factor { get; init; } = 1.0;
    public int? OriginalMaxPositionEmbeddings { get; init; }
    public double? BetaFast { get; init; }
    public double? BetaSlow { get; init; }
    public double? Mscale { get; init; }
    public double? MscaleAllDim { get; init; }
    public double? AttentionFactor { get; init; }

    /// <summary>5.x <c>truncate</c>: floor/ceil the YaRN correction range (default true).</summary>
    public bool Truncate { get; init; } = true;

    public static readonly string[] SupportedTypes = { "default", "linear", "yarn" };

    /// <summary>YaRN's <c>get_mscale</c>: 1 for s ≤ 1, else 0.1·m·ln s + 1.</summary>
    public static double YarnMscale(double scale, double mscale = 1.0) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    /// <summary>The softmax-scale multiplier m² of MLA (m = g(factor, mscale_all_dim) for non-default RoPE with mscale_all_dim ≠ 0).</summary>
    public double SoftmaxScaleFactor
    {
        get
        {
            if (RopeType == "default" || MscaleAllDim is not double all || all == 0) return 1.0;
            double m = YarnMscale(Factor, all);
            return m * m;
        }
    }

    /// <summary>The factor applied to cos and sin (YaRN's <c>attention_factor</c>; 1 otherwise).</summary>
    public double AttentionScaling
    {
        get
        {
            if (RopeType != "yarn") return 1.0;
            if (AttentionFactor is double a) return a;
            if (Mscale is double m && m != 0 && MscaleAllDim is double all && all != 0) return YarnMscale(Factor, m) / YarnMscale(Factor, all);
            return YarnMscale(Factor);
        }
    }

    public void Validate(string where)
    {
        if (!SupportedTypes.Contains(RopeType))
            throw new CheckpointException($"{where}: unsupported rope_type '{RopeType}' (supported: {string.Join(", ", SupportedTypes)})");
        if (!(Theta > 0)) throw new CheckpointException($"{where}: rope_theta must be positive (got {Theta})");
        if (RopeType != "default" && !(Factor > 0)) throw new CheckpointException($"{where}: rope factor must be positive (got {Factor})");
    }

    /// <summary>
    /// The inverse frequencies [dim/2] in float32, computed with libtorch float32 arithmetic in the order transformers uses, so that they
    /// agree bit for bit with <c>rotary_emb.inv_freq</c>. <paramref name="maxPositionEmbeddings"/> is the YaRN fallback for
    /// <c>original_max_position_embeddings</c>.
    /// </summary>
    public Tensor InverseFrequencies(int dim, int maxPositionEmbeddings)
    {
        using var scope = NewDisposeScope();
        // base ** (arange(0, dim, 2).float() / dim), in float32 (arange(0, dim, 2) as 2·arange(⌈dim/2⌉): the same integers)
        var exponents = Scalars.With((dim + 1) / 2, stop => arange(stop, dtype: ScalarType.Int64)).Times(2L).to(ScalarType.Float32).Over((float)dim);
        var posFreqs = pow(tensor((float)Theta), exponents);
        Tensor inv;
        switch (RopeType)
        {
            case "default":
                inv = posFreqs.DividedInto(1.0f);
                break;
            case "linear":
                inv = posFreqs.DividedInto(1.0f).Over((float)Factor);
                break;
            case "yarn":
            {
                var extrapolation = posFreqs.DividedInto(1.0f);
                var interpolation = posFreqs.Times((float)Factor).DividedInto(1.0f);
                int l0 = OriginalMaxPositionEmbeddings ?? maxPositionEmbeddings;
                double betaFast = BetaFast is double bf && bf != 0 ? bf : 32, betaSlow = BetaSlow is double bs && bs != 0 ? bs : 1;
                double CorrectionDim(double rotations) => dim * Math.Log(l0 / (rotations * 2 * Math.PI)) / (2 * Math.Log(Theta));
                double low = CorrectionDim(betaFast), high = CorrectionDim(betaSlow);
                if (Truncate) { low = Math.Floor(low); high = Math.Ceiling(high); }
                low = Math.Max(low, 0);
                high = Math.Min(high, dim - 1);
                if (low == high) high += 0.001;
                var shifted = Scalars.With(dim / 2, stop => arange(stop, dtype: ScalarType.Float32)).Minus((float)low).Over((float)(high - low));
                var ramp = Scalars.With(0L, 1L, (min, max) => shifted.clamp(min, max));
                var extrapolationFactor = ramp.SubtractedFrom(1L);
                inv = (interpolation * extrapolationFactor.SubtractedFrom(1L)).Plus(extrapolation * extrapolationFactor);
                break;
            }
            default:
                throw new CheckpointException($"unsupported rope_type '{RopeType}'");
        }
        return inv.MoveToOuterDisposeScope();
    }
}
