using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using DeepSeek.Search.Training;
using DeepSeek.Search.Torch.SafeTensors;
using DeepSeek.Search.Torch;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// Trains a DeepSeek-V3 mixture-of-experts causal LM from scratch on a corpus (<c>dss train-lm</c>) and writes a Hugging Face
/// DeepseekV3ForCausalLM folder that <see cref="DeepSeekModel.Load"/>, <c>dss generate</c> and transformers' <c>from_pretrained</c> load:
/// config.json (5.x style), model.safetensors (float32, per-expert layout, correction biases included), generation_config.json,
/// tokenizer.json + tokenizer_config.json, plus training_curve.csv/.png, train_lm.json and the last resumable checkpoint under
/// checkpoints/.
/// <para>
/// Data: the corpus's documents (<see cref="LmCorpus"/>) are tokenised by the given tokenizer or by a byte-level BPE trained on them
/// (<see cref="BpeTrainer"/>), joined with EOS and packed into <see cref="LmTrainOptions.SeqLen"/> blocks; a deterministic slice is held
/// out for validation (<see cref="PackedBlocks"/>). Each epoch visits the training blocks in an order drawn from (seed, epoch).
/// </para>
/// <para>
/// Each step: a batch of blocks → the causal-LM cross-entropy (logits shifted, in float32, averaged over the predicted tokens) plus the
/// optional sequence-wise balance loss → backward → global-norm clipping → AdamW (weight decay on matrices only) at the scheduled rate
/// (linear warmup, cosine or linear decay to a floor) → DeepSeek-V3's auxiliary-loss-free bias update on every MoE layer from the step's
/// tokens per expert (<see cref="BiasBalancer"/>). fp32 on the CPU; bf16 compute with fp32 master weights on CUDA (<see cref="LmWeights"/>).
/// </para>
/// <para>
/// Like dss train, the run works in <c>OUT.partial</c> and renames it to OUT only when it succeeds (an existing OUT is replaced only
/// with <see cref="LmTrainOptions.Overwrite"/>, and only then); a failed or cancelled run keeps its checkpoints for
/// <see cref="LmTrainOptions.Resume"/>. On the CPU a resumed run is bit-identical to a straight one: the batch order is a function of
/// (seed, epoch), the model has no dropout, and checkpoints hold the exact float32 weights, correction biases, AdamW moments and steps.
/// </para>
/// </summary>
public static class LmTrainer
{
    public const string PartialSuffix = RunFolders.PartialSuffix, SummaryFile = "train_lm.json";
    const long ShuffleStream = 0x4C4D; // "LM"

    public static LmTrainResult Train(LmTrainOptions options, IProgress<ProgressEvent>? progress = null, CancellationToken cancellation = default) =>
        Train(options, progress, onFinished: null, cancellation);

    /// <summary>As the public overload; <paramref name="onFinished"/> sees the trained (master) model once it is saved, before it is disposed.</summary>
    internal static LmTrainResult Train(LmTrainOptions options, IProgress<ProgressEvent>? progress, Action<DeepSeekModel>? onFinished,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (output, work) = RunFolders.Of(options.OutputPath);
        var (fresh, extending) = RunFolders.Prepare(output, work, options.Resume, options.Overwrite, w => Checkpoints.List(w).Count > 0);
        try
        {
            using var run = new Run(options, output, work, extending, progress, onFinished, cancellation);
            return run.Execute();
        }
        catch
        {
            // failed before a checkpoint of its own: nothing to resume, so leave nothing behind
            RunFolders.DiscardIfNothingNew(work, fresh, extending, output);
            throw;
        }
    }

    /// <summary>The causal-LM loss: CE(logits[:, :-1].float(), ids[:, 1:]), mean (or sum) over the predicted tokens.</summary>
    internal static Tensor CausalLmLoss(Tensor logits, Tensor ids, bool sum = false)
    {
        long b = logits.shape[0], t = logits.shape[1], v = logits.shape[2];
        var predicted = logits.narrow(1, 0, t - 1).to(ScalarType.Float32).reshape(b * (t - 1), v);
        var labels = ids.narrow(1, 1, t - 1).reshape(b * (t - 1)).to(logits.device);
        return F.cross_entropy(predicted, labels, ignore_index: -100, reduction: sum ? nn.Reduction.Sum : nn.Reduction.Mean);
    }

