using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train;

/// <summary>The training objective.</summary>
public enum LossKind
{
    /// <summary>InfoNCE (softmax cross-entropy) over in-batch negatives plus any hard negatives.</summary>
    InfoNce,

    /// <summary>Margin (triplet) ranking loss over the same candidates.</summary>
    Triplet,
}

/// <summary>Which pseudo-pairs self-supervision makes from the corpus alone (when no queries/qrels or pairs are given).</summary>
public enum SelfSupervision
{
    /// <summary>Inverse cloze task: a sentence is the query, the rest of its document the positive.</summary>
    Ict,

    /// <summary>Independent cropping (Contriever): two random spans of a document, with word deletion.</summary>
    Crop,

    /// <summary>The title is the query, the body the positive (documents without a title are skipped).</summary>
    Title,

    /// <summary>One of the three, chosen per document (title only where there is one).</summary>
    Mix,
}

/// <summary>Which dev-set score early stopping and best-model selection watch.</summary>
public enum DevMetric
{
    /// <summary>nDCG@10 of dense retrieval alone.</summary>
    Dense,

    /// <summary>nDCG@10 of BM25 and dense fused by reciprocal rank (k = 60), as `dss search --mode hybrid`.</summary>
    Hybrid,
}

/// <summary>
/// Everything <see cref="Trainer"/> needs. Supervision comes from exactly one of: BEIR <see cref="QueriesPath"/> +
/// <see cref="QrelsPath"/> (over <see cref="CorpusPath"/>), a JSONL <see cref="PairsPath"/>, or, with neither, self-supervision from the
/// corpus (<see cref="SelfSupervision"/>).
/// </summary>
public sealed record TrainOptions
{
    /// <summary>The encoder folder to create. It only appears when training succeeds (the run works in <c>OUT.partial</c>).</summary>
    public required string OutputPath { get; init; }

    // ---- model ----

    /// <summary>A Hugging Face BERT folder to start from; null = from scratch with the shape below.</summary>
    public string? InitPath { get; init; }

    public int Layers { get; init; } = 6;
    public int Hidden { get; init; } = 384;
    public int Heads { get; init; } = 12;
    public int Ffn { get; init; } = 1536;
    public int MaxPositions { get; init; } = 512;

    /// <summary>Tokenizer folder (vocab.txt / tokenizer.json); default: the --init folder's, else the bundled bert-base-uncased vocabulary.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>Separate query and document towers (both start from the same weights).</summary>
    public bool Untied { get; init; }

    /// <summary>Pooling; null = the --init folder's setting, else mean.</summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>L2 normalisation; null = the --init folder's setting, else true.</summary>
    public bool? Normalize { get; init; }

    public int MaxQueryLength { get; init; } = 64;
    public int MaxDocumentLength { get; init; } = 256;
    public string QueryPrefix { get; init; } = "";

    /// <summary>
    /// The min-max dense weight recorded in dual_encoder.json as this encoder's hybrid default; null: 0.1 for self-supervised
    /// encoders, which are much weaker than BM25 alone (bench/selfsup-scifact.sh on an H200: SciFact +0.007 nDCG@10 over BM25 at 0.1,
    /// +0.012 at 0.3; SQuAD dev +0.002 at 0.1 but −0.006 at 0.3; RRF lost 0.03–0.21 on both), 0.5 for supervised ones.
    /// </summary>
    public float? HybridAlpha { get; init; }

    /// <summary>With <see cref="InitPath"/>: save w·init + (1 − w)·trained weights (<see cref="WeightAveraging"/>); null or 0: the trained ones.</summary>
    public double? InitWeight { get; init; }
    public string DocumentPrefix { get; init; } = "";

    /// <summary>Name recorded in dual_encoder.json; default: the output folder's name.</summary>
    public string? Name { get; init; }

    // ---- data ----

