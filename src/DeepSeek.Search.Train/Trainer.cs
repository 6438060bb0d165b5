using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Train.Losses;
using DeepSeek.Search.Train.Pretraining;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DeepSeek.Search.Training;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Train;

/// <summary>
/// Trains a BERT dual encoder with a contrastive loss and writes an encoder folder that <c>dss index</c>/<c>embed</c>
/// (<see cref="TextEncoder.Load"/>) and Hugging Face's <c>BertModel.from_pretrained</c> load: config.json + model.safetensors (or
/// query/ and document/), vocab.txt + tokenizer_config.json, dual_encoder.json, plus training_curve.csv/.png, train.json and the last
/// resumable checkpoint under checkpoints/.
/// <para>
/// The run works in <c>OUT.partial</c> beside the output; the output folder appears (or replaces an old one, with
/// <see cref="TrainOptions.Overwrite"/>) only when training succeeds, by renaming. A failed or cancelled run leaves OUT.partial, which
/// <see cref="TrainOptions.Resume"/> continues from its newest checkpoint. On CPU a resumed run is bit-identical to a straight one:
/// every random choice is keyed by (seed, epoch, example) (<see cref="Seeds"/>), the model has no dropout, and checkpoints hold the exact
/// float32 weights, AdamW moments and step counts.
/// </para>
/// <para>
/// Each step: a batch of pairs (with hard negatives) → <see cref="ContrastiveStep"/> (GradCache when chunked) → global-norm clipping →
/// AdamW (weight decay off for biases and LayerNorm) at the scheduled rate (linear warmup, linear decay). Dev nDCG@10 is measured
/// before training and periodically; with a patience, training stops early, and the weights of the best evaluation are saved.
/// </para>
/// <para>
/// Label-free adaptation of an <see cref="TrainOptions.InitPath"/> encoder (a corpus, no labels, no dev qrels) is gated: a seeded
/// <see cref="TrainOptions.DevFraction"/> of the documents (at most <see cref="TrainOptions.DevMaxQueries"/>) is held out of training,
/// one pseudo-query each (<see cref="SelfSupervisedPairs.HoldOut"/>), and scored in the --init encoder's default search (its recorded
/// hybrid fusion); the --init weights are the first "best", and the output keeps them unless an evaluation beats the best by
/// <see cref="AdaptationMargin"/>.
/// </para>
/// <para>
/// With <see cref="TrainOptions.MlmEpochs"/>, a fresh run first pretrains the document tower with BERT's masked-LM objective over the
/// corpus (<see cref="MaskedLmPretrainer"/>), then saves that state once (<see cref="MaskedLmSnapshot"/>, <c>OUT.partial/mlm/</c>):
/// a resumed run with a contrastive checkpoint or that snapshot skips pretraining.
/// </para>
/// </summary>
public static class Trainer
{
    public const string PartialSuffix = RunFolders.PartialSuffix, SummaryFile = "train.json";
    const string Bm25Folder = "bm25", BestFolder = "best";
    /// <summary>Where the candidates of each hard-negative refresh are kept (one JSON file per refresh epoch).</summary>
    public const string DenseNegativesFolder = "dense-negatives";

    /// <summary>
    /// Label-free adaptation of an --init encoder replaces its weights only when an evaluation beats the best so far (at first, the
    /// --init weights themselves) by this much nDCG@10 on the held-out pseudo-queries, in the encoder's default search.
    /// </summary>
    public const double AdaptationMargin = 0.002;

    public static TrainResult Train(TrainOptions options, IProgress<TrainProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (output, work) = RunFolders.Of(options.OutputPath);
        var (fresh, extending) = RunFolders.Prepare(output, work, options.Resume, options.Overwrite, HasResumableState, "checkpoint (or masked-LM snapshot)");
        try
        {
            using var run = new Run(options, output, work, extending, progress, cancellation);
            return run.Execute();
        }
        catch (Exception e)
        {
            // failed before a checkpoint of its own: nothing to resume, so leave nothing behind
            RunFolders.DiscardIfNothingNew(work, fresh, extending, output, MaskedLmSnapshot.Exists);
            if (OutOfDeviceMemory(e, options) is { } oom) throw oom;
            throw;
        }
    }

    /// <summary>
    /// libtorch's allocator failure ("CUDA out of memory. Tried to allocate …", or the CPU's "DefaultCPUAllocator: not enough memory")
    /// as a clear input error naming the settings that size the step; null for any other failure.
    /// </summary>
    public static InvalidInputException? OutOfDeviceMemory(Exception e, TrainOptions options)
    {
        if (e is SearchException) return null;
        string m = e.Message;
        bool oom = m.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || m.Contains("not enough memory", StringComparison.OrdinalIgnoreCase);
        if (!oom) return null;
        string first = m.Split('\n', 2)[0].Trim();
        return new InvalidInputException(
            $"out of memory on {options.Device} with --batch-size {options.BatchSize} (queries {options.MaxQueryLength}, documents {options.MaxDocumentLength} tokens, " +
            $"{options.HardNegatives?.ToString() ?? "default"} hard negatives): lower --batch-size, set --chunk-size (GradCache) or shorten --max-doc-length ({first})");
    }

    /// <summary>Whether a run folder holds something <see cref="TrainOptions.Resume"/> continues from: a checkpoint, or the masked-LM snapshot.</summary>
    public static bool HasResumableState(string workDir) =>
        Directory.Exists(workDir) && (Checkpoints.List(workDir).Count > 0 || MaskedLmSnapshot.Exists(workDir));