    /// <summary>All the state of one run.</summary>
    sealed class Run : IDisposable
    {
        readonly LmTrainOptions _o;
        readonly string _output, _work;
        readonly bool _extending;
        readonly IProgress<ProgressEvent>? _progress;
        readonly CancellationToken _ct;
        readonly Action<DeepSeekModel>? _onFinished;

        TrainingRuntime _runtime = null!; // set in Execute (touching torch earlier would load the bundled libtorch first)
        ByteLevelBpeTokenizer _tokenizer = null!;
        bool _trainedTokenizer;
        PackedBlocks _blocks = null!;
        DeepSeekConfig _config = null!;
        LmWeights _weights = null!;
        AdamW _optimizer = null!;
        List<Parameter> _parameters = null!;
        MoeBalanceObserver _observer = null!;
        LmTrainingCurve _curve = new();
        string _fingerprint = "";

        RunPosition _at = null!; // step, data position, schedule length, time, first/last loss
        long _tokensSeen;
        int _batch;
        double? _initialValidation, _finalValidation;
        IReadOnlyList<ExpertLoad> _finalLoads = [];

        public Run(LmTrainOptions o, string output, string work, bool extending, IProgress<ProgressEvent>? progress,
            Action<DeepSeekModel>? onFinished, CancellationToken ct)
        {
            _onFinished = onFinished;
            _o = o;
            _output = output;
            _work = work;
            _extending = extending;
            _progress = progress;
            _ct = ct;
        }

        void Say(string message) => _progress?.Report(new ProgressNote(message));

        public LmTrainResult Execute()
        {
            _runtime = TrainingRuntime.Start(_o.Device, _o.Threads, _o.Precision);
            var checkpoint = _o.Resume && Checkpoints.List(_work) is { Count: > 0 } saved ? saved[^1] : default;

            LoadData(resuming: checkpoint.Path != null);
            _ct.ThrowIfCancellationRequested();
            _config = _o.ModelConfig(_tokenizer.VocabSize, _tokenizer.BosTokenId, _tokenizer.EosTokenId, _tokenizer.PadTokenId);
            _fingerprint = Fingerprint();
            _batch = Math.Min(_o.BatchSize, _blocks.Train.Count);
            _at = RunPosition.Plan(_blocks.Train.Count, _o.BatchSize, _o.MaxSteps, _o.Epochs);
            LmTrainState? state = null;
            if (checkpoint.Path != null) state = CheckState(checkpoint.Path);

            BuildModel(checkpoint.Path);
            BuildOptimizer();
            if (checkpoint.Path != null) Restore(checkpoint.Path, state!);
            else
            {
                var (loss, loads) = Evaluate();
                _initialValidation = loss;
                RecordValidation(0, loss, loads);
            }
            Loop();
            return Finish();
        }

        // ---------------------------------------------------------------- data

