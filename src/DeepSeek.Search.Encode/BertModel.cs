using DeepSeek.Search.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Encode;

/// <summary>Output of <see cref="BertModel.Forward"/>: <c>last_hidden_state</c> [batch, seq, hidden] and <c>pooler_output</c> [batch, hidden] (null without a pooler).</summary>
public sealed record BertOutput(Tensor LastHiddenState, Tensor? PoolerOutput);

/// <summary>
/// BERT encoder in TorchSharp, parameter for parameter the Hugging Face <c>transformers.BertModel</c> (post-LayerNorm encoder, absolute
/// position and token-type embeddings, tanh pooler over <c>[CLS]</c>), with the same parameter names, so HF checkpoints load directly.
/// Numerics were checked against transformers 5.17's BertModel on <c>fixtures/bert-golden/tiny</c> (gelu) and
/// <c>tiny-gelu-new</c>: last_hidden_state, pooler_output and mean pooling within 1e-4.
/// <para>
/// Create one with random weights from a <see cref="BertConfig"/> (HF's <c>_init_weights</c>: normal(0, initializer_range) for linear
/// and embedding weights, zero biases and padding row, LayerNorm 1/0), or load one with <see cref="BertCheckpoint.Load"/>; save with
/// <see cref="BertCheckpoint.Save"/>. The model is put in eval mode (no dropout); call <c>train()</c> for fine-tuning.
/// </para>
/// </summary>
public sealed class BertModel : nn.Module
{
    readonly BertEmbeddings _embeddings;
    readonly BertEncoder _encoder;
    readonly BertPooler? _pooler;

