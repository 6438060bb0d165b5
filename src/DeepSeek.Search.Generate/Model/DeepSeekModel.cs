using DeepSeek.Search.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Generate;

/// <summary>Device, dtype and seed of a <see cref="DeepSeekModel"/> (created or loaded).</summary>
public sealed record DeepSeekModelOptions
{
    /// <summary>cpu (default), cuda, cuda:N or auto (see <see cref="TorchRuntime.ResolveDevice"/>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Parameter dtype: Float32 (default), BFloat16 or Float16. The router's correction bias stays float32.</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>Seed of the random initialisation (<see cref="DeepSeekModel.Create"/> only); null = nondeterministic.</summary>
    public long? Seed { get; init; }

    /// <summary>A PEFT LoRA folder to apply on load (<see cref="LoraAdapters"/>); null = none.</summary>
    public string? Adapter { get; init; }

    /// <summary>Fold the <see cref="Adapter"/> into the base weights on load (faster; no adapter to detach afterwards).</summary>
    public bool MergeAdapter { get; init; }

    /// <summary>How routed experts run (<see cref="DeepSeekModel.ExpertDispatch"/>); Auto = batched GEMMs on CUDA, one expert at a time
    /// on the CPU.</summary>
    public ExpertDispatch ExpertDispatch { get; init; } = ExpertDispatch.Auto;

    /// <summary>The dtype names of the CLI and the settings: float32, bfloat16, float16.</summary>
    public static readonly IReadOnlyList<string> DTypeNames = ["float32", "bfloat16", "float16"];

    /// <summary>The dtype a name of <see cref="DTypeNames"/> stands for; another name is <see cref="InvalidInputException"/>.</summary>
    public static ScalarType ParseDType(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new InvalidInputException($"dtype must be float32, bfloat16 or float16, got '{name}'") { Setting = "dtype" },
    };

    internal Placement Resolve()
    {
        if (DType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
            throw new InvalidInputException($"model dtype {DType} is not a floating-point dtype (float32, bfloat16, float16)");
        if (MergeAdapter && Adapter is null) throw new InvalidInputException("--merge needs --adapter DIR") { Setting = "merge" };
        return new Placement(TorchRuntime.ResolveDevice(Device), DType);
    }
}

/// <summary>
/// A DeepSeek-V3 or DeepSeek-V2 causal language model in TorchSharp (HF <c>DeepseekV3ForCausalLM</c> / <c>DeepseekV2ForCausalLM</c>):
/// token embeddings, <c>num_hidden_layers</c> <see cref="DecoderLayer"/>s of multi-head latent attention and dense or
/// mixture-of-experts MLPs, a final RMSNorm and the LM head (the embedding matrix when <c>tie_word_embeddings</c>). Parameter names are
/// the HF names (<c>model.layers.1.self_attn.kv_b_proj.weight</c>, ...) with routed experts in the fused 5.x layout
/// (<c>model.layers.1.mlp.experts.gate_up_proj</c>). Numerics were checked in float32 against transformers 5.17
/// (<c>fixtures/deepseek-v3-golden</c>: logits, every layer's activations, routes, greedy continuations and cached decoding) and against a
/// float64 HF DeepseekV2 reference (<c>fixtures/tiny-moe-atenia</c>). Load with <see cref="DeepSeekCheckpoint.Load"/>, create randomly
/// initialised with <see cref="Create"/>; the model is in eval mode.
/// </summary>
public sealed class DeepSeekModel : nn.Module
{
    readonly Parameter _embed;
    readonly ModuleList<DecoderLayer> _layers;
    readonly RmsNorm _norm;
    readonly LinearLayer? _lmHead;
    readonly RotaryEmbedding _rope;