        void LoadData(bool resuming)
        {
            Say($"reading corpus {_o.CorpusPath}");
            var texts = LmCorpus.ReadTexts(_o.CorpusPath);
            if (texts.Count == 0) throw new InvalidInputException($"the corpus {_o.CorpusPath} holds no text (no non-empty documents)");
            string tokenizerFile = Path.Combine(_work, ByteLevelBpeTokenizer.TokenizerFile);
            if (resuming)
            {
                if (!File.Exists(tokenizerFile)) throw new CheckpointException($"{_work}: the run's {ByteLevelBpeTokenizer.TokenizerFile} is missing; cannot resume");
                _tokenizer = ByteLevelBpeTokenizer.Load(_work);
                _trainedTokenizer = _o.TokenizerPath == null;
            }
            else if (_o.TokenizerPath != null)
            {
                _tokenizer = ByteLevelBpeTokenizer.Load(_o.TokenizerPath);
                foreach (var name in new[] { ByteLevelBpeTokenizer.TokenizerFile, ByteLevelBpeTokenizer.TokenizerConfigFile, "special_tokens_map.json" })
                {
                    string from = Path.Combine(_o.TokenizerPath, name);
                    if (File.Exists(from)) File.Copy(from, Path.Combine(_work, name), overwrite: true);
                }
                Say($"tokenizer {_o.TokenizerPath}: {_tokenizer.VocabSize:N0} ids");
            }
            else
            {
                Say($"training a byte-level BPE of {_o.VocabSize:N0} ids on {texts.Count:N0} documents");
                var trained = BpeTrainer.Train(texts, _o.VocabSize, _o.SeqLen, _ct);
                trained.Save(_work);
                _tokenizer = ByteLevelBpeTokenizer.Load(_work);
                _trainedTokenizer = true;
                Say($"tokenizer: {trained.VocabSize:N0} ids ({trained.Merges:N0} merges from {trained.UniqueWords:N0} distinct words)" +
                    (trained.VocabSize < _o.VocabSize ? $"; the corpus supports no more than {trained.VocabSize:N0}" : ""));
            }
            _blocks = PackedBlocks.Build(texts, _tokenizer, _o.SeqLen, _o.ValidationFraction, _ct);
            Say($"corpus: {_blocks.Documents:N0} documents, {_blocks.Tokens:N0} tokens in {_blocks.BlockCount:N0} blocks of {_o.SeqLen} " +
                $"({_blocks.Train.Count:N0} train, {_blocks.Validation.Count:N0} validation)");
        }

        Tensor BatchTensor(IEnumerable<int> blockIndices)
        {
            var ids = new List<long>();
            int rows = 0;
            foreach (int b in blockIndices) { _blocks.CopyBlock(b, ids); rows++; }
            return tensor(ids.ToArray(), new long[] { rows, _o.SeqLen }, ScalarType.Int64).to(_runtime.Device);
        }

        int[] Order(int epoch)
        {
            var order = _blocks.Train.ToArray();
            var rng = Seeds.At(_o.Seed, ShuffleStream, epoch, 0);
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            return order;
        }

        // ---------------------------------------------------------------- model

        void BuildModel(string? checkpointDir)
        {
            DeepSeekModel model;
            if (checkpointDir != null)
            {
                model = DeepSeekCheckpoint.Load(checkpointDir, new DeepSeekModelOptions { Device = _o.Device, DType = ScalarType.Float32 });
                if (model.Config.VocabSize != _config.VocabSize || model.Config.NumHiddenLayers != _config.NumHiddenLayers)
                {
                    model.Dispose();
                    throw new CheckpointException($"{checkpointDir}: the checkpoint's model does not match the settings");
                }
            }
            else
            {
                model = DeepSeekModel.Create(_config, new DeepSeekModelOptions { Device = _o.Device, DType = ScalarType.Float32, Seed = _o.Seed });
                long total = model.parameters().Sum(p => p.numel());
                Say($"new model: {_config.NumHiddenLayers} layers ({_config.FirstKDenseReplace} dense), hidden {_config.HiddenSize}, {_config.NumAttentionHeads} heads, " +
                    $"{_config.NRoutedExperts} routed experts top-{_config.NumExpertsPerTok} + {_config.NSharedExperts} shared, vocabulary {_config.VocabSize:N0}: {total:N0} parameters");
            }
            try
            {
                model.train();
                _weights = new LmWeights(model, _runtime.Compute);
            }
            catch
            {
                model.Dispose();
                throw;
            }
            _observer = new MoeBalanceObserver(_config, _o.SeqAuxLoss);
        }

        void BuildOptimizer()
        {
            var decay = new List<Parameter>();
            var noDecay = new List<Parameter>();
            foreach (var (_, p) in _weights.Parameters) (p.dim() >= 2 ? decay : noDecay).Add(p);
            _parameters = decay.Concat(noDecay).ToList();
            var groups = new List<AdamW.ParamGroup>
            {
                new(decay, new AdamW.Options { weight_decay = _o.WeightDecay }),
                new(noDecay, new AdamW.Options { weight_decay = 0 }),
            };
            _optimizer = optim.AdamW(groups, _o.LearningRate, beta1: _o.Beta1, beta2: _o.Beta2, eps: 1e-8, weight_decay: _o.WeightDecay);
        }

