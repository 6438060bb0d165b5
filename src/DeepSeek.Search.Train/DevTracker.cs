using DeepSeek.Search.Core;

namespace DeepSeek.Search.Train;

/// <summary>
/// Dev evaluation and best-model tracking of one <see cref="Trainer"/> run: each evaluation's scores go to the curve; an improvement
/// (for the adaptation gate: by <see cref="Trainer.AdaptationMargin"/> in the --init encoder's default search) saves the towers as the
/// best so far (<c>best/</c>), and with a patience, evaluations without one stop the run early. Its state is saved in and restored
/// from <see cref="TrainState"/> and the curve.
/// </summary>
sealed class DevTracker
{
    readonly TrainOptions _o;
    readonly string _work;
    readonly bool _gate;
    readonly string? _initFusion;
    readonly float? _initAlpha;

    public DevTracker(TrainOptions options, string workDir, bool adaptationGate, Encode.DualEncoderConfig? initSettings)
    {
        _o = options;
        _work = workDir;
        _gate = adaptationGate;
        _initFusion = initSettings?.HybridFusion;
        _initAlpha = initSettings?.HybridAlpha;
    }

    /// <summary>The evaluator, once the run has a dev set (null: no evaluations).</summary>
    public DevEvaluator? Evaluator { get; set; }

    public double? BestMetric { get; private set; }
    public long BestStep { get; private set; }
    public int EvalsSinceBest { get; private set; }
    public bool Stopped { get; private set; }
    public DevScores? InitialDev { get; private set; }
    public DevScores? BestDev { get; private set; }

    /// <summary>The score the gate compares: the evaluation in the --init encoder's default search.</summary>
    public double? DefaultScore(DevScores? scores) => scores?.Default(_initFusion, _initAlpha);

    public void Evaluate(long step, int epoch, long totalSteps, EncoderModel model, TrainingCurve curve, IProgress<ProgressEvent>? progress)
    {
        var evaluator = Evaluator!;
        progress?.Report(new ProgressNote($"evaluating on {evaluator.QueryCount} dev queries"));
        var scores = evaluator.Evaluate(model.Towers, model.Tokenizer, _o.MaxQueryLength, _o.MaxDocumentLength, _o.QueryPrefix, _o.DocumentPrefix);
        curve.Add(new CurvePoint(step, epoch, DevNdcg: scores.DenseNdcg, DevHybridNdcg: scores.HybridNdcg));
        if (step == 0) InitialDev = scores;
        double metric = _gate ? scores.Default(_initFusion, _initAlpha) : scores.Get(_o.DevMetric);
        bool improved = BestMetric is not double best || metric > best + (_gate ? Trainer.AdaptationMargin : 0);
        if (improved)
        {
            BestMetric = metric;
            BestStep = step;
            BestDev = scores;
            EvalsSinceBest = 0;
            AtomicFile.ReplaceDirectory(Path.Combine(_work, Trainer.BestFolder), dir => TrainingCheckpoint.SaveTowers(model.Towers, dir));
        }
        else EvalsSinceBest++;
        if (_o.Patience > 0 && EvalsSinceBest >= _o.Patience && step > 0) Stopped = true;
        progress?.Report(new DevEvaluationProgress(step, totalSteps, epoch, scores, _gate ? metric : null, improved, BestMetric, BestStep,
            Stopped ? _o.Patience : null));
    }

    /// <summary>The tracking fields of a checkpoint's state.</summary>
    public TrainState Stamp(TrainState state) => state with
    {
        BestMetric = BestMetric,
        BestStep = BestStep,
        EvalsSinceBest = EvalsSinceBest,
        StoppedEarly = Stopped,
    };

    /// <summary>Continues from a checkpoint: its tracking fields, and the first and best evaluations from its curve.</summary>
    public void Restore(TrainState state, TrainingCurve curve)
    {
        BestMetric = state.BestMetric;
        BestStep = state.BestStep;
        EvalsSinceBest = state.EvalsSinceBest;
        Stopped = state.StoppedEarly;
        var evals = curve.Points.Where(p => p.DevNdcg is not null).ToList();
        if (evals.Count > 0)
        {
            var first = evals[0];
            InitialDev = first.Step == 0 ? new DevScores(first.DevNdcg!.Value, first.DevHybridNdcg) : null;
            var best = evals.FirstOrDefault(p => p.Step == BestStep);
            if (best != null) BestDev = new DevScores(best.DevNdcg!.Value, best.DevHybridNdcg);
        }
    }
}
