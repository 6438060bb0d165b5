using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Generate.Training;

/// <summary>How the learning rate moves after warmup.</summary>
public enum LmSchedule { Cosine, Linear, Constant }

/// <summary>The settings of <see cref="LmTrainer.Train"/> (<c>dss train-lm</c>); the defaults make a small model that trains on a CPU.</summary>
public sealed record LmTrainOptions
{
    // ---- data ----

    /// <summary>BEIR corpus.jsonl, generic JSONL, a folder of .txt/.md/.html, or a plain text file (documents separated by blank lines).</summary>
    public string? CorpusPath { get; init; }

    /// <summary>Supervised pairs (JSONL of {"prompt", "response"[, "system"]}) instead of a corpus: loss on the response only.</summary>
    public string? SftPath { get; init; }

    /// <summary>A DeepSeek Hugging Face folder to start from (its config and tokenizer; the model-size settings are then ignored); null = a new model.</summary>
    public string? InitPath { get; init; }

    /// <summary>Fine-tune <see cref="InitPath"/> with low-rank adapters (base frozen) and write a PEFT LoRA folder; null = train every weight.</summary>
    public LoraSettings? Lora { get; init; }

    /// <summary>The model folder to write (work happens in OUT.partial).</summary>
    public required string OutputPath { get; init; }

    /// <summary>A folder with a Hugging Face tokenizer.json (+ tokenizer_config.json); null = train a byte-level BPE on the corpus.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>Vocabulary of the trained BPE (special tokens and the 256 bytes included).</summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>Tokens per training block (sequence length).</summary>
    public int SeqLen { get; init; } = 128;

    /// <summary>Share of the blocks held out for validation (every round(1/f)-th block); 0 = none.</summary>
    public double ValidationFraction { get; init; } = 0.05;

    /// <summary>Validation loss over at most this many held-out blocks (the first ones); 0 = all.</summary>
    public int ValidationMaxBlocks { get; init; } = 256;

    // ---- model ----

    public int Hidden { get; init; } = 128;
    public int Layers { get; init; } = 2;

    /// <summary>first_k_dense_replace: the first N layers have a dense MLP, the rest MoE.</summary>
    public int DenseLayers { get; init; } = 1;

    /// <summary>intermediate_size of the dense MLP layers.</summary>
    public int Intermediate { get; init; } = 384;
    public int Heads { get; init; } = 4;
    public int KvLoraRank { get; init; } = 64;

    /// <summary>q_lora_rank; 0 = none (one q_proj).</summary>
    public int QLoraRank { get; init; }
    public int QkNopeHeadDim { get; init; } = 32;
    public int QkRopeHeadDim { get; init; } = 16;
    public int VHeadDim { get; init; } = 32;
    public int Experts { get; init; } = 8;
    public int ExpertsPerToken { get; init; } = 2;
    public int SharedExperts { get; init; } = 1;
    public int MoeIntermediate { get; init; } = 128;

    /// <summary>n_group for group-limited routing (1 = none); topk_group is <see cref="TopkGroup"/> (default n_group).</summary>
    public int ExpertGroups { get; init; } = 1;
    public int? TopkGroup { get; init; }
    public double RoutedScaling { get; init; } = 1.0;
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>max_position_embeddings; null = max(4096, seq-len).</summary>
    public int? MaxPositions { get; init; }
    public bool TieEmbeddings { get; init; }
    public double InitializerRange { get; init; } = 0.02;

    // ---- optimisation ----

    /// <summary>Sequences (blocks) per optimizer step.</summary>
    public int BatchSize { get; init; } = 16;
    public int Epochs { get; init; } = 1;

    /// <summary>Train exactly this many steps (overrides <see cref="Epochs"/>); 0 = epochs.</summary>
    public int MaxSteps { get; init; }
    public double LearningRate { get; init; } = 1e-3;
    public LmSchedule Schedule { get; init; } = LmSchedule.Cosine;

    /// <summary>The rate decays to peak·ratio (cosine and linear).</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;
    public double WarmupRatio { get; init; } = 0.05;
    public int? WarmupSteps { get; init; }
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Global L2 norm clipping; 0 = off.</summary>
    public double ClipNorm { get; init; } = 1.0;
    public long Seed { get; init; } = 42;

    /// <summary>γ of DeepSeek-V3's auxiliary-loss-free balancing: after every step, b_i += γ·sign(mean(c) − c_i); 0 = off.</summary>
    public double BiasUpdateSpeed { get; init; } = 0.001;

    /// <summary>α of the complementary sequence-wise balance loss; 0 = off.</summary>
    public double SeqAuxLoss { get; init; }

    public string Device { get; init; } = "cpu";
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;
    public int? Threads { get; init; }

    // ---- reporting, checkpoints ----

