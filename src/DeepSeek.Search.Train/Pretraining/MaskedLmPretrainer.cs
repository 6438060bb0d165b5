using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Text.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Pretraining;

/// <summary>Settings of masked-LM pretraining (<c>--mlm-*</c>; the rest follow the contrastive phase's options).</summary>
public sealed record MaskedLmOptions
{
    public int Epochs { get; init; } = 1;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 5e-4;

    /// <summary>Sequences per optimizer step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Share of the non-special tokens of a sequence that are predicted.</summary>
    public double Probability { get; init; } = 0.15;

    /// <summary>Linear warmup as a fraction of the pretraining steps, then linear decay to 0.</summary>
    public double WarmupRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Global L2 norm clipping; 0 = off.</summary>
    public double ClipNorm { get; init; } = 1.0;
    public long Seed { get; init; } = 42;

    /// <summary>Report progress and add a curve row every N steps (and at each epoch's end).</summary>
    public int LogEvery { get; init; } = 10;
}

/// <summary>What masked-LM pretraining did (in <c>train.json</c> under <c>result.mlm</c>, and in checkpoints).</summary>
public sealed record MaskedLmSummary
{
    public int Epochs { get; init; }
    public int Documents { get; init; }
    public int Sequences { get; init; }
    public long Tokens { get; init; }
    public int MaxLength { get; init; }
    public long Steps { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    public double Probability { get; init; }

    /// <summary>Loss averaged over the first and over the last logging interval.</summary>
    public double FirstLoss { get; init; }
    public double LastLoss { get; init; }

    /// <summary>Share of the predicted tokens the model got right, over the last logging interval.</summary>
    public double LastAccuracy { get; init; }

    /// <summary>"init" when the head came from the --init checkpoint's <c>cls.predictions.*</c>, else "new".</summary>
    public string Head { get; init; } = "new";

    /// <summary>"tied" (the one shared model), or "document→query" (the document tower was pretrained, then copied into the query tower).</summary>
    public string Towers { get; init; } = "tied";
    public double Seconds { get; init; }
    public double SequencesPerSecond { get; init; }
}

/// <summary>One row of <c>mlm_curve.csv</c>: loss and accuracy at the predicted positions, averaged since the previous row.</summary>
public sealed record MlmCurvePoint(long Step, int Epoch, double Loss, double Accuracy, double LearningRate, double GradNorm, double SequencesPerSecond);

/// <summary>
/// Masked-LM pretraining of the document tower before contrastive training (BERT's objective, <see cref="MlmMasker"/>), over
/// <see cref="MlmSequences"/> of the corpus. It trains the towers' fp32 master weights in place, on their device and precision (with
/// bf16 compute the passes run on the bf16 working copy, whose gradients go to the masters as in contrastive training; the head and
/// the loss stay float32), with a <see cref="BertMlmHead"/> whose decoder is tied to the word embeddings, AdamW (weight decay off for
/// biases and LayerNorm), linear warmup then linear decay (<see cref="LearningRateSchedule"/>) and global-norm clipping. With untied
/// towers the document tower is pretrained and then copied into the query tower, so both start contrastive training from the same
/// pretrained weights (as without pretraining they start from the same initial ones). The head is discarded afterwards.
/// <para>
/// Batch order (per epoch) and masks (per epoch and sequence) come from <see cref="Seeds"/> streams and the model has no dropout, so a
/// run is reproducible; the logits are computed only at the predicted positions (the head acts per position, so this is the same loss).
/// </para>
/// </summary>
public sealed class MaskedLmPretrainer : IDisposable
{
    public const string CurveFile = "mlm_curve.csv";
    const int OrderStream = 0x3A5B, HeadStream = 0x3A5D;
    const string WordEmbeddings = "embeddings.word_embeddings.weight";

    readonly DualTowers _towers;
    readonly BertTokenizer _tokenizer;
    readonly MaskedLmOptions _o;
    readonly BertMlmHead _head;
    readonly List<MlmCurvePoint> _curve = new();

