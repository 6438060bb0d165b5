using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Losses;
using DeepSeek.Search.Training;
using TorchSharp.Modules;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>
/// The model of one <see cref="Trainer"/> run: the tokenizer, the towers (from --init, from scratch, or from the checkpoint being
/// resumed), the learnable temperature, and the contrastive step over them; plus what the --init encoder brings (its settings, and
/// the folder whose masked-LM head starts pretraining).
/// </summary>
sealed class EncoderModel : IDisposable
{
    readonly TrainOptions _o;

    public EncoderModel(TrainOptions options) => _o = options;

    public BertTokenizer Tokenizer { get; private set; } = null!;
    public DualTowers Towers { get; private set; } = null!;

    /// <summary>The learnable log(1/τ) (<see cref="TrainOptions.LearnTemperature"/>), else null.</summary>
    public Parameter? LogitScale { get; private set; }
    public ContrastiveStep Step { get; private set; } = null!;
    public PoolingMode Pooling { get; private set; }
    public bool Normalize { get; private set; }

    /// <summary>The --init encoder's dual_encoder.json settings, if there is one.</summary>
    public DualEncoderConfig? InitSettings { get; private set; }

    /// <summary>The --init folder of the document tower: a BertForMaskedLM checkpoint's head starts the MLM head.</summary>
    public string? HeadSource { get; private set; }

    /// <summary>Loads or creates the towers (from <paramref name="checkpointDir"/> when resuming) on the run's device and precision.</summary>
    public void Build(string? checkpointDir, TrainingRuntime runtime, Action<string> say)
    {
        BertModel? query = null, document = null;
        DualEncoderConfig? initSettings = null;
        try
        {
            if (_o.InitPath != null)
            {
                if (!Directory.Exists(_o.InitPath)) throw new CheckpointException($"--init folder not found: {_o.InitPath}");
                initSettings = InitSettings = DualEncoderConfig.Load(_o.InitPath);
                HeadSource = initSettings.Tied ? _o.InitPath : Path.Combine(_o.InitPath, "document");
                Tokenizer = LoadTokenizer(_o.InitPath, initSettings.Tied ? _o.InitPath : Path.Combine(_o.InitPath, "query"));
                if (checkpointDir == null)
                {
                    say($"loading {_o.InitPath}");
                    if (initSettings.Tied) query = BertCheckpoint.Load(_o.InitPath);
                    else
                    {
                        query = BertCheckpoint.Load(Path.Combine(_o.InitPath, "query"));
                        document = BertCheckpoint.Load(Path.Combine(_o.InitPath, "document"));
                    }
                }
            }
            else
            {
                Tokenizer = _o.TokenizerPath != null ? BertTokenizer.FromFolder(_o.TokenizerPath) : BertTokenizer.BundledUncased();
                if (checkpointDir == null)
                {
                    var config = ScratchConfig();
                    say($"new model: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, {config.NumAttentionHeads} heads, FFN {config.IntermediateSize}, vocabulary {config.VocabSize:N0}");
                    query = new BertModel(config, addPoolingLayer: true, seed: _o.Seed);
                }
            }
            bool untied = _o.Untied || (initSettings is { Tied: false });
            if (checkpointDir != null)
            {
                say($"resuming from {checkpointDir}");
                (query, document) = TrainingCheckpoint.LoadTowers(checkpointDir, tied: !untied);
            }
            else if (untied && document == null)
            {
                document = new BertModel(query!.Config, query.HasPooler);
                using (no_grad())
                    foreach (var ((_, q), (_, d)) in query.named_parameters().Zip(document.named_parameters())) d.copy_(q);
            }

            foreach (var (m, tower) in new[] { (query!, "query"), (document ?? query!, "document") })
            {
                if (Tokenizer.VocabSize > m.Config.VocabSize)
                    throw new CheckpointException($"the tokenizer has {Tokenizer.VocabSize:N0} ids but the {tower} model's vocab_size is {m.Config.VocabSize:N0}");
                int max = tower == "query" ? _o.MaxQueryLength : _o.MaxDocumentLength;
                if (max > m.Config.MaxPositionEmbeddings)
                    throw new InvalidInputException($"--max-{(tower == "query" ? "query" : "doc")}-length {max} is longer than the model's max_position_embeddings {m.Config.MaxPositionEmbeddings}");
            }
            if (document != null && document.HiddenSize != query!.HiddenSize)
                throw new CheckpointException($"query tower width {query.HiddenSize} differs from document tower width {document.HiddenSize}");

            Pooling = _o.Pooling ?? initSettings?.Pooling ?? PoolingMode.Mean;
            Normalize = _o.Normalize ?? initSettings?.Normalize ?? true;
            Towers = new DualTowers(query!, document, Pooling, Normalize, runtime.Device, runtime.Compute);
            query = document = null; // owned by the towers now
        }
        catch
        {
            query?.Dispose();
            if (!ReferenceEquals(document, query)) document?.Dispose();
            throw;
        }

        LogitScale = _o.LearnTemperature
            ? new Parameter(tensor((float)Math.Log(1.0 / _o.Temperature)).to(runtime.Device), requires_grad: true)
            : null;
        IContrastiveLoss loss = _o.Loss == LossKind.Triplet ? new TripletLoss(_o.Margin) : new InfoNceLoss(_o.Temperature, _o.Symmetric);
        Step = new ContrastiveStep(Towers, Tokenizer, loss, LogitScale, _o.MaxQueryLength, _o.MaxDocumentLength,
            _o.QueryPrefix, _o.DocumentPrefix, _o.ChunkSize);
    }