    public int LogEvery { get; init; } = 10;

    /// <summary>Validation loss every N steps (and before the first and after the last); 0 = only those two.</summary>
    public int EvalEvery { get; init; } = 100;

    /// <summary>Resumable checkpoint every N steps (and after the last); 0 = only after the last.</summary>
    public int CheckpointEvery { get; init; }
    public int KeepCheckpoints { get; init; } = 1;
    public bool Resume { get; init; }
    public bool Overwrite { get; init; }

    public int EffectiveMaxPositions => MaxPositions ?? Math.Max(4096, SeqLen);

    public void Validate()
    {
        void Positive(double v, string name) { if (!(v > 0)) throw new InvalidInputException($"{name} must be positive (got {v})"); }
        void NonNegative(double v, string name) { if (!(v >= 0)) throw new InvalidInputException($"{name} must not be negative (got {v})"); }
        if (SftPath != null && CorpusPath != null) throw new InvalidInputException("--corpus and --sft exclude each other: plain text or supervised pairs");
        if (SftPath == null && string.IsNullOrWhiteSpace(CorpusPath)) throw new InvalidInputException("--corpus (or --sft) is required");
        if (string.IsNullOrWhiteSpace(OutputPath)) throw new InvalidInputException("--out is required");
        if (CorpusPath != null && !File.Exists(CorpusPath) && !Directory.Exists(CorpusPath)) throw new InvalidInputException($"corpus not found: {CorpusPath}");
        if (SftPath != null && !File.Exists(SftPath)) throw new InvalidInputException($"--sft file not found: {SftPath}") { Setting = "sft" };
        if (InitPath != null)
        {
            if (!File.Exists(Path.Combine(InitPath, "config.json"))) throw new InvalidInputException($"--init {InitPath}: no config.json (a DeepSeek Hugging Face folder)") { Setting = "init" };
            if (!File.Exists(Path.Combine(InitPath, ByteLevelBpeTokenizer.TokenizerFile))) throw new InvalidInputException($"--init {InitPath}: no {ByteLevelBpeTokenizer.TokenizerFile}; training needs the model's tokenizer") { Setting = "init" };
            if (TokenizerPath != null) throw new InvalidInputException("--init brings its own tokenizer; drop --tokenizer") { Setting = "tokenizer" };
        }
        if (Lora != null)
        {
            if (InitPath == null) throw new InvalidInputException("--lora-rank needs --init MODEL: adapters fine-tune an existing model") { Setting = "lora-rank" };
            Lora.Validate();
        }
        if (TokenizerPath != null && !File.Exists(Path.Combine(TokenizerPath, ByteLevelBpeTokenizer.TokenizerFile)))
            throw new InvalidInputException($"--tokenizer {TokenizerPath}: no {ByteLevelBpeTokenizer.TokenizerFile} there");
        if (TokenizerPath == null && VocabSize < BpeTrainer.MinimumVocabSize)
            throw new InvalidInputException($"--vocab-size must be at least {BpeTrainer.MinimumVocabSize} (3 special tokens + 256 bytes; got {VocabSize})");
        if (SeqLen < 2) throw new InvalidInputException($"--seq-len must be at least 2 (got {SeqLen})");
        if (!(ValidationFraction >= 0 && ValidationFraction < 0.5)) throw new InvalidInputException($"--val-fraction must be in [0, 0.5) (got {ValidationFraction})");
        NonNegative(ValidationMaxBlocks, "--val-max-blocks");
        Positive(Hidden, "--hidden");
        Positive(Layers, "--layers");
        if (DenseLayers < 0 || DenseLayers > Layers) throw new InvalidInputException($"--dense-layers must be within 0..--layers ({Layers}) (got {DenseLayers})");
        if (DenseLayers > 0) Positive(Intermediate, "--intermediate");
        Positive(Heads, "--heads");
        Positive(KvLoraRank, "--kv-lora-rank");
        NonNegative(QLoraRank, "--q-lora-rank");
        NonNegative(QkNopeHeadDim, "--qk-nope-dim");
        Positive(QkRopeHeadDim, "--qk-rope-dim");
        if (QkRopeHeadDim % 2 != 0) throw new InvalidInputException($"--qk-rope-dim must be even (got {QkRopeHeadDim})");
        Positive(VHeadDim, "--v-head-dim");
        if (DenseLayers < Layers)
        {
            Positive(Experts, "--experts");
            Positive(ExpertsPerToken, "--experts-per-token");
            if (ExpertsPerToken > Experts) throw new InvalidInputException($"--experts-per-token {ExpertsPerToken} is more than --experts {Experts}");
            NonNegative(SharedExperts, "--shared-experts");
            Positive(MoeIntermediate, "--moe-intermediate");
            Positive(ExpertGroups, "--expert-groups");
            if (Experts % ExpertGroups != 0 || Experts / ExpertGroups < 2)
                throw new InvalidInputException($"--experts {Experts} must be a multiple of --expert-groups {ExpertGroups} with at least 2 experts per group");
            int keep = TopkGroup ?? ExpertGroups;
            if (keep < 1 || keep > ExpertGroups) throw new InvalidInputException($"--topk-group must be within 1..--expert-groups ({ExpertGroups}) (got {keep})");
            if (keep * (Experts / ExpertGroups) < ExpertsPerToken)
                throw new InvalidInputException($"--topk-group {keep} keeps {keep * (Experts / ExpertGroups)} experts, fewer than --experts-per-token {ExpertsPerToken}");
            Positive(RoutedScaling, "--routed-scaling");
        }
        Positive(RopeTheta, "--rope-theta");
        if (MaxPositions is int mp) Positive(mp, "--max-positions");
        Positive(InitializerRange, "--init-std");
        Positive(BatchSize, "--batch-size");
        Positive(Epochs, "--epochs");
        NonNegative(MaxSteps, "--max-steps");
        Positive(LearningRate, "--lr");
        if (!(MinLearningRateRatio >= 0 && MinLearningRateRatio <= 1)) throw new InvalidInputException($"--min-lr-ratio must be in [0, 1] (got {MinLearningRateRatio})");
        if (!(WarmupRatio >= 0 && WarmupRatio < 1)) throw new InvalidInputException($"--warmup must be in [0, 1) (got {WarmupRatio})");
        if (WarmupSteps is int ws) NonNegative(ws, "--warmup-steps");
        NonNegative(WeightDecay, "--weight-decay");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new InvalidInputException($"--beta1 must be in [0, 1) (got {Beta1})");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new InvalidInputException($"--beta2 must be in [0, 1) (got {Beta2})");
        NonNegative(ClipNorm, "--clip");
        if (!(BiasUpdateSpeed >= 0 && double.IsFinite(BiasUpdateSpeed))) throw new InvalidInputException($"--bias-update-speed must be a non-negative number (got {BiasUpdateSpeed})");
        if (!(SeqAuxLoss >= 0 && double.IsFinite(SeqAuxLoss))) throw new InvalidInputException($"--seq-aux-loss must be a non-negative number (got {SeqAuxLoss})");
        if (Threads is int t) Positive(t, "--threads");
        Positive(LogEvery, "--log-every");
        NonNegative(EvalEvery, "--eval-every");
        NonNegative(CheckpointEvery, "--checkpoint-every");
        Positive(KeepCheckpoints, "--keep-checkpoints");
        if (Resume && Overwrite) throw new InvalidInputException("--resume and --overwrite exclude each other");
    }

