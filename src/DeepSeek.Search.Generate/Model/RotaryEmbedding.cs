using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>
/// RoPE on the <c>qk_rope_head_dim</c> dimensions of MLA. cos/sin come from float32 <c>positions · inv_freq</c>, duplicated
/// (<c>cat(freqs, freqs)</c>) and multiplied by the YaRN attention factor. With <c>rope_interleave</c> (every DeepSeek checkpoint) the
/// input pairs (x₂ᵢ, x₂ᵢ₊₁) are first de-interleaved (view (d/2, 2), transpose, flatten), then <c>x·cos + rotate_half(x)·sin</c> — HF
/// <c>apply_rotary_pos_emb_interleave</c>, the same numbers as the complex multiplication of the official code and HF V2, in
/// de-interleaved order (queries and keys alike, so Q·Kᵀ is unchanged). V3 casts cos/sin to the activation dtype first (HF V3); V2
/// rotates in float32 and casts the result (HF V2's complex path). Checked against transformers 5.17 <c>rotary_emb.inv_freq</c>.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _invFreq;
    readonly bool _interleave, _float32Rotation;

    public RotaryEmbedding(DeepSeekConfig config, Device device)
    {
        using (var cpu = config.Rope.InverseFrequencies(config.QkRopeHeadDim, config.MaxPositionEmbeddings))
            _invFreq = cpu.to(device).DetachFromDisposeScope();
        AttentionScaling = config.Rope.AttentionScaling;
        _interleave = config.RopeInterleave;
        _float32Rotation = config.Version == DeepSeekVersion.V2;
    }

    /// <summary>inv_freq [dr/2], float32.</summary>
    public Tensor InverseFrequencies => _invFreq;

    public double AttentionScaling { get; }

    /// <summary>cos and sin [B, 1, T, dr] for int64 positions [B, T].</summary>
    public (Tensor Cos, Tensor Sin) CosSin(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * _invFreq;
        var emb = cat(new[] { freqs, freqs }, -1);
        var cos = emb.cos();
        var sin = emb.sin();
        if (AttentionScaling != 1.0)
        {
            cos = cos.Times(AttentionScaling);
            sin = sin.Times(AttentionScaling);
        }
        if (!_float32Rotation)
        {
            cos = cos.to(dtype);
            sin = sin.to(dtype);
        }
        return (cos.unsqueeze(1).MoveToOuterDisposeScope(), sin.unsqueeze(1).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates x [B, h, T, dr] (see the type remarks); the result is in de-interleaved order when interleaving.</summary>
    public Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var dtype = x.dtype;
        long b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
        if (_interleave) x = x.reshape(b, h, t, d / 2, 2).transpose(3, 4).reshape(b, h, t, d);
        if (_float32Rotation) x = x.to(ScalarType.Float32);
        var halves = x.chunk(2, -1);
        var rotated = cat(new[] { -halves[1], halves[0] }, -1);
        var result = (x * cos).Plus(rotated * sin);
        return result.to(dtype).MoveToOuterDisposeScope();
    }

    public void Dispose() => _invFreq.Dispose();
}