    /// <summary>"masked-LM pretraining: N epochs, M sequences, loss a → b", as <c>dss train</c> prints it.</summary>
    public static string MlmLine(MaskedLmSummary m) => string.Create(CultureInfo.InvariantCulture,
        $"masked-LM pretraining: {m.Epochs} epoch{(m.Epochs == 1 ? "" : "s")}, {m.Sequences:N0} sequences, loss {m.FirstLoss:F4} → {m.LastLoss:F4}");


    /// <summary>All the state of one run.</summary>
    sealed class Run : IDisposable
    {
        readonly TrainOptions _o;
        readonly string _output, _work;
        readonly bool _extending;
        readonly IProgress<TrainProgress>? _progress;
        readonly CancellationToken _ct;

        Device _device = null!; // set in Execute, after TorchRuntime.Initialize (touching torch earlier would load the bundled libtorch first)
        ScalarType _compute = ScalarType.Float32;
        TrainingCorpus? _corpus;
        SupervisedData? _supervised;
        DualEncoderConfig? _initSettings;
        TrainingSet _set = null!;
        DevSet? _dev;
        Bm25NegativeMiner? _miner;
        DevEvaluator? _evaluator;
        bool _adaptationGate;
        BertTokenizer _tokenizer = null!;
        DualTowers _towers = null!;
        Parameter? _logitScale;
        AdamW _optimizer = null!;
        List<Parameter> _clipped = null!;
        ContrastiveStep _step = null!;
        TrainingCurve _curve = new();
        PoolingMode _pooling;
        bool _normalize;
        int _hardNegatives;
        string _supervision = "";
        string? _headSource; // the --init folder of the document tower: a BertForMaskedLM checkpoint's head starts the MLM head
        MaskedLmSummary? _mlm;

        // progress of the run
        long _stepDone, _totalSteps, _pairsSeen;
        int _epoch, _batchInEpoch, _stepsPerEpoch;
        int _refreshedEpoch = -1;
        double? _bestMetric, _firstLoss, _lastLoss;
        long _bestStep;
        int _evalsSinceBest;
        bool _stopped;
        DevScores? _initialDev, _bestDev;
        double _trainSeconds, _sessionSeconds;
        long _sessionPairs;
        long? _resumedFrom;
        string _fingerprint = "";

        public Run(TrainOptions o, string output, string work, bool extending, IProgress<TrainProgress>? progress, CancellationToken ct)
        {
            _o = o;
            _extending = extending;
            _output = output;
            _work = work;
            _progress = progress;
            _ct = ct;
        }

        void Say(string message) => _progress?.Report(new TrainProgress("prepare", 0, 0, message));

        public TrainResult Execute()
        {
            TorchRuntime.Initialize();
            if (_o.Threads is int threads) TorchRuntime.SetThreads(threads);
            _device = TorchRuntime.ResolveDevice(_o.Device);
            _compute = _o.Precision switch
            {
                TrainPrecision.Float32 => ScalarType.Float32,
                TrainPrecision.BFloat16 => ScalarType.BFloat16,
                _ => _device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
            };
            random.manual_seed(_o.Seed);

            // the model first: a bad --init folder fails before the corpus is read and mined
            var checkpoint = _o.Resume ? Checkpoints.List(_work).LastOrDefault() : default;
            BuildModel(checkpoint.Path);
            LoadData();
            _ct.ThrowIfCancellationRequested();
            _fingerprint = Fingerprint();
            BuildOptimizer();

            _stepsPerEpoch = _set.Count >= _o.BatchSize ? _set.Count / _o.BatchSize : 1;
            _totalSteps = _o.MaxSteps > 0 ? _o.MaxSteps : (long)_o.Epochs * _stepsPerEpoch;
            if (checkpoint.Path != null) Restore(checkpoint.Path);
            else if (_o.MlmEpochs > 0 || MaskedLmSnapshot.Exists(_work)) Pretrain();

            if (_dev != null && _corpus != null)
            {
                _evaluator = new DevEvaluator(_dev, _corpus, _o.EvalDocuments, _o.Seed, _miner, _adaptationGate ? _initSettings?.HybridAlpha : null);
                Say($"dev set: {_evaluator.QueryCount} queries over {_evaluator.DocumentCount:N0} documents");
            }
            if (_evaluator != null && _resumedFrom == null) Evaluate(step: 0, epoch: 0);

            if (!_stopped) Loop();
            return Finish();
        }

        // ---------------------------------------------------------------- data

