using DeepSeek.Search.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Generate;

/// <summary>
/// Multi-head latent attention (HF <c>DeepseekV3Attention</c>, official <c>MLA</c>), parameter for parameter the HF module:
/// <c>q_a_proj</c>/<c>q_a_layernorm</c>/<c>q_b_proj</c> (or one <c>q_proj</c> without q-LoRA), <c>kv_a_proj_with_mqa</c> (latent c and
/// the shared RoPE key), <c>kv_a_layernorm</c>, <c>kv_b_proj</c> (per-head no-RoPE keys and values), <c>o_proj</c>; biases on
/// q_a_proj, kv_a_proj_with_mqa and o_proj with <c>attention_bias</c>. Scores <c>Q·Kᵀ·scale</c> (scale = (dn+dr)^-½·m²) are masked,
/// softmaxed in float32 and cast back (HF eager attention); a pass without padding runs the same product fused: torch's
/// scaled_dot_product_attention on the CPU (HF's default "sdpa": causal flag at prefill, no mask for one new token; the query multiplied
/// by scale·√(dn+dr) where m² ≠ 1, as TorchSharp 0.107 binds no scale argument), libtorch's memory-efficient kernel on CUDA (see
/// FusedProduct); the CPU path is checked against the eager product in float64 and float32 (FusedKernelTests), the CUDA one by the
/// GPU bench's logits against float32. With a <see cref="KvCacheMode.Latent"/> cache the same numbers come from the
/// "absorb" formulation: q_nope is projected through the key half of kv_b_proj and the values are read from the latent.
/// </summary>
internal sealed class MultiHeadLatentAttention : ParameterBlock
{
    readonly int _heads, _nope, _rope, _v, _kvRank;
    readonly double _scale, _sdpaQueryFactor;
    readonly LinearLayer? _qA, _qB, _q;
    readonly RmsNorm? _qNorm;
    readonly LinearLayer _kvA, _kvB, _o;
    readonly RmsNorm _kvNorm;

    public MultiHeadLatentAttention(DeepSeekConfig c, Placement placement) : base("Attention")
    {
        _heads = c.NumAttentionHeads;
        _nope = c.QkNopeHeadDim;
        _rope = c.QkRopeHeadDim;
        _v = c.VHeadDim;
        _kvRank = c.KvLoraRank;
        _scale = c.SoftmaxScale;
        long h = c.HiddenSize, dq = c.QkHeadDim;
        double factor = _scale * Math.Sqrt(dq);
        _sdpaQueryFactor = Math.Abs(factor - 1.0) < 1e-12 ? 1.0 : factor; // 1 exactly for default RoPE (m² = 1)
        // HF V3 main gives the q/kv norms rms_norm_eps; V2 (and earlier V3) the fixed default 1e-6
        double latentEps = c.Version == DeepSeekVersion.V3 ? c.RmsNormEps : 1e-6;
        if (c.QLoraRank is int rq)
        {
            _qA = new LinearLayer(h, rq, c.AttentionBias, placement);
            _qNorm = new RmsNorm(rq, latentEps, placement);
            _qB = new LinearLayer(rq, _heads * dq, false, placement);
            register_module("q_a_proj", _qA);
            register_module("q_a_layernorm", _qNorm);
            register_module("q_b_proj", _qB);
        }
        else
        {
            _q = new LinearLayer(h, _heads * dq, false, placement);
            register_module("q_proj", _q);
        }
        _kvA = new LinearLayer(h, _kvRank + _rope, c.AttentionBias, placement);
        _kvNorm = new RmsNorm(_kvRank, latentEps, placement);
        _kvB = new LinearLayer(_kvRank, _heads * (_nope + _v), false, placement);
        _o = new LinearLayer(_heads * _v, h, c.AttentionBias, placement);
        register_module("kv_a_proj_with_mqa", _kvA);
        register_module("kv_a_layernorm", _kvNorm);
        register_module("kv_b_proj", _kvB);
        register_module("o_proj", _o);
    }

    /// <summary>Always the eager product (the reference the fused one is checked against); default false.</summary>
    public bool EagerOnly { get; set; }

    /// <summary>
    /// x [B, T, H] → [B, T, H]. <paramref name="mask"/> says which keys each query may attend. The cache (if any)
    /// receives this call's keys at positions P..P+T-1 of layer <paramref name="layer"/>.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionMask mask, RotaryEmbedding rope, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), t = x.size(1);
        var q = _q != null ? _q.Forward(x) : _qB!.Forward(_qNorm!.Forward(_qA!.Forward(x)));
        q = q.view(b, t, _heads, _nope + _rope).transpose(1, 2);
        var qNope = q.narrow(-1, 0, _nope);
        var qRot = rope.Apply(q.narrow(-1, _nope, _rope), cos, sin);