        LmTrainState CheckState(string checkpointDir)
        {
            var state = Checkpoints.ReadState<LmTrainState>(checkpointDir, LmTrainState.Json, LmTrainState.CurrentFormat);
            state.CheckResumable(checkpointDir, _fingerprint, _at.TotalSteps, _extending,
                "corpus, tokenizer, model size, batch, learning rate, balancing or seed differ", Say);
            return state;
        }

        void Restore(string checkpointDir, LmTrainState state)
        {
            Checkpoints.LoadOptimizer(_optimizer, checkpointDir);
            _weights.MasterToWorking();
            _curve = LmTrainingCurve.ReadCsv(Path.Combine(checkpointDir, LmTrainingCurve.CsvFile));
            _curve.TruncateAfter(state.Step);
            _at.Restore(state, _curve.Points.Select(p => p.Loss));
            _tokensSeen = state.TokensSeen;
            var validation = _curve.Points.Where(p => p.ValidationLoss is not null).ToList();
            if (validation.Count > 0 && validation[0].Step == 0) _initialValidation = validation[0].ValidationLoss;
            Say($"resumed from step {state.Step} of {_at.TotalSteps}");
        }

        // ---------------------------------------------------------------- loop

        double LearningRate(long step)
        {
            long total = _at.TotalSteps, warmup = LearningRateSchedule.WarmupSteps(total, _o.WarmupRatio, _o.WarmupSteps);
            double peak = _o.LearningRate, floor = peak * _o.MinLearningRateRatio;
            return _o.Schedule switch
            {
                LmSchedule.Cosine => LearningRateSchedule.Cosine(step, total, warmup, peak, floor),
                LmSchedule.Linear => LearningRateSchedule.At(step, total, warmup, peak, floor),
                _ => step < warmup ? peak * (step + 1) / warmup : peak,
            };
        }

        void Loop()
        {
            double lossSum = 0, auxSum = 0, intervalSeconds = 0, lastNorm = 0;
            int lossCount = 0;
            long intervalTokens = 0;
            var intervalCounts = new SortedDictionary<int, long[]>();
            int[]? order = null;
            int orderEpoch = -1;
            if (!_at.Finished)
                Say($"training {_at.TotalSteps - _at.Step:N0} step(s) of {_batch} × {_o.SeqLen} tokens on {_runtime.DeviceKind} " +
                    $"({(_runtime.BFloat16 ? "bf16, fp32 master weights" : "fp32")}), {_at.StepsPerEpoch:N0} steps per epoch");

            while (!_at.Finished)
            {
                _ct.ThrowIfCancellationRequested();
                if (orderEpoch != _at.Epoch) { order = Order(_at.Epoch); orderEpoch = _at.Epoch; }
                long started = Stopwatch.GetTimestamp();
                double lr = LearningRate(_at.Step);
                foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;

                double loss, aux = 0;
                using (var scope = NewDisposeScope())
                {
                    var ids = BatchTensor(order!.Skip(_at.BatchInEpoch * _batch).Take(_batch));
                    _observer.ResetCounts();
                    _observer.Sequences = ids.shape[0];
                    var logits = _weights.Compute.Forward(ids, _observer);
                    var ce = CausalLmLoss(logits, ids);
                    var balance = _observer.TakeLoss();
                    var total = balance is null ? ce : ce + balance;
                    total.backward();
                    loss = ce.item<float>();
                    if (balance is not null) aux = balance.item<float>();
                    if (!double.IsFinite(loss) || !double.IsFinite(aux))
                        throw new SearchException($"the loss became {loss + aux} at step {_at.Step + 1}; lower --lr (now {_o.LearningRate:G3})");
                    _weights.GradientsToMaster();
                    lastNorm = nn.utils.clip_grad_norm_(_parameters, _o.ClipNorm > 0 ? _o.ClipNorm : double.PositiveInfinity);
                    _optimizer.step();
                    _optimizer.zero_grad();
                    BiasBalancer.Update(_weights.Master, _observer.Counts, _o.BiasUpdateSpeed);
                    _weights.MasterToWorking();
                }
                foreach (var (layer, c) in _observer.Counts)
                {
                    if (!intervalCounts.TryGetValue(layer, out var acc)) intervalCounts[layer] = acc = new long[c.Length];
                    for (int e = 0; e < c.Length; e++) acc[e] += c[e];
                }

                long tokens = (long)_batch * _o.SeqLen;
                _tokensSeen += tokens;
                double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                _at.Advance(seconds, tokens, loss);
                intervalSeconds += seconds;
                intervalTokens += tokens;
                lossSum += loss;
                auxSum += aux;
                lossCount++;
                long step = _at.Step;
                bool last = _at.AtLast;

                if (step % _o.LogEvery == 0 || last)
                {
                    double tps = intervalSeconds > 0 ? intervalTokens / intervalSeconds : 0;
                    var loads = intervalCounts.Select(kv => new ExpertLoad(kv.Key, kv.Value)).ToList();
                    double? auxMean = _o.SeqAuxLoss > 0 ? auxSum / lossCount : null;
                    _curve.Add(new LmCurvePoint(step, _tokensSeen, lossSum / lossCount, auxMean, lr, lastNorm, tps,
                        loads.Count > 0 ? loads.Max(l => l.MaxOverMean) : null, loads.Count > 0 ? loads.Sum(l => l.Idle) : null));
                    _progress?.Report(new LmStepProgress(step, _at.TotalSteps, lossSum / lossCount, auxMean, lr, tps, loads));
                    lossSum = auxSum = intervalSeconds = 0;
                    lossCount = 0;
                    intervalTokens = 0;
                    intervalCounts = new SortedDictionary<int, long[]>();
                }
                if ((_o.EvalEvery > 0 && step % _o.EvalEvery == 0) || last)
                {
                    var (val, loads) = Evaluate();
                    RecordValidation(step, val, loads);
                    if (last) { _finalValidation = val; _finalLoads = loads; }
                }
                if ((_o.CheckpointEvery > 0 && step % _o.CheckpointEvery == 0) || last) SaveCheckpoint();
            }
        }