    /// <summary>The model's config for a tokenizer of <paramref name="vocabSize"/> ids (DeepSeek-V3, sigmoid routing with a correction bias).</summary>
    public DeepSeekConfig ModelConfig(int vocabSize, int? bos, int? eos, int? pad)
    {
        var c = new DeepSeekConfig
        {
            Version = DeepSeekVersion.V3,
            VocabSize = vocabSize,
            HiddenSize = Hidden,
            IntermediateSize = Intermediate,
            MoeIntermediateSize = MoeIntermediate,
            NumHiddenLayers = Layers,
            NumAttentionHeads = Heads,
            NumKeyValueHeads = Heads,
            NSharedExperts = SharedExperts,
            NRoutedExperts = Experts,
            RoutedScalingFactor = RoutedScaling,
            KvLoraRank = KvLoraRank,
            QLoraRank = QLoraRank > 0 ? QLoraRank : null,
            QkRopeHeadDim = QkRopeHeadDim,
            QkNopeHeadDim = QkNopeHeadDim,
            VHeadDim = VHeadDim,
            NGroup = ExpertGroups,
            TopkGroup = TopkGroup ?? ExpertGroups,
            NumExpertsPerTok = ExpertsPerToken,
            FirstKDenseReplace = DenseLayers,
            NormTopkProb = true,
            TopkMethod = "noaux_tc",
            Rope = new RopeParameters { Theta = RopeTheta },
            RopeInterleave = true,
            MaxPositionEmbeddings = EffectiveMaxPositions,
            RmsNormEps = 1e-6,
            TieWordEmbeddings = TieEmbeddings,
            HiddenAct = "silu",
            BosTokenId = bos,
            EosTokenIds = eos is int eosId ? new[] { eosId } : Array.Empty<int>(),
            PadTokenId = pad,
            InitializerRange = InitializerRange,
            NumNextnPredictLayers = 0,
        };
        try { c.Validate("model settings"); }
        catch (CheckpointException e) { throw new InvalidInputException(e.Message, e); }
        return c;
    }
}