    BertConfig ScratchConfig()
    {
        var c = new BertConfig
        {
            VocabSize = Tokenizer.VocabSize,
            HiddenSize = _o.Hidden,
            NumHiddenLayers = _o.Layers,
            NumAttentionHeads = _o.Heads,
            IntermediateSize = _o.Ffn,
            MaxPositionEmbeddings = _o.MaxPositions,
            PadTokenId = Tokenizer.PadId,
        };
        c.Validate();
        return c;
    }

    BertTokenizer LoadTokenizer(string initDir, string towerDir)
    {
        if (_o.TokenizerPath != null) return BertTokenizer.FromFolder(_o.TokenizerPath);
        foreach (var d in new[] { initDir, towerDir })
            if (File.Exists(Path.Combine(d, "vocab.txt")) || File.Exists(Path.Combine(d, "tokenizer.json")))
                return BertTokenizer.FromFolder(d);
        var config = BertConfig.Load(Path.Combine(towerDir, BertCheckpoint.ConfigFile));
        if (config.VocabSize == BertTokenizer.BundledUncasedVocabularySize) return BertTokenizer.BundledUncased();
        throw new CheckpointException($"{initDir}: no tokenizer (vocab.txt or tokenizer.json) and vocab_size {config.VocabSize} is not the bundled vocabulary's {BertTokenizer.BundledUncasedVocabularySize}; pass --tokenizer");
    }

    /// <summary>
    /// AdamW over the towers' trainable parameters (weight decay off for biases and LayerNorm, and for the temperature); the towers'
    /// parameters are the ones whose global norm is clipped.
    /// </summary>
    public (AdamW Optimizer, List<Parameter> Clipped) BuildOptimizer()
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in Towers.TrainableParameters())
            (name.EndsWith(".bias", StringComparison.Ordinal) || name.Contains("LayerNorm", StringComparison.Ordinal) ? noDecay : decay).Add(p);
        var clipped = decay.Concat(noDecay).ToList();
        if (LogitScale is not null) noDecay.Add(LogitScale);
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, new AdamW.Options { weight_decay = _o.WeightDecay }),
            new(noDecay, new AdamW.Options { weight_decay = 0 }),
        };
        return (optim.AdamW(groups, _o.EffectiveLearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: _o.WeightDecay), clipped);
    }

    /// <summary>The contrastive temperature now (null for the triplet loss).</summary>
    public double? Temperature()
    {
        if (_o.Loss == LossKind.Triplet) return null;
        if (LogitScale is null) return _o.Temperature;
        return 1.0 / Math.Exp(LogitScale.item<float>());
    }

    /// <summary>Keeps the learnable temperature in [0.01, 1] (CLIP clamps its logit scale the same way).</summary>
    public void ClampTemperature()
    {
        if (LogitScale is null) return;
        using (no_grad()) Scalars.With(0.0, Math.Log(100.0), (min, max) => LogitScale.clamp_(min, max));
    }

    /// <summary>The learnable temperature as a checkpoint records it (exact float32 bits), or null.</summary>
    public string? LogitScaleBits => LogitScale is null ? null : TrainingState.FloatBits(LogitScale.item<float>());

    /// <summary>Sets the learnable temperature from a checkpoint's bits (the checkpoint must have one when it is learnable).</summary>
    public void RestoreLogitScale(string? bits, string checkpointDir)
    {
        if (LogitScale is null) return;
        if (bits == null) throw new CheckpointException($"{checkpointDir}: no learnable temperature in the checkpoint");
        using (no_grad()) Scalars.With(TrainingState.FromBits(bits), value => LogitScale.fill_(value));
    }

    /// <summary>The --init encoder's default search, in words (what the adaptation gate measures).</summary>
    public string DescribeDefault() => InitSettings?.HybridFusion switch
    {
        "minmax" => $"hybrid, min-max with dense weight {InitSettings.HybridAlpha ?? MinMaxFusion.DefaultAlpha:0.0#}",
        _ => "hybrid, RRF",
    };

    public void Dispose()
    {
        LogitScale?.Dispose();
        Towers?.Dispose();
    }
}