        /// <summary>Validation cross-entropy over the held-out blocks (at most ValidationMaxBlocks) and the expert load of that pass.</summary>
        (double? Loss, IReadOnlyList<ExpertLoad> Loads) Evaluate()
        {
            var blocks = _blocks.Validation.Take(_o.ValidationMaxBlocks > 0 ? _o.ValidationMaxBlocks : int.MaxValue).ToList();
            if (blocks.Count == 0) return (null, []);
            using var observer = new MoeBalanceObserver(_config, 0);
            double sum = 0;
            long count = 0;
            using (no_grad())
            {
                for (int i = 0; i < blocks.Count; i += _o.BatchSize)
                {
                    _ct.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    var ids = BatchTensor(blocks.Skip(i).Take(_o.BatchSize));
                    observer.Sequences = ids.shape[0];
                    var logits = _weights.Compute.Forward(ids, observer);
                    sum += CausalLmLoss(logits, ids, sum: true).item<float>();
                    count += ids.shape[0] * (ids.shape[1] - 1);
                }
            }
            return (sum / count, observer.Loads);
        }

        void RecordValidation(long step, double? loss, IReadOnlyList<ExpertLoad> loads)
        {
            if (loss is null) return;
            _curve.Add(new LmCurvePoint(step, _tokensSeen, MaxLoad: loads.Count > 0 ? loads.Max(l => l.MaxOverMean) : null,
                IdleExperts: loads.Count > 0 ? loads.Sum(l => l.Idle) : null, ValidationLoss: loss));
            _progress?.Report(new LmValidationProgress(step, _at.TotalSteps, loss.Value, loads));
        }

        void SaveCheckpoint()
        {
            var state = _at.Stamp(new LmTrainState { TokensSeen = _tokensSeen }, _fingerprint, _o.Seed);
            string final = Checkpoints.Save(_work, _at.Step, _o.KeepCheckpoints, tmp =>
            {
                DeepSeekCheckpoint.Save(_weights.Master, tmp, new DeepSeekSaveOptions { ExpertLayout = ExpertLayout.Fused, DType = SafeTensorsDType.F32 });
                Checkpoints.SaveOptimizer(_optimizer, tmp);
                _curve.WriteCsv(Path.Combine(tmp, LmTrainingCurve.CsvFile));
                Checkpoints.WriteState(tmp, state, LmTrainState.Json);
            });
            _curve.WriteCsv(Path.Combine(_work, LmTrainingCurve.CsvFile));
            _progress?.Report(new LmCheckpointProgress(_at.Step, _at.TotalSteps, Path.GetFileName(final)));
        }