        void LoadData()
        {
            if (_o.CorpusPath != null)
            {
                Say($"reading corpus {_o.CorpusPath}");
                _corpus = TrainingCorpus.Load(_o.CorpusPath);
            }
            SelfSupervisedPairs? self = null;
            if (_o.QrelsPath != null)
            {
                _supervised = SupervisedData.FromBeir(_o.QueriesPath!, _o.QrelsPath, _corpus!, _o.ExcludeQrelsPaths);
                _supervision = "queries+qrels";
            }
            else if (_o.PairsPath != null)
            {
                _supervised = SupervisedData.FromPairsFile(_o.PairsPath, _corpus, _o.ExcludeQrelsPaths);
                _supervision = "pairs";
            }
            else
            {
                self = new SelfSupervisedPairs(_corpus!, _o.SelfSupervision);
                _supervision = "self-supervised:" + _o.SelfSupervision.ToString().ToLowerInvariant();
                if (_o.InitPath != null && _o.DevQrelsPath == null && self.HoldOut(_o.DevFraction, _o.DevMaxQueries, _o.Seed) is { } held)
                {
                    // the adaptation gate: without judged queries, held-out pseudo-queries decide whether the adapted weights replace --init's
                    _dev = held;
                    _adaptationGate = true;
                    Say($"held out {held.Queries.Count:N0} documents and their pseudo-queries: the output keeps the --init encoder's weights unless an " +
                        $"evaluation beats them by {AdaptationMargin} nDCG@10 in its default search ({DescribeDefault()})");
                }
                else if (_o.InitPath != null)
                    Say("note: label-free adaptation of a pretrained encoder was measured within -0.006..+0.002 nDCG@10 of the encoder as it is " +
                        "on SciFact and SQuAD (README: pretrained encoders); without judged queries to check the result, the pretrained encoder itself is the safer choice");
            }

            if (_supervised != null)
            {
                if (_o.DevQrelsPath != null)
                    _dev = SupervisedData.LoadDevSet(_o.DevQueriesPath!, _o.DevQrelsPath, _corpus!, _supervised.Relevant.Keys.ToHashSet(StringComparer.Ordinal));
                else
                    (_supervised, _dev) = _supervised.SplitDev(_o.DevFraction, _o.DevMaxQueries, _o.Seed);
                if (_supervised.ExcludedQueries > 0)
                    Say($"left out {_supervised.ExcludedQueries} quer{(_supervised.ExcludedQueries == 1 ? "y" : "ies")} judged by evaluation qrels ({string.Join(", ", _supervised.ExcludedFrom.Select(Path.GetFileName))})");
            }
            else if (_o.DevQrelsPath != null)
                _dev = SupervisedData.LoadDevSet(_o.DevQueriesPath!, _o.DevQrelsPath, _corpus!, Array.Empty<string>());

            _hardNegatives = _o.HardNegatives ?? (_supervised != null && _corpus != null ? 1 : 0);
            if (_o.BatchSize < 2 && _hardNegatives == 0) throw new InvalidInputException("--batch-size 1 without hard negatives leaves no negatives");
            bool needBm25 = _corpus != null && (_hardNegatives > 0 || _dev != null);
            if (needBm25)
            {
                Say("building the BM25 index for hard negatives and hybrid dev scores");
                _miner = Bm25NegativeMiner.Open(Path.Combine(_work, Bm25Folder), _corpus!, _o.HardNegativeDepth, _o.HardNegativeSkip);
            }
            _set = _supervised != null
                ? TrainingSet.Supervised(_supervised, _miner, _hardNegatives, _o.Seed)
                : TrainingSet.SelfSupervised(self!, _miner, _hardNegatives, _o.Seed);
            if (_set.Count == 0) throw new InvalidInputException("empty training set");
            if (_set.Count < 2 && _hardNegatives == 0) throw new InvalidInputException("a single training pair and no hard negatives: nothing to contrast");
            if (_miner != null && _hardNegatives > 0 && !_set.IsSelfSupervised)
                _set.Premine((d, t) => _progress?.Report(new TrainProgress("mine", d, t)));
            Say($"training set: {_set.Count:N0} {(_set.IsSelfSupervised ? "documents (pseudo-pairs per epoch)" : "pairs")}" +
                (_supervised != null ? $" from {_supervised.QueryCount:N0} queries" : "") + (_hardNegatives > 0 ? $", {_hardNegatives} BM25 hard negative(s) each" : ""));
        }

        // ---------------------------------------------------------------- model

