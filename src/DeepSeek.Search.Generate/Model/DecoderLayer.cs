using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>
/// One pre-norm decoder layer (HF <c>DeepseekV3DecoderLayer</c>): <c>h = x + MLA(RMSNorm_in(x))</c>, then
/// <c>h + MLP(RMSNorm_post(h))</c> with the dense gated MLP for the first <c>first_k_dense_replace</c> layers and a
/// <see cref="MoeBlock"/> after them.
/// </summary>
internal sealed class DecoderLayer : ParameterBlock
{
    readonly int _index;
    readonly RmsNorm _inputNorm, _postNorm;
    readonly GatedMlp? _dense;

    public DecoderLayer(DeepSeekConfig c, int index, Placement placement) : base("DecoderLayer")
    {
        _index = index;
        Attention = new MultiHeadLatentAttention(c, placement);
        register_module("self_attn", Attention);
        if (c.IsMoeLayer(index))
        {
            Moe = new MoeBlock(c, placement);
            register_module("mlp", Moe);
        }
        else
        {
            _dense = new GatedMlp(c.HiddenSize, c.IntermediateSize, c.HiddenAct, placement);
            register_module("mlp", _dense);
        }
        _inputNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, placement);
        _postNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, placement);
        register_module("input_layernorm", _inputNorm);
        register_module("post_attention_layernorm", _postNorm);
    }

    public MultiHeadLatentAttention Attention { get; }

    /// <summary>The MoE block, or null for a dense layer.</summary>
    public MoeBlock? Moe { get; }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionMask mask, RotaryEmbedding rope, KvCache? cache, IMoeObserver? observer)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(Attention.Forward(_inputNorm.Forward(x), cos, sin, mask, rope, cache, _index));
        var normed = _postNorm.Forward(h);
        var mlp = Moe != null ? Moe.Forward(normed, _index, observer) : _dense!.Forward(normed);
        return h.Plus(mlp).MoveToOuterDisposeScope();
    }
}