    public string? CorpusPath { get; init; }
    public string? QueriesPath { get; init; }
    public string? QrelsPath { get; init; }
    public string? PairsPath { get; init; }

    /// <summary>Qrels whose queries must never be trained on (e.g. the evaluation split): they are dropped from training.</summary>
    public IReadOnlyList<string> ExcludeQrelsPaths { get; init; } = [];

    /// <summary>Kind of self-supervision when there is no supervision.</summary>
    public SelfSupervision SelfSupervision { get; init; } = SelfSupervision.Mix;

    /// <summary>BM25 hard negatives per pair (positives excluded); 0 = in-batch negatives only; null = 1 for supervised pairs over a
    /// corpus, 0 for self-supervision (a full document as negative of a crop would teach length, not relevance).</summary>
    public int? HardNegatives { get; init; }

    /// <summary>Hard negatives are sampled from BM25 ranks [<see cref="HardNegativeSkip"/>, <see cref="HardNegativeDepth"/>).</summary>
    public int HardNegativeDepth { get; init; } = 30;

    /// <summary>Top BM25 ranks never used as negatives (likely unjudged positives).</summary>
    public int HardNegativeSkip { get; init; }

    /// <summary>
    /// Every this many epochs (0 = never), re-mine the supervised queries' hard-negative candidates with the model being trained
    /// (<see cref="Data.DenseNegativeMiner"/>, same depth and skip) instead of BM25's.
    /// </summary>
    public int RefreshNegativesEvery { get; init; }

    // ---- loss ----

    public LossKind Loss { get; init; } = LossKind.InfoNce;
    public double Temperature { get; init; } = 0.05;
    public bool LearnTemperature { get; init; }

    /// <summary>InfoNCE in both directions (query→documents and positive document→queries), averaged.</summary>
    public bool Symmetric { get; init; }

    /// <summary>Margin of the triplet loss, in similarity units.</summary>
    public double Margin { get; init; } = 0.2;

    // ---- loop ----

    /// <summary>Pairs per optimizer step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>GradCache: sequences per forward/backward pass; 0 = the whole batch at once.</summary>
    public int ChunkSize { get; init; }

    public int Epochs { get; init; } = 1;

    /// <summary>Stop after this many optimizer steps (overrides <see cref="Epochs"/> for the schedule); 0 = epochs decide.</summary>
    public int MaxSteps { get; init; }

    /// <summary>Peak learning rate; null = 2e-5 from --init, 1e-4 from scratch.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Linear warmup length as a fraction of all steps (ignored when <see cref="WarmupSteps"/> is set).</summary>
    public double WarmupRatio { get; init; } = 0.1;
    public int? WarmupSteps { get; init; }
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gradient clipping (global L2 norm); 0 = off.</summary>
    public double ClipNorm { get; init; } = 1.0;
    public long Seed { get; init; } = 42;

    /// <summary>cpu (default), cuda, cuda:N or auto.</summary>
    public string Device { get; init; } = "cpu";
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;
    public int? Threads { get; init; }

    // ---- masked-LM pretraining ----

    /// <summary>
    /// Epochs of masked-LM pretraining of the document tower over the corpus before contrastive training (BERT masking; see
    /// <see cref="Pretraining.MaskedLmPretrainer"/>); 0 = none. Needs <see cref="CorpusPath"/>.
    /// </summary>
    public int MlmEpochs { get; init; }

    /// <summary>Peak learning rate of pretraining; null = 5e-4 from scratch, 5e-5 from --init.</summary>
    public double? MlmLearningRate { get; init; }

    /// <summary>Sequences (document windows of <see cref="MaxDocumentLength"/> tokens) per pretraining step.</summary>
    public int MlmBatchSize { get; init; } = 32;

    /// <summary>Share of a sequence's non-special tokens that are masked and predicted.</summary>
    public double MlmProbability { get; init; } = 0.15;

    // ---- dev set, checkpoints ----