    DeepSeekModel(DeepSeekConfig config, Placement placement) : base("DeepseekForCausalLM")
    {
        Config = config;
        Device = placement.Device;
        DType = placement.DType;
        var body = new BodyModule();
        _embed = body.AddEmbedding(config.VocabSize, config.HiddenSize, placement);
        _layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i, placement)).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, placement);
        body.register_module("layers", _layers);
        body.register_module("norm", _norm);
        register_module("model", body);
        if (!config.TieWordEmbeddings)
        {
            _lmHead = new LinearLayer(config.HiddenSize, config.VocabSize, false, placement);
            register_module("lm_head", _lmHead);
        }
        _rope = new RotaryEmbedding(config, placement.Device);
        eval();
    }

    /// <summary>The <c>model.</c> submodule (embeddings, layers, final norm), so that parameter names carry the HF prefix.</summary>
    sealed class BodyModule : ParameterBlock
    {
        public BodyModule() : base("DeepseekModel") { }

        public Parameter AddEmbedding(long vocab, long hidden, Placement placement)
        {
            var embedTokens = new EmbeddingModule(vocab, hidden, placement);
            register_module("embed_tokens", embedTokens);
            return embedTokens.Weight;
        }
    }

    sealed class EmbeddingModule : ParameterBlock
    {
        public EmbeddingModule(long vocab, long hidden, Placement placement) : base("Embedding") =>
            Weight = AddParameter("weight", new[] { vocab, hidden }, placement);

        public Parameter Weight { get; }
    }

    public DeepSeekConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>The RoPE inverse frequencies [qk_rope_head_dim/2] (float32).</summary>
    public float[] RopeInverseFrequencies
    {
        get
        {
            using var cpu = _rope.InverseFrequencies.cpu();
            return cpu.data<float>().ToArray();
        }
    }

    /// <summary>Parameter (and correction-bias buffer) names and shapes, HF naming with fused experts.</summary>
    public IReadOnlyList<(string Name, long[] Shape)> ParameterShapes =>
        NamedTensors().Select(p => (p.Name, p.Tensor.shape)).ToList();

    /// <summary>Every parameter plus the V3 correction-bias buffers, by HF name (fused experts).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedTensors()
    {
        foreach (var (name, p) in named_parameters()) yield return (name, p);
        foreach (var (i, layer) in _layers.Select((l, i) => (i, l)))
            if (layer.Moe?.Router.CorrectionBias is Tensor bias) yield return ($"model.layers.{i}.mlp.gate.e_score_correction_bias", bias);
    }

    internal IReadOnlyList<DecoderLayer> Layers => _layers.ToList();

    /// <summary>How every MoE layer runs its routed experts (<see cref="Generate.ExpertDispatch"/>); may change between forward passes.</summary>
    public ExpertDispatch ExpertDispatch
    {
        get => _dispatch;
        set
        {
            _dispatch = value;
            foreach (var layer in _layers)
                if (layer.Moe is { } moe) moe.Experts.Dispatch = value;
        }
    }

    ExpertDispatch _dispatch;

    /// <summary>Every RMSNorm in its composed form (HF's lines, one op each) instead of libtorch's rms_norm (the reference: tests, benches).</summary>
    internal bool ComposedNorms
    {
        get => _norm.Composed;
        set
        {
            foreach (var norm in modules().OfType<RmsNorm>()) norm.Composed = value;
        }
    }

    /// <summary>Every layer's attention as the eager product even without padding (the reference of the fused one: tests, benches).</summary>
    internal bool EagerAttention
    {
        get => _layers.First().Attention.EagerOnly;
        set
        {
            foreach (var layer in _layers) layer.Attention.EagerOnly = value;
        }
    }

    /// <summary>The auxiliary-loss-free correction bias of layer <paramref name="layer"/>'s router (V3), or null (dense layer, V2).</summary>
    public Tensor? CorrectionBias(int layer) => _layers[layer].Moe?.Router.CorrectionBias;

    /// <summary>A model with randomly initialised weights (HF <c>_init_weights</c>: normal(0, initializer_range) for linear, expert and
    /// embedding weights, zero biases and correction biases, RMSNorm weights 1).</summary>
    public static DeepSeekModel Create(DeepSeekConfig config, DeepSeekModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.Initialize();
        options ??= new DeepSeekModelOptions();
        var model = new DeepSeekModel(config, options.Resolve()) { ExpertDispatch = options.ExpertDispatch };
        model.InitializeWeights(options.Seed);
        return model;
    }

    /// <summary>A model with uninitialised parameters on <paramref name="device"/> in <paramref name="dtype"/>, to be filled by the
    /// caller (a loader, or a trainer's working copy).</summary>
    public static DeepSeekModel CreateEmpty(DeepSeekConfig config, Device device, ScalarType dtype) => CreateEmpty(config, new Placement(device, dtype));

    /// <summary>A model with uninitialised parameters, to be filled by the loader.</summary>
    internal static DeepSeekModel CreateEmpty(DeepSeekConfig config, Placement placement)
    {
        TorchRuntime.Initialize();
        return new DeepSeekModel(config, placement);
    }

    /// <summary>Loads a Hugging Face checkpoint folder (see <see cref="DeepSeekCheckpoint.Load"/>).</summary>
    public static DeepSeekModel Load(string directory, DeepSeekModelOptions? options = null) => DeepSeekCheckpoint.Load(directory, options);

    void InitializeWeights(long? seed)
    {
        using var _ = no_grad();
        var gen = seed is long s ? new Generator((ulong)s) : null;
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) Scalars.With(1.0, one => p.fill_(one));
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else
            {
                using var values = empty(p.shape, ScalarType.Float32).normal_(0.0, Config.InitializerRange, gen);
                p.copy_(values);
            }
        }
        gen?.Dispose();
    }

    /// <summary>A new, empty attention cache for <see cref="Forward"/>.</summary>
    public KvCache CreateCache(KvCacheMode mode = KvCacheMode.Full) => new(Config.NumHiddenLayers, mode);

    /// <summary>
    /// Logits [B, T, V] (or [B, 1, V] with <paramref name="lastPositionOnly"/>) for <paramref name="inputIds"/> [B, T] (int64).
    /// With a <paramref name="cache"/> the tokens continue the cached ones (positions P..P+T-1) and are appended to it.
    /// <paramref name="attentionMask"/> [B, T] marks real tokens (1) and padding (0) of the new tokens; it is remembered by the cache.
    /// <paramref name="positionIds"/> [B, T] default to P + arange(T) for every row. Inputs are moved to the model's device.
    /// </summary>
    public Tensor Forward(Tensor inputIds, KvCache? cache = null, Tensor? attentionMask = null, Tensor? positionIds = null,
        ForwardTrace? trace = null, bool lastPositionOnly = false) =>
        Forward(inputIds, trace, trace, cache, attentionMask, positionIds, lastPositionOnly);

    /// <summary>
    /// <see cref="Forward(Tensor, KvCache?, Tensor?, Tensor?, ForwardTrace?, bool)"/> with any <see cref="IMoeObserver"/> receiving the
    /// routing of every MoE layer (training: load counts and balance losses). The logits keep their autograd graph when gradients are on.
    /// </summary>
    public Tensor Forward(Tensor inputIds, IMoeObserver? observer, ForwardTrace? trace = null, KvCache? cache = null, Tensor? attentionMask = null,
        Tensor? positionIds = null, bool lastPositionOnly = false)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2) throw new InvalidInputException($"input_ids must be [batch, seq], got [{string.Join(", ", inputIds.shape)}]");
        long b = inputIds.size(0), t = inputIds.size(1);
        if (b == 0 || t == 0) throw new InvalidInputException("input_ids is empty");
        long p = cache?.Length ?? 0;
        if (cache is { BatchSize: > 0 } && cache.BatchSize != b)
            throw new InvalidInputException($"the cache holds a batch of {cache.BatchSize}, input_ids has {b} rows");
        using var scope = NewDisposeScope();
        // the range check reads the ids where they are: no device synchronisation for host inputs (the generator's), one for device inputs
        var (min, max) = TokenRange(inputIds);
        var ids = inputIds.to(ScalarType.Int64, Device);
        if (min < 0 || max >= Config.VocabSize)
            throw new InvalidInputException($"token id {(min < 0 ? min : max)} is outside the vocabulary of {Config.VocabSize}");

        var keyMaskNew = attentionMask is null ? ones(b, t, ScalarType.Bool, Device) : attentionMask.to(Device).to(ScalarType.Bool);
        if (keyMaskNew.size(0) != b || keyMaskNew.size(1) != t)
            throw new InvalidInputException($"attention_mask [{string.Join(", ", keyMaskNew.shape)}] does not match input_ids [{b}, {t}]");
        var keyMask = cache?.KeyMask is Tensor past ? cat(new[] { past, keyMaskNew }, 1) : keyMaskNew;
        var queryPositions = Scalars.With(p, p + t, (start, stop) => arange(start, stop, dtype: ScalarType.Int64, device: Device));
        var positions = positionIds?.to(ScalarType.Int64, Device) ?? queryPositions.unsqueeze(0).expand(b, t);
        var causal = Scalars.With(p + t, stop => arange(stop, dtype: ScalarType.Int64, device: Device)).unsqueeze(0) <= queryPositions.unsqueeze(1); // [T, P+T]
        var allowed = (causal.unsqueeze(0) & keyMask.unsqueeze(1)).unsqueeze(1);                                          // [B, 1, T, P+T]
        bool padded = (cache?.Padded ?? false) || MayHoldPadding(attentionMask);
        var mask = new AttentionMask(allowed, !padded);
        var (cos, sin) = _rope.CosSin(positions, DType);

        var h = _embed.index_select(0, ids.reshape(-1)).view(b, t, Config.HiddenSize);
        trace?.OnEmbeddings(h);
        foreach (var layer in _layers)
        {
            h = layer.Forward(h, cos, sin, mask, _rope, cache, observer);
            trace?.OnLayer(h);
        }
        h = _norm.Forward(h);
        trace?.OnFinalNorm(h);
        if (lastPositionOnly) h = h.narrow(1, t - 1, 1);
        var logits = _lmHead != null ? _lmHead.Forward(h) : nn.functional.linear(h, _embed);
        cache?.Advance(keyMaskNew, padded);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Whether an attention mask may mark padding: a host mask is read (no device synchronisation); a device mask is assumed
    /// to (reading it would cost a synchronisation), which only means the eager attention runs.</summary>
    static bool MayHoldPadding(Tensor? attentionMask)
    {
        if (attentionMask is null) return false;
        if (attentionMask.device_type != DeviceType.CPU) return true;
        using var all = attentionMask.to(ScalarType.Bool).all();
        return !all.item<bool>();
    }

    /// <summary>The smallest and largest id of <paramref name="inputIds"/>, read with one host transfer.</summary>
    static (long Min, long Max) TokenRange(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var ids = inputIds.to(ScalarType.Int64);
        using var both = stack(new[] { ids.min(), ids.max() }).cpu();
        var values = both.data<long>();
        return (values[0], values[1]);
    }

    /// <summary>The unmerged LoRA adapters applied on load (<see cref="DeepSeekModelOptions.Adapter"/>), or null; disposed with the model.</summary>
    public LoraAdapters? Adapters { get; internal set; }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { Adapters?.Dispose(); _rope.Dispose(); }
        base.Dispose(disposing);
    }
}