        void BuildModel(string? checkpointDir)
        {
            BertModel? query = null, document = null;
            DualEncoderConfig? initSettings = null;
            try
            {
                if (_o.InitPath != null)
                {
                    if (!Directory.Exists(_o.InitPath)) throw new CheckpointException($"--init folder not found: {_o.InitPath}");
                    initSettings = _initSettings = DualEncoderConfig.Load(_o.InitPath);
                    _headSource = initSettings.Tied ? _o.InitPath : Path.Combine(_o.InitPath, "document");
                    _tokenizer = LoadTokenizer(_o.InitPath, initSettings.Tied ? _o.InitPath : Path.Combine(_o.InitPath, "query"));
                    if (checkpointDir == null)
                    {
                        Say($"loading {_o.InitPath}");
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
                    _tokenizer = _o.TokenizerPath != null ? BertTokenizer.FromFolder(_o.TokenizerPath) : BertTokenizer.BundledUncased();
                    if (checkpointDir == null)
                    {
                        var config = ScratchConfig();
                        Say($"new model: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, {config.NumAttentionHeads} heads, FFN {config.IntermediateSize}, vocabulary {config.VocabSize:N0}");
                        query = new BertModel(config, addPoolingLayer: true, seed: _o.Seed);
                    }
                }
                bool untied = _o.Untied || (initSettings is { Tied: false });
                if (checkpointDir != null)
                {
                    Say($"resuming from {checkpointDir}");
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
                    if (_tokenizer.VocabSize > m.Config.VocabSize)
                        throw new CheckpointException($"the tokenizer has {_tokenizer.VocabSize:N0} ids but the {tower} model's vocab_size is {m.Config.VocabSize:N0}");
                    int max = tower == "query" ? _o.MaxQueryLength : _o.MaxDocumentLength;
                    if (max > m.Config.MaxPositionEmbeddings)
                        throw new InvalidInputException($"--max-{(tower == "query" ? "query" : "doc")}-length {max} is longer than the model's max_position_embeddings {m.Config.MaxPositionEmbeddings}");
                }
                if (document != null && document.HiddenSize != query!.HiddenSize)
                    throw new CheckpointException($"query tower width {query.HiddenSize} differs from document tower width {document.HiddenSize}");

                _pooling = _o.Pooling ?? initSettings?.Pooling ?? PoolingMode.Mean;
                _normalize = _o.Normalize ?? initSettings?.Normalize ?? true;
                _towers = new DualTowers(query!, document, _pooling, _normalize, _device, _compute);
                query = document = null; // owned by the towers now
            }
            catch
            {
                query?.Dispose();
                if (!ReferenceEquals(document, query)) document?.Dispose();
                throw;
            }

            _logitScale = _o.LearnTemperature
                ? new Parameter(tensor((float)Math.Log(1.0 / _o.Temperature)).to(_device), requires_grad: true)
                : null;
            IContrastiveLoss loss = _o.Loss == LossKind.Triplet ? new TripletLoss(_o.Margin) : new InfoNceLoss(_o.Temperature, _o.Symmetric);
            _step = new ContrastiveStep(_towers, _tokenizer, loss, _logitScale, _o.MaxQueryLength, _o.MaxDocumentLength,
                _o.QueryPrefix, _o.DocumentPrefix, _o.ChunkSize);
        }

        BertConfig ScratchConfig()
        {
            var c = new BertConfig
            {
                VocabSize = _tokenizer.VocabSize,
                HiddenSize = _o.Hidden,
                NumHiddenLayers = _o.Layers,
                NumAttentionHeads = _o.Heads,
                IntermediateSize = _o.Ffn,
                MaxPositionEmbeddings = _o.MaxPositions,
                PadTokenId = _tokenizer.PadId,
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

        void BuildOptimizer()
        {
            var decay = new List<Parameter>();
            var noDecay = new List<Parameter>();
            foreach (var (name, p) in _towers.TrainableParameters())
                (name.EndsWith(".bias", StringComparison.Ordinal) || name.Contains("LayerNorm", StringComparison.Ordinal) ? noDecay : decay).Add(p);
            _clipped = decay.Concat(noDecay).ToList();
            if (_logitScale is not null) noDecay.Add(_logitScale);
            var groups = new List<AdamW.ParamGroup>
            {
                new(decay, new AdamW.Options { weight_decay = _o.WeightDecay }),
                new(noDecay, new AdamW.Options { weight_decay = 0 }),
            };
            _optimizer = optim.AdamW(groups, _o.EffectiveLearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: _o.WeightDecay);
        }

        void Restore(string checkpointDir)
        {
            var state = TrainingCheckpoint.ReadState(checkpointDir);
            if (state.Fingerprint != _fingerprint)
                throw new InvalidInputException($"cannot resume from {checkpointDir}: it was made with other settings or data (model, data files, loss, batch, learning rate or seed differ)");
            if (state.StoppedEarly) Say($"the run stopped early at step {state.Step}; finishing it");
            else if (state.Step >= _totalSteps && _extending)
                throw new InvalidInputException($"nothing left to train: the checkpoint is at step {state.Step} of {_totalSteps}; raise --epochs or --max-steps to train further");
            else if (state.Step >= _totalSteps) Say($"the run reached step {state.Step} before it was interrupted; writing its output");
            if (state.TotalSteps != _totalSteps)
                Say($"note: the schedule now has {_totalSteps} steps (the checkpoint's run planned {state.TotalSteps}); the learning rate follows the new length");
            try { _optimizer.load_state_dict(Path.Combine(checkpointDir, Checkpoints.OptimizerFile)); }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or EndOfStreamException)
            {
                throw new CheckpointException($"{checkpointDir}: unreadable optimizer state ({e.Message})", e);
            }
            if (_logitScale is not null)
            {
                if (state.LogitScaleBits == null) throw new CheckpointException($"{checkpointDir}: no learnable temperature in the checkpoint");
                using (no_grad()) _logitScale.fill_(TrainState.FromBits(state.LogitScaleBits));
            }
            _towers.MasterToWorking();
            _curve = TrainingCurve.ReadCsv(Path.Combine(checkpointDir, TrainingCurve.CsvFile));
            _curve.TruncateAfter(state.Step);
            _stepDone = state.Step;
            _epoch = state.Epoch;
            _batchInEpoch = state.BatchInEpoch;
            _bestMetric = state.BestMetric;
            _bestStep = state.BestStep;
            _evalsSinceBest = state.EvalsSinceBest;
            _stopped = state.StoppedEarly;
            _pairsSeen = state.PairsSeen;
            _trainSeconds = state.TrainSeconds;
            _resumedFrom = state.Step;
            _mlm = state.Mlm;
            var evals = _curve.Points.Where(p => p.DevNdcg is not null).ToList();
            if (evals.Count > 0)
            {
                var first = evals[0];
                _initialDev = first.Step == 0 ? new DevScores(first.DevNdcg!.Value, first.DevHybridNdcg) : null;
                var best = evals.FirstOrDefault(p => p.Step == _bestStep);
                if (best != null) _bestDev = new DevScores(best.DevNdcg!.Value, best.DevHybridNdcg);
            }
            var losses = _curve.Points.Where(p => p.Loss is not null).ToList();
            if (losses.Count > 0) { _firstLoss = losses[0].Loss; _lastLoss = losses[^1].Loss; }
        }

        // ---------------------------------------------------------------- masked-LM pretraining

        /// <summary>Before the first contrastive step: masked-LM pretraining, or (resuming) the weights it left in its snapshot.</summary>
        void Pretrain()
        {
            if (MaskedLmSnapshot.Exists(_work))
            {
                _mlm = MaskedLmSnapshot.Load(_work, _towers, _fingerprint);
                Say($"masked-LM pretraining was done before the interruption ({_mlm.Epochs} epoch(s), loss {_mlm.FirstLoss:F4} → {_mlm.LastLoss:F4}); continuing from {MaskedLmSnapshot.PathIn(_work)}");
                return;
            }
            Say($"masked-LM pretraining: tokenizing {_corpus!.Count:N0} documents into windows of {_o.MaxDocumentLength} tokens");
            var texts = _corpus.Documents.Select(TextChunker.ComposeText).ToList();
            var sequences = MlmSequences.FromTexts(_tokenizer, texts, _o.MaxDocumentLength, _ct);
            var options = new MaskedLmOptions
            {
                Epochs = _o.MlmEpochs,
                LearningRate = _o.EffectiveMlmLearningRate,
                BatchSize = _o.MlmBatchSize,
                Probability = _o.MlmProbability,
                WarmupRatio = _o.WarmupRatio,
                WeightDecay = _o.WeightDecay,
                ClipNorm = _o.ClipNorm,
                Seed = _o.Seed,
                LogEvery = _o.LogEvery,
            };
            using var pretrainer = new MaskedLmPretrainer(_towers, _tokenizer, options, _headSource);
            Say($"masked-LM pretraining: {_o.MlmEpochs} epoch(s) over {sequences.Count:N0} sequences from {sequences.Documents:N0} documents " +
                $"({sequences.Tokens:N0} wordpieces), batch {Math.Min(_o.MlmBatchSize, Math.Max(1, sequences.Count))}, lr {options.LearningRate:G3}, " +
                (pretrainer.HeadFromCheckpoint ? "head from the --init checkpoint" : "new head") +
                (_towers.Tied ? "" : "; the document tower, then copied into the query tower"));
            _mlm = pretrainer.Train(sequences, _progress, _ct);
            MaskedLmPretrainer.WriteCurve(Path.Combine(_work, MaskedLmPretrainer.CurveFile), pretrainer.Curve);
            MaskedLmSnapshot.Save(_work, _towers, _fingerprint, _mlm);
            Say(MlmLine(_mlm) + string.Create(CultureInfo.InvariantCulture, $" (accuracy {_mlm.LastAccuracy:P1}, {_mlm.SequencesPerSecond:F1} sequences/s)"));
        }

        // ---------------------------------------------------------------- loop

        void Loop()
        {
            double peak = _o.EffectiveLearningRate;
            long warmup = LearningRateSchedule.WarmupSteps(_totalSteps, _o.WarmupRatio, _o.WarmupSteps);
            int batch = Math.Min(_o.BatchSize, _set.Count);
            double lossSum = 0;
            int lossCount = 0;
            double intervalSeconds = 0;
            long intervalPairs = 0;
            double lastNorm = 0;
            int[]? order = null;
            int orderEpoch = -1;
            Say($"training {_totalSteps - _stepDone:N0} step(s) of {batch} pairs on {_device.type.ToString().ToLowerInvariant()} ({(_compute == ScalarType.BFloat16 ? "bf16" : "fp32")}), {_stepsPerEpoch:N0} steps per epoch");

            while (_stepDone < _totalSteps && !_stopped)
            {
                _ct.ThrowIfCancellationRequested();
                if (orderEpoch != _epoch) { order = _set.Order(_epoch); orderEpoch = _epoch; }
                if (_o.RefreshNegativesEvery > 0 && _supervised != null && _miner != null && _hardNegatives > 0)
                {
                    int refresh = _epoch / _o.RefreshNegativesEvery * _o.RefreshNegativesEvery;
                    if (refresh > 0 && refresh != _refreshedEpoch) RefreshNegatives(refresh);
                }
                long started = Stopwatch.GetTimestamp();

                var examples = new List<TrainingExample>(batch);
                for (int i = _batchInEpoch * batch; i < (_batchInEpoch + 1) * batch; i++) examples.Add(_set.Example(_epoch, order![i]));
                var contrastive = ContrastiveBatch.From(examples);

                double lr = LearningRateSchedule.At(_stepDone, _totalSteps, warmup, peak);
                foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;
                double loss = _step.Run(contrastive);
                if (!double.IsFinite(loss))
                    throw new SearchException($"the loss became {loss} at step {_stepDone + 1}; lower --lr (now {peak:G3}) or raise --temperature");
                lastNorm = nn.utils.clip_grad_norm_(_clipped, _o.ClipNorm > 0 ? _o.ClipNorm : double.PositiveInfinity);
                _optimizer.step();
                ClampTemperature();
                _optimizer.zero_grad();
                _logitScale?.grad?.zero_();
                _towers.MasterToWorking();

                _stepDone++;
                _pairsSeen += batch;
                double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                intervalSeconds += seconds;
                _trainSeconds += seconds;
                _sessionSeconds += seconds;
                _sessionPairs += batch;
                intervalPairs += batch;
                lossSum += loss;
                lossCount++;
                _firstLoss ??= loss;
                _lastLoss = loss;

                int epochOfStep = _epoch;
                bool epochEnd = _batchInEpoch + 1 >= _stepsPerEpoch;
                if (epochEnd) { _epoch++; _batchInEpoch = 0; }
                else _batchInEpoch++;
                bool last = _stepDone == _totalSteps;

                if (_stepDone % _o.LogEvery == 0 || epochEnd || last)
                {
                    double pps = intervalSeconds > 0 ? intervalPairs / intervalSeconds : 0;
                    _curve.Add(new CurvePoint(_stepDone, epochOfStep, lossSum / lossCount, lr, CurrentTemperature(), lastNorm, pps));
                    _progress?.Report(new TrainProgress("train", _stepDone, _totalSteps, Epoch: epochOfStep, Loss: lossSum / lossCount,
                        LearningRate: lr, Temperature: CurrentTemperature(), PairsPerSecond: pps));
                    lossSum = 0; lossCount = 0; intervalSeconds = 0; intervalPairs = 0;
                }
                if (_evaluator != null && ((_o.EvalEvery > 0 ? _stepDone % _o.EvalEvery == 0 : epochEnd) || last))
                    Evaluate(_stepDone, epochOfStep);
                if ((_o.CheckpointEvery > 0 ? _stepDone % _o.CheckpointEvery == 0 : epochEnd) || last || _stopped)
                    SaveCheckpoint();
            }
        }

        /// <summary>
        /// The hard-negative candidates for epochs from <paramref name="epoch"/> on, mined with the current towers at the start of that
        /// epoch, or read back from that refresh's file when resuming, so a resumed run samples what a straight one did.
        /// </summary>
        void RefreshNegatives(int epoch)
        {
            string path = Path.Combine(_work, DenseNegativesFolder, $"epoch-{epoch:D4}.json");
            Dictionary<string, IReadOnlyList<string>> candidates;
            if (File.Exists(path)) candidates = DenseNegativeMiner.Load(path, _corpus!);
            else
            {
                _progress?.Report(new TrainProgress("mine", 0, _supervised!.QueryCount, $"refreshing hard negatives with the model (epoch {epoch})", epoch));
                var sw = Stopwatch.StartNew();
                candidates = DenseNegativeMiner.Mine(_towers, _tokenizer, _corpus!, _supervised!, _o.HardNegativeDepth, _o.HardNegativeSkip,
                    _o.MaxQueryLength, _o.MaxDocumentLength, _o.QueryPrefix, _o.DocumentPrefix);
                DenseNegativeMiner.Save(path, epoch, candidates);
                Say($"epoch {epoch}: hard negatives of {candidates.Count:N0} queries re-mined with the model in {sw.Elapsed.TotalSeconds:F1} s");
            }
            _set.UseCandidates(candidates);
            _refreshedEpoch = epoch;
        }

        double? CurrentTemperature()
        {
            if (_o.Loss == LossKind.Triplet) return null;
            if (_logitScale is null) return _o.Temperature;
            return 1.0 / Math.Exp(_logitScale.item<float>());
        }

        /// <summary>Keeps the learnable temperature in [0.01, 1] (CLIP clamps its logit scale the same way).</summary>
        void ClampTemperature()
        {
            if (_logitScale is null) return;
            using (no_grad()) _logitScale.clamp_(0.0, Math.Log(100.0));
        }

        /// <summary>
        /// The hybrid fusion recorded in dual_encoder.json: --hybrid-alpha when given; with labels and BM25, the best setting on the
        /// dev queries at the best step (<see cref="DevScores.Recommend"/>: dense alone unless a fusion is clearly better); without
        /// labels, the --init encoder's own recommendation (nothing here can measure a better one), else min-max 0.1 (self-supervised)
        /// or 0.5 (supervised), the weights measured for encoders trained from scratch (README).
        /// </summary>
        (string Fusion, float Alpha, string Reason) HybridDefault()
        {
            if (_o.HybridAlpha is float given) return ("minmax", given, "--hybrid-alpha");
            if (_supervised != null && _bestDev?.Recommend() is { } r)
                return (r.Fusion, r.Alpha, $"best on {_evaluator!.QueryCount} dev queries: nDCG@10 {r.Ndcg:F4}, dense alone {_bestDev.DenseNdcg:F4}");
            if (_supervised == null && _initSettings is { HybridFusion: { } f })
                return (f, _initSettings.HybridAlpha ?? 0.5f, "the --init encoder's recommendation");
            return ("minmax", _supervised == null ? 0.1f : 0.5f, _supervised == null ? "self-supervised default" : "supervised default, no dev set with BM25");
        }

        /// <summary>The --init encoder's default search, in words (what the adaptation gate measures).</summary>
        string DescribeDefault() => _initSettings?.HybridFusion switch
        {
            "minmax" => $"hybrid, min-max with dense weight {_initSettings.HybridAlpha ?? MinMaxFusion.DefaultAlpha:0.0#}",
            _ => "hybrid, RRF",
        };

        void Evaluate(long step, int epoch)
        {
            var evaluator = _evaluator!;
            _progress?.Report(new TrainProgress("eval", step, _totalSteps, $"evaluating on {evaluator.QueryCount} dev queries", epoch));
            var scores = evaluator.Evaluate(_towers, _tokenizer, _o.MaxQueryLength, _o.MaxDocumentLength, _o.QueryPrefix, _o.DocumentPrefix);
            _curve.Add(new CurvePoint(step, epoch, DevNdcg: scores.DenseNdcg, DevHybridNdcg: scores.HybridNdcg));
            if (step == 0) _initialDev = scores;
            double metric = _adaptationGate ? scores.Default(_initSettings?.HybridFusion, _initSettings?.HybridAlpha) : scores.Get(_o.DevMetric);
            bool improved = _bestMetric is not double best || metric > best + (_adaptationGate ? AdaptationMargin : 0);
            if (improved)
            {
                _bestMetric = metric;
                _bestStep = step;
                _bestDev = scores;
                _evalsSinceBest = 0;
                string dir = Path.Combine(_work, BestFolder), tmp = dir + ".tmp";
                if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
                TrainingCheckpoint.SaveTowers(_towers, tmp);
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
                Directory.Move(tmp, dir);
            }
            else _evalsSinceBest++;
            if (_o.Patience > 0 && _evalsSinceBest >= _o.Patience && step > 0) _stopped = true;
            _progress?.Report(new TrainProgress("eval", step, _totalSteps,
                $"dev nDCG@10 dense {scores.DenseNdcg:F4}" + (scores.HybridNdcg is double h ? $", hybrid {h:F4}" : "") +
                (_adaptationGate ? $", default search {metric:F4}" : "") +
                (improved ? " (best)" : $" (best {_bestMetric:F4} at step {_bestStep})") + (_stopped ? $"; stopping early after {_o.Patience} evaluation(s) without improvement" : ""),
                epoch, Dev: scores));
        }

        void SaveCheckpoint()
        {
            var state = new TrainState
            {
                Step = _stepDone,
                Epoch = _epoch,
                BatchInEpoch = _batchInEpoch,
                TotalSteps = _totalSteps,
                Fingerprint = _fingerprint,
                Seed = _o.Seed,
                LogitScaleBits = _logitScale is null ? null : TrainState.FloatBits(_logitScale.item<float>()),
                BestMetric = _bestMetric,
                BestStep = _bestStep,
                EvalsSinceBest = _evalsSinceBest,
                StoppedEarly = _stopped,
                PairsSeen = _pairsSeen,
                TrainSeconds = _trainSeconds,
                Mlm = _mlm,
            };
            string dir = TrainingCheckpoint.Save(_work, _towers, _optimizer, state, _curve, _o.KeepCheckpoints);
            _curve.WriteCsv(Path.Combine(_work, TrainingCurve.CsvFile));
            _progress?.Report(new TrainProgress("checkpoint", _stepDone, _totalSteps, $"checkpoint {Path.GetFileName(dir)}", _epoch));
        }

        // ---------------------------------------------------------------- output

        TrainResult Finish()
        {
            _ct.ThrowIfCancellationRequested();
            string best = Path.Combine(_work, BestFolder);
            bool useBest = _evaluator != null && Directory.Exists(best);
            foreach (var stale in new[] { "query", "document" }.Select(d => Path.Combine(_work, d)))
                if (Directory.Exists(stale)) Directory.Delete(stale, true);
            if (useBest) RunFolders.CopyDirectory(best, _work);
            if (_adaptationGate)
                Say(_bestStep == 0
                    ? $"kept the --init encoder's weights: no evaluation beat them by {AdaptationMargin} nDCG@10 on the {_evaluator!.QueryCount} held-out pseudo-queries ({_bestMetric:F4})"
                    : $"the adapted weights of step {_bestStep} beat the --init encoder's on the {_evaluator!.QueryCount} held-out pseudo-queries: nDCG@10 {_initialDev?.Default(_initSettings?.HybridFusion, _initSettings?.HybridAlpha):F4} → {_bestMetric:F4}");
            else TrainingCheckpoint.SaveTowers(_towers, _work);
            if (_o.InitWeight is double w && w > 0)
            {
                Say($"interpolating the weights with the --init encoder's: {w:0.##} × init + {1 - w:0.##} × trained");
                WeightAveraging.Interpolate(_work, _o.InitPath!, w);
            }
            _tokenizer.Save(_work);
            string name = _o.Name ?? Path.GetFileName(_output);
            var (hybridFusion, hybridAlpha, hybridReason) = HybridDefault();
            Say($"hybrid default: {hybridFusion}{(hybridFusion == "minmax" ? $" {hybridAlpha:0.0#}" : "")} ({hybridReason})");
            new DualEncoderConfig
            {
                Name = name,
                Pooling = _pooling,
                Normalize = _normalize,
                MaxQueryLength = _o.MaxQueryLength,
                MaxDocumentLength = _o.MaxDocumentLength,
                Tied = _towers.Tied,
                QueryPrefix = _o.QueryPrefix,
                DocumentPrefix = _o.DocumentPrefix,
                HybridFusion = hybridFusion,
                HybridAlpha = hybridAlpha,
            }.Save(_work);
            _curve.WriteCsv(Path.Combine(_work, TrainingCurve.CsvFile));
            _curve.WritePng(Path.Combine(_work, TrainingCurve.PngFile));

            var result = new TrainResult
            {
                OutputPath = _output,
                Supervision = _supervision,
                TrainingExamples = _set.Count,
                TrainingQueries = _supervised?.QueryCount ?? _set.Count,
                DevQueries = _evaluator?.QueryCount ?? 0,
                DevDocuments = _evaluator?.DocumentCount ?? 0,
                ExcludedQueries = _supervised?.ExcludedQueries ?? 0,
                ExcludedQrels = _supervised?.ExcludedFrom ?? [],
                Steps = _stepDone,
                TotalSteps = _totalSteps,
                StepsPerEpoch = _stepsPerEpoch,
                StoppedEarly = _stopped,
                ResumedFromStep = _resumedFrom,
                FirstLoss = _firstLoss,
                LastLoss = _lastLoss,
                InitialDev = _initialDev,
                BestDev = _bestDev,
                BestStep = _evaluator != null ? _bestStep : null,
                SavedBest = useBest,
                KeptInit = _adaptationGate ? _bestStep == 0 : null,
                PairsPerSecond = _sessionSeconds > 0 ? _sessionPairs / _sessionSeconds : 0,
                TrainSeconds = _trainSeconds,
                FinalTemperature = CurrentTemperature(),
                Device = _device.ToString(),
                Precision = _compute == ScalarType.BFloat16 ? "bf16" : "fp32",
                Parameters = _towers.TrainableParameters().Sum(p => p.Parameter.numel()),
                Runtime = TorchRuntime.Describe(),
                Mlm = _mlm,
            };
            var summary = new JsonObject
            {
                ["result"] = JsonSerializer.SerializeToNode(result, TrainState.Json),
                ["options"] = JsonSerializer.SerializeToNode(_o, TrainState.Json),
                ["fingerprint"] = _fingerprint,
            };
            File.WriteAllText(Path.Combine(_work, SummaryFile), summary.ToJsonString(TrainState.Json) + "\n");

            _miner?.Dispose();
            _miner = null;
            foreach (var d in new[] { Bm25Folder, BestFolder, MaskedLmSnapshot.Folder })
                if (Directory.Exists(Path.Combine(_work, d))) Directory.Delete(Path.Combine(_work, d), true);

            RunFolders.SwapIntoPlace(_work, _output);
            _progress?.Report(new TrainProgress("done", _stepDone, _totalSteps, $"wrote {_output}"));
            return result;
        }

        // ---------------------------------------------------------------- identity

        /// <summary>SHA-256 of every setting and input that shapes the trajectory (not epochs/steps, evaluation cadence or device).</summary>
        string Fingerprint()
        {
            var o = _o;
            var parts = new JsonObject
            {
                ["model"] = o.InitPath != null ? "init:" + FilesHash(ModelFiles(o.InitPath)) : $"scratch:{o.Layers}/{o.Hidden}/{o.Heads}/{o.Ffn}/{o.MaxPositions}",
                ["tokenizer"] = $"{_tokenizer.VocabSize}:{(o.TokenizerPath != null ? FilesHash(TokenizerFiles(o.TokenizerPath)) : o.InitPath != null ? FilesHash(TokenizerFiles(o.InitPath)) : "bundled")}",
                ["untied"] = !_towers.Tied,
                ["pooling"] = _pooling.ToString(),
                ["normalize"] = _normalize,
                ["lengths"] = $"{o.MaxQueryLength}/{o.MaxDocumentLength}",
                ["prefixes"] = o.QueryPrefix + "\u0001" + o.DocumentPrefix,
                ["corpus"] = FileIdentity(o.CorpusPath),
                ["queries"] = FileIdentity(o.QueriesPath),
                ["qrels"] = FileIdentity(o.QrelsPath),
                ["pairs"] = FileIdentity(o.PairsPath),
                ["exclude"] = string.Join(",", (_supervised?.ExcludedFrom ?? []).Select(FileIdentity)),
                ["dev"] = FileIdentity(o.DevQueriesPath) + FileIdentity(o.DevQrelsPath) + $"/{o.DevFraction}/{o.DevMaxQueries}/{o.EvalDocuments}/{o.DevMetric}",
                ["self"] = _supervised == null ? o.SelfSupervision.ToString() : "",
                ["negatives"] = $"{_hardNegatives}/{o.HardNegativeDepth}/{o.HardNegativeSkip}" + (o.RefreshNegativesEvery > 0 ? $"/refresh {o.RefreshNegativesEvery}" : ""),
                ["loss"] = $"{o.Loss}/{o.Temperature.ToString("R", CultureInfo.InvariantCulture)}/{o.LearnTemperature}/{o.Symmetric}/{o.Margin.ToString("R", CultureInfo.InvariantCulture)}",
                ["batch"] = $"{o.BatchSize}/{o.ChunkSize}",
                ["optimizer"] = $"{o.EffectiveLearningRate.ToString("R", CultureInfo.InvariantCulture)}/{o.WarmupRatio.ToString("R", CultureInfo.InvariantCulture)}/{o.WarmupSteps}/{o.WeightDecay.ToString("R", CultureInfo.InvariantCulture)}/{o.ClipNorm.ToString("R", CultureInfo.InvariantCulture)}",
                ["seed"] = o.Seed,
                ["precision"] = _compute.ToString(),
            };
            // only with pretraining on, so that runs without it keep the fingerprints their checkpoints were made with
            if (o.MlmEpochs > 0)
                parts["mlm"] = $"{o.MlmEpochs}/{o.EffectiveMlmLearningRate.ToString("R", CultureInfo.InvariantCulture)}/{o.MlmBatchSize}/{o.MlmProbability.ToString("R", CultureInfo.InvariantCulture)}";
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(parts.ToJsonString())));
        }

        static IEnumerable<string> ModelFiles(string dir)
        {
            foreach (var d in new[] { dir, Path.Combine(dir, "query"), Path.Combine(dir, "document") })
            {
                string config = Path.Combine(d, BertCheckpoint.ConfigFile);
                if (!File.Exists(config)) continue;
                yield return config;
                foreach (var f in BertCheckpoint.WeightFiles(d)) yield return f;
            }
        }

        static IEnumerable<string> TokenizerFiles(string dir) =>
            new[] { "vocab.txt", "tokenizer.json", "tokenizer_config.json" }.Select(f => Path.Combine(dir, f)).Where(File.Exists);

        static string FilesHash(IEnumerable<string> files) => TextEncoder.Sha256Files(files)[..16];

        static string FileIdentity(string? path) => RunFolders.FileIdentity(path);

        public void Dispose()
        {
            _miner?.Dispose();
            _optimizer?.Dispose();
            _logitScale?.Dispose();
            _towers?.Dispose();
        }
    }
}