    /// <summary>A model with freshly initialised weights (deterministic for a given <paramref name="seed"/>).</summary>
    public BertModel(BertConfig config, bool addPoolingLayer = true, long? seed = null) : base("BertModel")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.Initialize();
        Config = config;
        _embeddings = new BertEmbeddings(config);
        _encoder = new BertEncoder(config);
        register_module("embeddings", _embeddings);
        register_module("encoder", _encoder);
        if (addPoolingLayer)
        {
            _pooler = new BertPooler(config);
            register_module("pooler", _pooler);
        }
        InitializeWeights(seed);
        eval();
    }

    public BertConfig Config { get; }

    /// <summary>Whether the model has the tanh pooler (checkpoints of BertForMaskedLM and similar do not).</summary>
    public bool HasPooler => _pooler != null;

    /// <summary>Width of the hidden states (the embedding dimension).</summary>
    public int HiddenSize => Config.HiddenSize;

    /// <summary>The device the parameters are on.</summary>
    public Device Device => parameters().First().device;

    /// <summary>Parameter names and shapes, HF naming (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0....</c>).</summary>
    public IReadOnlyList<(string Name, long[] Shape)> ParameterShapes =>
        named_parameters().Select(p => (p.name, p.parameter.shape)).ToList();

    void InitializeWeights(long? seed)
    {
        using var _ = no_grad();
        var gen = seed is long s ? new Generator((ulong)s) : null;
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) Scalars.With(1.0, one => p.fill_(one));
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0.0, Config.InitializerRange, gen); // (nn.init.normal_ ignores its generator in TorchSharp 0.107)
        }
        _embeddings.ZeroPaddingRow();
    }

    /// <summary>
    /// Runs the encoder. <paramref name="inputIds"/>: int64 [batch, seq]; <paramref name="attentionMask"/>: 1 for tokens, 0 for padding
    /// (default all ones); <paramref name="tokenTypeIds"/>: default zeros. Inputs are moved to the model's device.
    /// </summary>
    public BertOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null)
    {
        if (inputIds.dim() != 2) throw new InvalidInputException($"input_ids must be [batch, seq], got [{string.Join(", ", inputIds.shape)}]");
        long seq = inputIds.size(1);
        if (seq > Config.MaxPositionEmbeddings)
            throw new InvalidInputException($"sequence of {seq} tokens is longer than max_position_embeddings {Config.MaxPositionEmbeddings}");
        var device = Device;
        var ids = inputIds.to(ScalarType.Int64, device);
        var types = tokenTypeIds?.to(ScalarType.Int64, device);

        // Additive attention bias [batch, 1, 1, seq]: 0 for tokens, the dtype's lowest value for padding (as HF's eager/SDPA paths).
        // A mask with no padding is dropped (as transformers' SDPA path does), which lets SDPA pick its fused kernels.
        Tensor? bias = null;
        if (attentionMask is not null && !attentionMask.to(ScalarType.Bool).all().item<bool>())
        {
            var dtype = _embeddings.DType;
            var keep = attentionMask.to(device).to(ScalarType.Bool).unsqueeze(1).unsqueeze(1);
            bias = Scalars.With(LowestValue(dtype), lowest => zeros(TensorShape.Of(keep), dtype, device).masked_fill(keep.logical_not(), lowest));
        }

        var hidden = _embeddings.Forward(ids, types);
        hidden = _encoder.Forward(hidden, bias);
        var pooled = _pooler?.Forward(hidden);
        return new BertOutput(hidden, pooled);
    }

    /// <summary>Whether <see cref="QuantizeInt8"/> ran: the encoder's linear layers then run in INT8.</summary>
    public bool IsInt8 { get; private set; }

    /// <summary>
    /// Switches every linear layer of the encoder stack (query/key/value as one, attention output, intermediate, output) to
    /// <see cref="Int8Linear"/>: dynamic quantization for CPU inference (weights int8 per output row, activations int8 per
    /// token), about 4× fewer multiply cycles than float32 with AVX-512 VNNI. The projections that read a LayerNorm's output
    /// (query/key/value, intermediate) are smoothed first (SmoothQuant, α = ½), their channel ranges calibrated on the float
    /// model's own activations for a fixed batch of random token ids: on MiniLM this raised the cosine to the float vectors
    /// from 0.9988 to 0.9992 (Int8EncoderTests). Embeddings, LayerNorms, attention (AVX-512 <see cref="FusedAttention"/> where
    /// the CPU has it) and the pooler stay float32. Inference only (no gradients flow through an INT8 layer), on the CPU,
    /// float32 weights; the float weights stay as they are (saving the model saves them, not the INT8 copy).
    /// </summary>
    public void QuantizeInt8()
    {
        if (IsInt8) return;
        if (Device.type != DeviceType.CPU) throw new InvalidInputException($"INT8 encoding runs on the CPU only; the model is on {Device}");
        if (_embeddings.DType != ScalarType.Float32) throw new InvalidInputException($"INT8 encoding quantizes float32 weights; the model is {_embeddings.DType}");
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            // Calibration: the float model's own activations on a fixed batch of random token ids (4 × up to 128), for each
            // projection's per-channel input range (SmoothScales).
            var random = new Generator(20251206);
            long vocab = Config.VocabSize, low = Math.Min(1000, vocab - 1);
            var ids = randint(low, vocab, [4, Math.Min(128, Config.MaxPositionEmbeddings)], generator: random, dtype: ScalarType.Int64);
            _encoder.QuantizeInt8(_embeddings.Forward(ids, null));
        }
        IsInt8 = true;
    }

    /// <summary>Whether <see cref="PackFloat32"/> packed the encoder's linear layers for native CPU inference.</summary>
    public bool IsPacked { get; private set; }

    /// <summary>
    /// Copies every linear layer of the encoder stack (query/key/value as one, attention output, intermediate, output) into a
    /// <see cref="Float32Linear"/>: weights packed once for the native AVX-512 kernel, which float32 inference on the CPU then
    /// runs instead of libtorch's addmm (no gradient recorded; training still runs libtorch's layers). A snapshot of the
    /// weights: call it again after changing them. The copies take as much memory again as the encoder's linear weights
    /// (MiniLM-L6: 42 MB). Returns false, changing nothing, when this CPU lacks AVX-512F, the model is not float32 on the CPU,
    /// or it was quantized (<see cref="QuantizeInt8"/> already runs its own kernels). Embeddings, LayerNorms and the pooler
    /// stay in libtorch. <see cref="TextEncoder"/> packs the models it loads for float32 CPU encoding.
    /// </summary>
    public bool PackFloat32()
    {
        if (IsInt8 || Device.type != DeviceType.CPU || _embeddings.DType != ScalarType.Float32 || !Float32Linear.Supported) return false;
        using (no_grad()) _encoder.PackFloat32();
        IsPacked = true;
        return true;
    }

    /// <summary>
    /// Whether self-attention projects queries, keys and values with one GEMM over the concatenated weights (default) or with
    /// three, as transformers does. Both give the HF numbers (checked against fixtures/bert-golden); the switch exists for benchmarks.
    /// </summary>
    public static bool FusedQkv { get; set; } = Environment.GetEnvironmentVariable("DSS_BERT_FUSED_QKV") != "0";

    /// <summary>
    /// Whether float32 inference on the CPU (no gradients recorded) runs self-attention in the native AVX-512
    /// <see cref="FusedAttention"/> straight from the fused QKV product, as the INT8 encoder does (default), or in torch's
    /// scaled_dot_product_attention after the permute copies. Both agree with the HF goldens; the switch exists for benchmarks.
    /// </summary>
    public static bool NativeFloatAttention { get; set; } = Environment.GetEnvironmentVariable("DSS_BERT_NATIVE_ATTENTION") != "0";

    static Tensor Affine(Tensor x, Linear layer) => Functional.Affine(x, layer.weight!, layer.bias);

    /// <summary>The layer's product: its native copy where that runs (see <see cref="Runs"/>), else libtorch's.</summary>
    static Tensor Affine(Tensor x, Linear layer, IInferenceLinear? native) => Runs(native, x) ? native!.Forward(x) : Affine(x, layer);

    /// <summary>
    /// Whether a layer's native copy takes <paramref name="x"/>: an INT8 copy always (a quantized model is an inference model), a
    /// packed float32 one for CPU inputs when no gradient is recorded (training keeps libtorch's layers, which have a backward).
    /// </summary>
    static bool Runs(IInferenceLinear? native, Tensor x) =>
        native is Int8Linear || (native is Float32Linear && x.device_type == DeviceType.CPU && !is_grad_enabled());

    static Int8Linear Int8Of(Linear layer, float[]? channelScales = null, FusedActivation activation = FusedActivation.None) =>
        new(layer.weight!, layer.bias, channelScales, activation);

    /// <summary>
    /// SmoothQuant's channel scales (α = ½) for projections whose input is <paramref name="input"/> (calibration activations
    /// [..., in]): s_c = √(max|x_c| / max|w_c|), so an input channel with a wide range (an outlier dimension after a
    /// LayerNorm) hands part of it to the weights, which are quantized per output row (Xiao et al., SmoothQuant, 2023).
    /// </summary>
    static float[] SmoothScales(Tensor input, params Linear[] projections)
    {
        using var scope = NewDisposeScope();
        var (range, weights) = Scalars.With(1e-5, floor => (
            input.detach().abs().reshape(-1, input.shape[^1]).amax([0]).to(ScalarType.Float32).cpu().clamp_min(floor),
            cat(projections.Select(p => p.weight!.detach().abs().to(ScalarType.Float32).cpu()).ToArray(), 0).amax([0]).clamp_min(floor)));
        return (range / weights).sqrt().data<float>().ToArray();
    }

    static double LowestValue(ScalarType t) => t switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>Moves the parameters to a device and/or converts them to a floating-point dtype.</summary>
    public BertModel To(Device device, ScalarType? dtype = null)
    {
        this.to(device);
        if (dtype is ScalarType t) this.to(t);
        return this;
    }

    sealed class BertEmbeddings : nn.Module
    {
        readonly Embedding _word, _position, _tokenType;
        readonly LayerNorm _norm;
        readonly long _padId;

        public BertEmbeddings(BertConfig c) : base("BertEmbeddings")
        {
            _padId = c.PadTokenId;
            _word = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
            _position = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
            _tokenType = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
            _norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
            register_module("word_embeddings", _word);
            register_module("position_embeddings", _position);
            register_module("token_type_embeddings", _tokenType);
            register_module("LayerNorm", _norm);
        }

        public ScalarType DType => _word.weight!.dtype;

        public void ZeroPaddingRow()
        {
            using var _ = no_grad();
            _word.weight![_padId].zero_();
        }

        public Tensor Forward(Tensor ids, Tensor? tokenTypes)
        {
            using var scope = NewDisposeScope();
            long seq = ids.size(1);
            var positions = Scalars.With(seq, stop => arange(stop, dtype: ScalarType.Int64, device: ids.device)).unsqueeze(0);
            tokenTypes ??= zeros_like(ids);
            var x = _word.forward(ids).Plus(_tokenType.forward(tokenTypes)).Plus(_position.forward(positions));
            return _norm.forward(x).MoveToOuterDisposeScope();
        }
    }

    sealed class BertEncoder : nn.Module
    {
        readonly ModuleList<BertLayer> _layers;

        public BertEncoder(BertConfig c) : base("BertEncoder")
        {
            _layers = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray());
            register_module("layer", _layers);
        }

        /// <summary>Quantizes layer after layer, each calibrated on the float activations the layers before it give.</summary>
        public void QuantizeInt8(Tensor calibration)
        {
            var x = calibration;
            foreach (var layer in _layers) x = layer.QuantizeInt8(x);
        }

        public void PackFloat32()
        {
            foreach (var layer in _layers) layer.PackFloat32();
        }

        public Tensor Forward(Tensor hidden, Tensor? bias)
        {
            var x = hidden;
            foreach (var layer in _layers)
            {
                var next = layer.Forward(x, bias);
                if (!ReferenceEquals(x, hidden)) x.Dispose(); // the previous layer's output: only the last one is returned
                x = next;
            }
            return x;
        }
    }

    sealed class BertLayer : nn.Module
    {
        readonly BertAttention _attention;
        readonly BertIntermediate _intermediate;
        readonly BertOutputBlock _output;

        public BertLayer(BertConfig c) : base("BertLayer")
        {
            _attention = new BertAttention(c);
            _intermediate = new BertIntermediate(c);
            _output = new BertOutputBlock(c);
            register_module("attention", _attention);
            register_module("intermediate", _intermediate);
            register_module("output", _output);
        }

        /// <summary>Quantizes the layer calibrated on its float input <paramref name="x"/>; returns its float output (the next layer's calibration).</summary>
        public Tensor QuantizeInt8(Tensor x)
        {
            var attended = _attention.Forward(x, null);
            var output = _output.Forward(_intermediate.Forward(attended), attended);
            _attention.QuantizeInt8(x);
            _intermediate.QuantizeInt8(attended);
            _output.QuantizeInt8(); // its input (after GELU) has no outlier channels to smooth: measured, smoothing it lost accuracy
            return output;
        }

        public void PackFloat32()
        {
            _attention.PackFloat32();
            _intermediate.PackFloat32();
            _output.PackFloat32();
        }

        public Tensor Forward(Tensor hidden, Tensor? bias)
        {
            // Each block frees its intermediates as it returns (autograd keeps what it saved), so inference holds one
            // layer's activations at a time, not the whole stack's until the caller's scope ends.
            using var scope = NewDisposeScope();
            var attended = _attention.Forward(hidden, bias);
            return _output.Forward(_intermediate.Forward(attended), attended).MoveToOuterDisposeScope();
        }
    }

    sealed class BertAttention : nn.Module
    {
        readonly BertSelfAttention _self;
        readonly BertSelfOutput _output;

        public BertAttention(BertConfig c) : base("BertAttention")
        {
            _self = new BertSelfAttention(c);
            _output = new BertSelfOutput(c);
            register_module("self", _self);
            register_module("output", _output);
        }

        public void QuantizeInt8(Tensor input)
        {
            _self.QuantizeInt8(input);
            _output.QuantizeInt8(); // the attention context: as the FFN output's input, not smoothed
        }

        public void PackFloat32()
        {
            _self.PackFloat32();
            _output.PackFloat32();
        }

        public Tensor Forward(Tensor hidden, Tensor? bias) => _output.Forward(_self.Forward(hidden, bias), hidden);
    }

    sealed class BertSelfAttention : nn.Module
    {
        readonly Linear _query, _key, _value;
        readonly long _heads, _headDim;
        IInferenceLinear? _qkvNative; // [Wq; Wk; Wv] as one layer, INT8 or packed float32

        public BertSelfAttention(BertConfig c) : base("BertSelfAttention")
        {
            _heads = c.NumAttentionHeads;
            _headDim = c.HeadDim;
            _query = nn.Linear(c.HiddenSize, c.HiddenSize);
            _key = nn.Linear(c.HiddenSize, c.HiddenSize);
            _value = nn.Linear(c.HiddenSize, c.HiddenSize);
            register_module("query", _query);
            register_module("key", _key);
            register_module("value", _value);
        }

        /// <summary>Query, key and value as one INT8 layer over [Wq; Wk; Wv], smoothed for the outlier channels of <paramref name="input"/>.</summary>
        public void QuantizeInt8(Tensor input)
        {
            using var scope = NewDisposeScope();
            _qkvNative = new Int8Linear(cat(new[] { _query.weight!, _key.weight!, _value.weight! }, 0), cat(new[] { _query.bias!, _key.bias!, _value.bias! }, 0),
                SmoothScales(input, _query, _key, _value));
        }

        /// <summary>Query, key and value as one packed float32 layer over [Wq; Wk; Wv].</summary>
        public void PackFloat32()
        {
            using var scope = NewDisposeScope();
            _qkvNative = new Float32Linear(QkvWeight(), QkvBias());
        }

        Tensor QkvWeight() => cat(new[] { _query.weight!, _key.weight!, _value.weight! }, 0);
        Tensor QkvBias() => cat(new[] { _query.bias!, _key.bias!, _value.bias! }, 0);

        /// <summary>
        /// The native kernel serves inference on the CPU in float32: always for the INT8 layers, and for the float ones when no
        /// gradient is recorded and <see cref="NativeFloatAttention"/> is on (training keeps SDPA, which has a backward).
        /// </summary>
        bool UsesNativeAttention(Tensor hidden, long seq)
        {
            if (hidden.device_type != DeviceType.CPU || hidden.dtype != ScalarType.Float32 || !FusedAttention.Supported(_headDim, seq)) return false;
            return _qkvNative is Int8Linear || (NativeFloatAttention && FusedQkv && !is_grad_enabled());
        }

        public Tensor Forward(Tensor hidden, Tensor? bias)
        {
            using var scope = NewDisposeScope();
            long b = hidden.size(0), s = hidden.size(1);
            Tensor q, k, v;
            if (UsesNativeAttention(hidden, s))
            {
                // one native call from the fused projection to the merged heads (AVX-512), no permute copies
                var fused = Runs(_qkvNative, hidden) ? _qkvNative!.Forward(hidden) : Functional.Affine(hidden, QkvWeight(), QkvBias());
                return FusedAttention.Forward(fused, (int)_heads, bias?.reshape(b, s), 1f / MathF.Sqrt(_headDim)).MoveToOuterDisposeScope();
            }
            if (Runs(_qkvNative, hidden))
            {
                var qkv = _qkvNative!.Forward(hidden).view(b, s, 3, _heads, _headDim).permute(2, 0, 3, 1, 4);
                q = qkv[0]; k = qkv[1]; v = qkv[2];
            }
            else if (FusedQkv)
            {
                // One GEMM against [Wq; Wk; Wv] instead of three (same products, one launch, better-shaped on a GPU);
                // the concatenation is differentiable, so training sees the three HF parameters unchanged.
                var qkv = Functional.Affine(hidden, QkvWeight(), QkvBias()).view(b, s, 3, _heads, _headDim).permute(2, 0, 3, 1, 4);
                q = qkv[0]; k = qkv[1]; v = qkv[2];
            }
            else
            {
                Tensor Heads(Linear proj) => Affine(hidden, proj).view(b, s, _heads, _headDim).transpose(1, 2);
                q = Heads(_query); k = Heads(_key); v = Heads(_value);
            }
            // softmax(QK^T / sqrt(d) + bias) V
            var context = F.scaled_dot_product_attention(q, k, v, bias);
            return context.transpose(1, 2).reshape(b, s, _heads * _headDim).MoveToOuterDisposeScope();
        }
    }

    sealed class BertSelfOutput : nn.Module
    {
        readonly Linear _dense;
        readonly LayerNorm _norm;
        IInferenceLinear? _native;

        public BertSelfOutput(BertConfig c) : base("BertSelfOutput")
        {
            _dense = nn.Linear(c.HiddenSize, c.HiddenSize);
            _norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
            register_module("dense", _dense);
            register_module("LayerNorm", _norm);
        }

        public void QuantizeInt8() => _native = Int8Of(_dense);

        public void PackFloat32() => _native = new Float32Linear(_dense.weight!, _dense.bias);

        public Tensor Forward(Tensor x, Tensor residual) => _norm.forward(Affine(x, _dense, _native).Plus(residual));
    }

    sealed class BertIntermediate : nn.Module
    {
        readonly Linear _dense;
        readonly string _act;
        IInferenceLinear? _native;

        public BertIntermediate(BertConfig c) : base("BertIntermediate")
        {
            _act = c.HiddenAct;
            _dense = nn.Linear(c.HiddenSize, c.IntermediateSize);
            register_module("dense", _dense);
        }

        // erf GELU (BERT's) is applied by the kernels as they write; another activation runs after them in libtorch
        FusedActivation Fused => _act == "gelu" ? FusedActivation.Gelu : FusedActivation.None;

        public void QuantizeInt8(Tensor input) => _native = Int8Of(_dense, SmoothScales(input, _dense), Fused);

        public void PackFloat32() => _native = new Float32Linear(_dense.weight!, _dense.bias, Fused);

        public Tensor Forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            if (Runs(_native, x) && _native is { Activation: FusedActivation.Gelu } fused) return fused.Forward(x).MoveToOuterDisposeScope();
            return Functional.Activation(Affine(x, _dense, _native), _act).MoveToOuterDisposeScope();
        }
    }

    sealed class BertOutputBlock : nn.Module
    {
        readonly Linear _dense;
        readonly LayerNorm _norm;
        IInferenceLinear? _native;

        public BertOutputBlock(BertConfig c) : base("BertOutput")
        {
            _dense = nn.Linear(c.IntermediateSize, c.HiddenSize);
            _norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
            register_module("dense", _dense);
            register_module("LayerNorm", _norm);
        }

        public void QuantizeInt8() => _native = Int8Of(_dense);

        public void PackFloat32() => _native = new Float32Linear(_dense.weight!, _dense.bias);

        public Tensor Forward(Tensor x, Tensor residual) => _norm.forward(Affine(x, _dense, _native).Plus(residual));
    }

    sealed class BertPooler : nn.Module
    {
        readonly Linear _dense;

        public BertPooler(BertConfig c) : base("BertPooler")
        {
            _dense = nn.Linear(c.HiddenSize, c.HiddenSize);
            register_module("dense", _dense);
        }

        public Tensor Forward(Tensor hidden) => Affine(hidden.select(1, 0), _dense).tanh();
    }

}