        var ckv = _kvA.Forward(x);
        var latent = _kvNorm.Forward(ckv.narrow(-1, 0, _kvRank));
        var kRot = rope.Apply(ckv.narrow(-1, _kvRank, _rope).view(b, 1, t, _rope), cos, sin);

        Tensor output;
        if (cache is { Mode: KvCacheMode.Latent })
            output = LatentAttention(qNope, qRot, latent, kRot.squeeze(1), mask.Allowed, cache, layer);
        else
        {
            var kv = _kvB.Forward(latent).view(b, t, _heads, _nope + _v).transpose(1, 2);
            var kNope = kv.narrow(-1, 0, _nope);
            var value = kv.narrow(-1, _nope, _v);
            var query = cat(new[] { qNope, qRot }, -1);
            var key = cat(new[] { kNope, kRot.expand(b, _heads, t, _rope) }, -1);
            if (cache != null) (key, value) = cache.Append(layer, key, value, seqDim: 2);
            output = mask.Unpadded && !EagerOnly && (query.device_type != TorchSharp.DeviceType.CUDA || t == 1 || t == key.size(2))
                ? FusedProduct(query, key, value, mask.Allowed)
                : matmul(Softmax(matmul(query, key.transpose(2, 3)).Times(_scale), mask.Allowed, query.dtype), value);
        }
        output = output.transpose(1, 2).reshape(b, t, _heads * _v);
        return _o.Forward(output).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// softmax(Q·Kᵀ·scale)·V for a pass without padding: T queries over the last T of the keys (causal flag when there is no cache
    /// prefix, no mask for a single query, the boolean mask otherwise; none of its rows is empty). On CUDA libtorch's
    /// memory-efficient kernel is called directly (prefill over the whole cache or one new token; the caller keeps the eager
    /// product for several tokens over a prefix): scaled_dot_product_attention picks cuDNN there on an H100 (torch 2.11), which
    /// builds a plan for every new key length, and a decoding step has a new one each time: on one H100, decode at batch 1 ran
    /// 22–117 tok/s through it against 106–121 directly (bench/results/gpu-decode-attention-diagnostic.md).
    /// </summary>
    Tensor FusedProduct(Tensor query, Tensor key, Tensor value, Tensor allowed)
    {
        long t = query.size(2), keys = key.size(2);
        if (query.device_type == TorchSharp.DeviceType.CUDA) return ScriptedOps.EfficientAttention(query, key, value, causal: t > 1, _scale);
        if (_sdpaQueryFactor != 1.0) query = query.Times(_sdpaQueryFactor);
        if (t == keys) return F.scaled_dot_product_attention(query, key, value, is_casual: t > 1);
        if (t == 1) return F.scaled_dot_product_attention(query, key, value);
        return F.scaled_dot_product_attention(query, key, value, allowed);
    }

    /// <summary>Attention over the cached latent: S = (q_nope·W_kᵀ)·cᵀ + q_rot·k_rotᵀ, O = (A·c)·W_vᵀ per head.</summary>
    Tensor LatentAttention(Tensor qNope, Tensor qRot, Tensor latent, Tensor kRot, Tensor allowed, KvCache cache, int layer)
    {
        (latent, kRot) = cache.Append(layer, latent, kRot, seqDim: 1);
        var w = _kvB.EffectiveWeight().view(_heads, _nope + _v, _kvRank); // with a LoRA adapter on kv_b_proj: W + scaling·B·A
        var wKey = w.narrow(1, 0, _nope);              // [nH, dn, rkv]
        var wValue = w.narrow(1, _nope, _v);           // [nH, dv, rkv]
        var qLatent = matmul(qNope, wKey);             // [B, nH, T, rkv]
        var c = latent.unsqueeze(1);                   // [B, 1, P+T, rkv]
        var scores = matmul(qLatent, c.transpose(2, 3)).Plus(matmul(qRot, kRot.unsqueeze(1).transpose(2, 3))).Times(_scale);
        var context = matmul(Softmax(scores, allowed, qNope.dtype), c);  // [B, nH, T, rkv]
        return matmul(context, wValue.transpose(1, 2));                     // [B, nH, T, dv]
    }

    static Tensor Softmax(Tensor scores, Tensor allowed, ScalarType dtype)
    {
        var masked = Scalars.With(LowestValue(scores.dtype), lowest => scores.masked_fill(allowed.logical_not(), lowest));
        return masked.softmax(-1, ScalarType.Float32).to(dtype);
    }

    /// <summary>The masked score: the lowest value of the scores' dtype that is still finite in the float32 softmax (HF fills float64
    /// scores with float64's minimum, which the float32 softmax reads as -inf: a fully masked row of left padding turns NaN there).</summary>
    internal static double LowestValue(ScalarType t) => t switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        _ => float.MinValue,
    };
}