    /// <summary>Share of the training queries held out as the dev set (qrels or id pairs only); 0 = none.</summary>
    public double DevFraction { get; init; } = 0.1;

    /// <summary>At most this many dev queries.</summary>
    public int DevMaxQueries { get; init; } = 200;

    /// <summary>An explicit dev set instead of one carved from training (BEIR queries + qrels over the corpus).</summary>
    public string? DevQueriesPath { get; init; }
    public string? DevQrelsPath { get; init; }

    /// <summary>Evaluate on the dev set every N steps (and at the end); 0 = once per epoch.</summary>
    public int EvalEvery { get; init; }

    /// <summary>Documents searched by dev evaluation: the dev positives plus a seeded sample up to this many; 0 = the whole corpus.</summary>
    public int EvalDocuments { get; init; }
    public DevMetric DevMetric { get; init; } = DevMetric.Dense;

    /// <summary>Stop after this many evaluations without improvement; 0 = never stop early.</summary>
    public int Patience { get; init; }

    /// <summary>Save a resumable checkpoint every N steps (and at the end); 0 = once per epoch.</summary>
    public int CheckpointEvery { get; init; }
    public int KeepCheckpoints { get; init; } = 1;

    /// <summary>Continue from the last checkpoint of OUT.partial (or of a finished OUT).</summary>
    public bool Resume { get; init; }

    /// <summary>Replace an existing output folder (only when the run succeeds).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Report progress every N steps.</summary>
    public int LogEvery { get; init; } = 10;