    /// <param name="headFrom">A Hugging Face folder whose BertForMaskedLM head (<c>cls.predictions.*</c>), if it has one, starts the head.</param>
    public MaskedLmPretrainer(DualTowers towers, BertTokenizer tokenizer, MaskedLmOptions options, string? headFrom = null)
    {
        ArgumentNullException.ThrowIfNull(towers);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1) throw new InvalidInputException($"--mlm-epochs must be positive to pretrain (got {options.Epochs})");
        if (options.BatchSize < 1) throw new InvalidInputException($"--mlm-batch-size must be positive (got {options.BatchSize})");
        if (!(options.LearningRate > 0)) throw new InvalidInputException($"--mlm-lr must be positive (got {options.LearningRate})");
        if (options.LogEvery < 1) throw new InvalidInputException($"--log-every must be positive (got {options.LogEvery})");
        _towers = towers;
        _tokenizer = tokenizer;
        _o = options;
        Masker = new MlmMasker(tokenizer, options.Probability, options.Seed);
        _head = new BertMlmHead(towers.Document.Config, Seeds.Mix(options.Seed, HeadStream, 0));
        HeadFromCheckpoint = headFrom != null && _head.TryLoad(headFrom);
        _head.to(towers.Device);
    }

    public MlmMasker Masker { get; }

    /// <summary>Whether the head started from a checkpoint's <c>cls.predictions.*</c> rather than from fresh weights.</summary>
    public bool HeadFromCheckpoint { get; }

    public IReadOnlyList<MlmCurvePoint> Curve => _curve;

    /// <summary>The order sequences are visited in during <paramref name="epoch"/>.</summary>
    public int[] Order(int count, int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        Seeds.At(_o.Seed, OrderStream, epoch, 0).Shuffle(order);
        return order;
    }

    /// <summary>Runs every epoch; reports a <see cref="MaskedLmStepProgress"/> per logged step.</summary>
    public MaskedLmSummary Train(MlmSequences sequences, IProgress<ProgressEvent>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int n = sequences.Count;
        if (n == 0) throw new InvalidInputException("the corpus has no text to pretrain on");
        int batch = Math.Min(_o.BatchSize, n);
        int stepsPerEpoch = (n + batch - 1) / batch;
        long total = (long)_o.Epochs * stepsPerEpoch;
        long warmup = LearningRateSchedule.WarmupSteps(total, _o.WarmupRatio, null);

        var model = _towers.DocumentWorking;
        var words = model.named_parameters().First(p => p.name == WordEmbeddings).parameter;
        var masters = _towers.DocumentParameters().ToList();
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in masters.Concat(_head.HfParameters()))
            (name.EndsWith("bias", StringComparison.Ordinal) || name.Contains("LayerNorm", StringComparison.Ordinal) ? noDecay : decay).Add(p);
        var clipped = decay.Concat(noDecay).ToList();
        using var optimizer = optim.AdamW(new List<AdamW.ParamGroup>
        {
            new(decay, new AdamW.Options { weight_decay = _o.WeightDecay }),
            new(noDecay, new AdamW.Options { weight_decay = 0 }),
        }, _o.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: _o.WeightDecay);
        optimizer.zero_grad();