        // ---------------------------------------------------------------- output

        LmTrainResult Finish()
        {
            _ct.ThrowIfCancellationRequested();
            if (_finalValidation is null && _blocks.Validation.Count > 0)
            {
                // resumed at the end: the last step's evaluation ran before the interruption
                var (val, loads) = Evaluate();
                _finalValidation = val;
                _finalLoads = loads;
            }
            DeepSeekCheckpoint.Save(_weights.Master, _work, new DeepSeekSaveOptions { ExpertLayout = ExpertLayout.PerExpert, DType = SafeTensorsDType.F32 });
            _curve.WriteCsv(Path.Combine(_work, LmTrainingCurve.CsvFile));
            _curve.WritePng(Path.Combine(_work, LmTrainingCurve.PngFile));
            _onFinished?.Invoke(_weights.Master);

            var result = new LmTrainResult
            {
                OutputPath = _output,
                Documents = _blocks.Documents,
                Tokens = _blocks.Tokens,
                TrainBlocks = _blocks.Train.Count,
                ValidationBlocks = _blocks.Validation.Count,
                SeqLen = _o.SeqLen,
                VocabSize = _config.VocabSize,
                TrainedTokenizer = _trainedTokenizer,
                Steps = _at.Step,
                TotalSteps = _at.TotalSteps,
                StepsPerEpoch = _at.StepsPerEpoch,
                ResumedFromStep = _at.ResumedFrom,
                FirstLoss = _at.FirstLoss,
                LastLoss = _at.LastLoss,
                InitialValidationLoss = _initialValidation,
                FinalValidationLoss = _finalValidation,
                FinalValidationLoads = _finalLoads,
                TokensPerSecond = _at.SessionRate,
                TrainSeconds = _at.TrainSeconds,
                Device = _runtime.Device.ToString(),
                Precision = _runtime.PrecisionName,
                Parameters = _weights.Parameters.Sum(p => p.Parameter.numel()),
                Runtime = TorchRuntime.Describe(),
            };
            var summary = new JsonObject
            {
                ["result"] = JsonSerializer.SerializeToNode(result, LmTrainState.Json),
                ["options"] = JsonSerializer.SerializeToNode(_o, LmTrainState.Json),
                ["fingerprint"] = _fingerprint,
            };
            AtomicFile.WriteAllText(Path.Combine(_work, SummaryFile), summary.ToJsonString(LmTrainState.Json) + "\n");

            RunFolders.SwapIntoPlace(_work, _output);
            _progress?.Report(new ProgressNote($"wrote {_output}"));
            return result;
        }

        // ---------------------------------------------------------------- identity

        /// <summary>SHA-256 of every setting and input that shapes the trajectory (not the step count, reporting cadence or device).</summary>
        string Fingerprint()
        {
            var settings = _o with
            {
                CorpusPath = RunFingerprint.FileIdentity(_o.CorpusPath),
                OutputPath = "",
                TokenizerPath = _o.TokenizerPath == null ? null : "given",
                Epochs = 1,
                MaxSteps = 0,
                Device = "",
                Threads = null,
                LogEvery = 1,
                EvalEvery = 0,
                ValidationMaxBlocks = 0,
                CheckpointEvery = 0,
                KeepCheckpoints = 1,
                Resume = false,
                Overwrite = false,
                Precision = TrainingPrecision.Auto,
            };
            var parts = new JsonObject
            {
                ["settings"] = JsonSerializer.SerializeToNode(settings, LmTrainState.Json),
                ["tokenizer"] = RunFingerprint.Sha256(File.ReadAllBytes(Path.Combine(_work, ByteLevelBpeTokenizer.TokenizerFile))),
                ["precision"] = _runtime.Compute.ToString(),
            };
            return RunFingerprint.Of(parts);
        }

        public void Dispose()
        {
            _observer?.Dispose();
            _optimizer?.Dispose();
            _weights?.Dispose();
        }
    }
}