    public void Validate()
    {
        void Positive(double v, string name) { if (!(v > 0)) throw new InvalidInputException($"{name} must be positive (got {v})"); }
        void NonNegative(double v, string name) { if (!(v >= 0)) throw new InvalidInputException($"{name} must not be negative (got {v})"); }
        if (HybridAlpha is float ha && !(ha >= 0 && ha <= 1)) throw new InvalidInputException($"--hybrid-alpha must be in [0, 1] (got {ha})");
        if (InitWeight is double iw && !(iw >= 0 && iw <= 1)) throw new InvalidInputException($"--init-weight must be in [0, 1] (got {iw})");
        if (InitWeight is > 0 && InitPath == null) throw new InvalidInputException("--init-weight needs --init (the weights to interpolate with)");
        if (InitWeight is > 0 && Untied) throw new InvalidInputException("--init-weight works on tied encoders only (not with --untied)");
        if (string.IsNullOrWhiteSpace(OutputPath)) throw new InvalidInputException("an output folder is required");
        if (InitPath == null)
        {
            Positive(Layers, "--layers");
            Positive(Hidden, "--hidden");
            Positive(Heads, "--heads");
            Positive(Ffn, "--ffn");
            Positive(MaxPositions, "--max-positions");
            if (Hidden % Heads != 0) throw new InvalidInputException($"--hidden {Hidden} is not divisible by --heads {Heads}");
        }
        if (MaxQueryLength < 3) throw new InvalidInputException($"--max-query-length must be at least 3 (got {MaxQueryLength})");
        if (MaxDocumentLength < 3) throw new InvalidInputException($"--max-doc-length must be at least 3 (got {MaxDocumentLength})");
        if (QrelsPath != null && QueriesPath == null) throw new InvalidInputException("--qrels needs --queries");
        if (QueriesPath != null && QrelsPath == null) throw new InvalidInputException("--queries needs --qrels (the training judgments)");
        if (QrelsPath != null && CorpusPath == null) throw new InvalidInputException("--qrels needs --corpus (the judged documents' texts)");
        if (QrelsPath != null && PairsPath != null) throw new InvalidInputException("give either --queries/--qrels or --pairs, not both");
        if (QrelsPath == null && PairsPath == null && CorpusPath == null)
            throw new InvalidInputException("no training data: give --queries/--qrels with --corpus, --pairs, or --corpus alone for self-supervision");
        if ((DevQueriesPath == null) != (DevQrelsPath == null)) throw new InvalidInputException("--dev-queries and --dev-qrels go together");
        if (DevQrelsPath != null && CorpusPath == null) throw new InvalidInputException("--dev-qrels needs --corpus");
        if (HardNegatives is int hn) NonNegative(hn, "--hard-negatives");
        NonNegative(HardNegativeSkip, "--negatives-skip");
        NonNegative(RefreshNegativesEvery, "--refresh-negatives");
        if (RefreshNegativesEvery > 0 && QrelsPath == null && PairsPath == null)
            throw new InvalidInputException("--refresh-negatives needs supervised training (--qrels or --pairs): self-supervised pseudo-queries change every epoch");
        if (RefreshNegativesEvery > 0 && HardNegatives is 0)
            throw new InvalidInputException("--refresh-negatives needs hard negatives (--hard-negatives > 0)");
        if (HardNegatives is not 0 && HardNegativeDepth <= HardNegativeSkip)
            throw new InvalidInputException($"--negatives-depth {HardNegativeDepth} must be larger than --negatives-skip {HardNegativeSkip}");
        Positive(Temperature, "--temperature");
        NonNegative(Margin, "--margin");
        Positive(BatchSize, "--batch-size");
        if (BatchSize < 2 && HardNegatives is 0) throw new InvalidInputException("--batch-size 1 without hard negatives leaves no negatives");
        NonNegative(ChunkSize, "--chunk-size");
        Positive(Epochs, "--epochs");
        NonNegative(MaxSteps, "--max-steps");
        if (LearningRate is double lr) Positive(lr, "--lr");
        if (!(WarmupRatio >= 0 && WarmupRatio < 1)) throw new InvalidInputException($"--warmup must be in [0, 1) (got {WarmupRatio})");
        if (WarmupSteps is int ws) NonNegative(ws, "--warmup-steps");
        NonNegative(WeightDecay, "--weight-decay");
        NonNegative(ClipNorm, "--clip");
        if (Threads is int t) Positive(t, "--threads");
        if (!(DevFraction >= 0 && DevFraction < 1)) throw new InvalidInputException($"--dev-fraction must be in [0, 1) (got {DevFraction})");
        NonNegative(DevMaxQueries, "--dev-max-queries");
        NonNegative(EvalEvery, "--eval-every");
        NonNegative(EvalDocuments, "--eval-docs");
        NonNegative(Patience, "--patience");
        NonNegative(CheckpointEvery, "--checkpoint-every");
        Positive(KeepCheckpoints, "--keep-checkpoints");
        Positive(LogEvery, "--log-every");
        if (LearnTemperature && Loss == LossKind.Triplet) throw new InvalidInputException("--learn-temperature applies to the InfoNCE loss, not to --loss triplet");
        if (Symmetric && Loss == LossKind.Triplet) throw new InvalidInputException("--symmetric applies to the InfoNCE loss, not to --loss triplet");
        NonNegative(MlmEpochs, "--mlm-epochs");
        if (MlmLearningRate is double mlr) Positive(mlr, "--mlm-lr");
        Positive(MlmBatchSize, "--mlm-batch-size");
        if (!(MlmProbability > 0 && MlmProbability < 1)) throw new InvalidInputException($"--mlm-probability must be in (0, 1) (got {MlmProbability})");
        if (MlmEpochs > 0 && CorpusPath == null) throw new InvalidInputException("--mlm-epochs needs --corpus (the texts to pretrain on)");
        if (Resume && Overwrite) throw new InvalidInputException("--resume and --overwrite exclude each other");
    }

    /// <summary>The learning rate in effect.</summary>
    public double EffectiveLearningRate => LearningRate ?? (InitPath != null ? 2e-5 : 1e-4);

    /// <summary>The masked-LM learning rate in effect.</summary>
    public double EffectiveMlmLearningRate => MlmLearningRate ?? (InitPath != null ? 5e-5 : 5e-4);
}