        long step = 0;
        double seconds = 0, lossSum = 0, accuracySum = 0, intervalSeconds = 0, lastNorm = 0;
        int count = 0, intervalSequences = 0;
        for (int epoch = 0; epoch < _o.Epochs; epoch++)
        {
            var order = Order(n, epoch);
            for (int b = 0; b < stepsPerEpoch; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                long started = Stopwatch.GetTimestamp();
                var indices = order.AsSpan(b * batch, Math.Min(batch, n - b * batch)).ToArray();
                double lr = LearningRateSchedule.At(step, total, warmup, _o.LearningRate);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                var (loss, accuracy) = Step(model, words, sequences, epoch, indices);
                if (!double.IsFinite(loss))
                    throw new SearchException($"the masked-LM loss became {loss} at step {step + 1}; lower --mlm-lr (now {_o.LearningRate:G3})");
                lastNorm = nn.utils.clip_grad_norm_(clipped, _o.ClipNorm > 0 ? _o.ClipNorm : double.PositiveInfinity);
                optimizer.step();
                optimizer.zero_grad();
                _towers.MasterToWorking();

                step++;
                double s = Stopwatch.GetElapsedTime(started).TotalSeconds;
                seconds += s;
                intervalSeconds += s;
                intervalSequences += indices.Length;
                lossSum += loss;
                accuracySum += accuracy;
                count++;
                bool epochEnd = b + 1 == stepsPerEpoch;
                if (step % _o.LogEvery == 0 || epochEnd)
                {
                    double sps = intervalSeconds > 0 ? intervalSequences / intervalSeconds : 0;
                    _curve.Add(new MlmCurvePoint(step, epoch, lossSum / count, accuracySum / count, lr, lastNorm, sps));
                    progress?.Report(new MaskedLmStepProgress(step, total, epoch, lossSum / count, lr, sps));
                    lossSum = accuracySum = intervalSeconds = 0;
                    count = intervalSequences = 0;
                }
            }
        }

        if (!_towers.Tied) _towers.CopyDocumentIntoQuery();
        return new MaskedLmSummary
        {
            Epochs = _o.Epochs,
            Documents = sequences.Documents,
            Sequences = n,
            Tokens = sequences.Tokens,
            MaxLength = sequences.MaxLength,
            Steps = step,
            BatchSize = batch,
            LearningRate = _o.LearningRate,
            Probability = _o.Probability,
            FirstLoss = _curve[0].Loss,
            LastLoss = _curve[^1].Loss,
            LastAccuracy = _curve[^1].Accuracy,
            Head = HeadFromCheckpoint ? "init" : "new",
            Towers = _towers.Tied ? "tied" : "document→query",
            Seconds = seconds,
            SequencesPerSecond = seconds > 0 ? (double)n * _o.Epochs / seconds : 0,
        };
    }

    /// <summary>Forward + backward of one batch; the gradients end in the master parameters. Returns (loss, accuracy).</summary>
    (double Loss, double Accuracy) Step(BertModel model, Parameter words, MlmSequences sequences, int epoch, int[] indices)
    {
        using var scope = NewDisposeScope();
        var masked = indices.Select(i => Masker.Mask(sequences.InputIds(i, _tokenizer), epoch, i)).ToArray();
        int rows = masked.Length, seq = masked.Max(m => m.InputIds.Length);
        var ids = new long[rows * seq];
        var attention = new long[rows * seq];
        var positions = new List<long>();
        var labels = new List<long>();
        for (int r = 0; r < rows; r++)
        {
            var m = masked[r];
            for (int t = 0; t < seq; t++)
            {
                bool real = t < m.InputIds.Length;
                ids[r * seq + t] = real ? m.InputIds[t] : _tokenizer.PadId;
                attention[r * seq + t] = real ? 1 : 0;
            }
            foreach (int p in m.Positions) positions.Add((long)r * seq + p);
            labels.AddRange(m.Labels.Select(l => (long)l));
        }
        var device = _towers.Device;
        var shape = new long[] { rows, seq };
        var hidden = model.Forward(tensor(ids, shape).to(device), tensor(attention, shape).to(device)).LastHiddenState;
        var chosen = hidden.reshape(-1, hidden.shape[^1]).index_select(0, tensor(positions.ToArray()).to(device)).to(ScalarType.Float32);
        var logits = _head.Forward(chosen, words.to(ScalarType.Float32));
        var target = tensor(labels.ToArray()).to(device);
        var loss = F.cross_entropy(logits, target);
        loss.backward();
        _towers.GradientsToMaster();
        double accuracy;
        using (no_grad()) accuracy = logits.argmax(1).eq(target).to(ScalarType.Float32).mean().item<float>();
        return (loss.item<float>(), accuracy);
    }

    /// <summary>The columns of <c>mlm_curve.csv</c>: step, epoch, loss, accuracy (of the predicted tokens), lr, grad_norm (before clipping), sequences_per_s.</summary>
    public static readonly CurveTable<MlmCurvePoint> CurveColumns = new(
        [
            CurveColumn<MlmCurvePoint>.Integer("step", p => p.Step),
            CurveColumn<MlmCurvePoint>.Integer("epoch", p => p.Epoch),
            CurveColumn<MlmCurvePoint>.Real("loss", p => p.Loss),
            CurveColumn<MlmCurvePoint>.Real("accuracy", p => p.Accuracy),
            CurveColumn<MlmCurvePoint>.Real("lr", p => p.LearningRate),
            CurveColumn<MlmCurvePoint>.Real("grad_norm", p => p.GradNorm),
            CurveColumn<MlmCurvePoint>.Real("sequences_per_s", p => p.SequencesPerSecond),
        ],
        p => p.Step,
        r => new MlmCurvePoint(r.Long("step"), r.Int("epoch"), r.Real("loss"), r.Real("accuracy"), r.Real("lr"), r.Real("grad_norm"), r.Real("sequences_per_s")));

    /// <summary>Writes the curve as CSV (<see cref="CurveColumns"/>).</summary>
    public static void WriteCurve(string path, IReadOnlyList<MlmCurvePoint> points) => CurveColumns.WriteCsv(path, points);

    public void Dispose() => _head.Dispose();
}

/// <summary>
/// The towers as masked-LM pretraining left them, saved once at its end in the run folder's <c>mlm/</c> (weights in the layout of
/// <see cref="TrainingCheckpoint.SaveTowers"/> + <c>mlm.json</c>: the run's fingerprint and the <see cref="MaskedLmSummary"/>), so that
/// a run interrupted before its first contrastive checkpoint resumes after pretraining instead of repeating it. Written to
/// a hidden temporary folder and renamed (<see cref="AtomicFile.ReplaceDirectory"/>); removed when the run finishes (its summary lives on in checkpoints and train.json).
/// </summary>
public static class MaskedLmSnapshot
{
    public const string Folder = "mlm", StateFile = "mlm.json";

    sealed record State(string Fingerprint, MaskedLmSummary Summary);

    public static string PathIn(string workDir) => System.IO.Path.Combine(workDir, Folder);

    public static bool Exists(string workDir) => File.Exists(System.IO.Path.Combine(PathIn(workDir), StateFile));

    public static void Save(string workDir, DualTowers towers, string fingerprint, MaskedLmSummary summary)
    {
        AtomicFile.ReplaceDirectory(PathIn(workDir), tmp =>
        {
            TrainingCheckpoint.SaveTowers(towers, tmp);
            File.WriteAllText(System.IO.Path.Combine(tmp, StateFile), JsonSerializer.Serialize(new State(fingerprint, summary), TrainState.Json) + "\n");
        });
    }

    /// <summary>Loads the snapshot into the towers (the fingerprint must match); returns its summary.</summary>
    public static MaskedLmSummary Load(string workDir, DualTowers towers, string fingerprint)
    {
        string dir = PathIn(workDir), path = System.IO.Path.Combine(dir, StateFile);
        State state;
        try
        {
            state = JsonSerializer.Deserialize<State>(File.ReadAllText(path), TrainState.Json) ?? throw new CheckpointException($"{path}: empty");
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: unreadable pretraining state ({e.Message})", e); }
        if (state.Fingerprint != fingerprint)
            throw new InvalidInputException($"cannot resume from {dir}: it was made with other settings or data (model, data files, masked-LM or contrastive settings, or seed differ)");
        var (query, document) = TrainingCheckpoint.LoadTowers(dir, towers.Tied);
        try { towers.LoadWeights(query, document); }
        finally
        {
            query.Dispose();
            document?.Dispose();
        }
        return state.Summary;
    }

    public static void Delete(string workDir)
    {
        string dir = PathIn(workDir);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }
}
