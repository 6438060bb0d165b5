using DeepSeek.Search.Core;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// Validation of one <see cref="LmTrainer"/> run: the cross-entropy over the held-out blocks (at most ValidationMaxBlocks) and the
/// expert load of that pass, recorded on the curve and reported; it keeps the first (step 0) and the final evaluation for the result,
/// and on resume takes the first back from the curve.
/// </summary>
sealed class LmValidation
{
    readonly LmTrainOptions _o;
    readonly LmData _data;
    readonly LmModel _model;
    readonly Device _device;
    readonly IProgress<ProgressEvent>? _progress;
    readonly CancellationToken _ct;

    public LmValidation(LmTrainOptions options, LmData data, LmModel model, Device device, IProgress<ProgressEvent>? progress, CancellationToken ct)
    {
        _o = options;
        _data = data;
        _model = model;
        _device = device;
        _progress = progress;
        _ct = ct;
    }

    public double? InitialLoss { get; private set; }
    public double? FinalLoss { get; private set; }
    public IReadOnlyList<ExpertLoad> FinalLoads { get; private set; } = [];

    /// <summary>The evaluation before the first step.</summary>
    public void Initial(long totalSteps, long tokensSeen, LmTrainingCurve curve)
    {
        var (loss, loads) = Evaluate();
        InitialLoss = loss;
        Record(0, totalSteps, tokensSeen, loss, loads, curve);
    }

    /// <summary>The evaluation after step <paramref name="step"/>; after the last one it is the final evaluation.</summary>
    public void At(long step, bool last, long totalSteps, long tokensSeen, LmTrainingCurve curve)
    {
        var (loss, loads) = Evaluate();
        Record(step, totalSteps, tokensSeen, loss, loads, curve);
        if (last) { FinalLoss = loss; FinalLoads = loads; }
    }

    /// <summary>The final evaluation when the run has none yet (resumed at the end: the last step's ran before the interruption).</summary>
    public void EnsureFinal()
    {
        if (FinalLoss is not null || _data.Examples.Validation.Count == 0) return;
        var (loss, loads) = Evaluate();
        FinalLoss = loss;
        FinalLoads = loads;
    }

    /// <summary>Continues from a checkpoint: the first evaluation from its curve.</summary>
    public void Restore(LmTrainingCurve curve)
    {
        var validation = curve.Points.Where(p => p.ValidationLoss is not null).ToList();
        if (validation.Count > 0 && validation[0].Step == 0) InitialLoss = validation[0].ValidationLoss;
    }

    (double? Loss, IReadOnlyList<ExpertLoad> Loads) Evaluate()
    {
        var blocks = _data.Examples.Validation.Take(_o.ValidationMaxBlocks > 0 ? _o.ValidationMaxBlocks : int.MaxValue).ToList();
        if (blocks.Count == 0) return (null, []);
        using var observer = new MoeBalanceObserver(_model.Config, 0);
        double sum = 0;
        long count = 0;
        using (no_grad())
        {
            for (int i = 0; i < blocks.Count; i += _o.BatchSize)
            {
                _ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = _data.Examples.Batch(blocks.Skip(i).Take(_o.BatchSize), _device);
                observer.Sequences = batch.Ids.shape[0];
                var logits = _model.Weights.Compute.Forward(batch.Ids, observer);
                sum += LmTrainer.CausalLmLoss(logits, batch.Labels, sum: true).item<float>();
                count += LmTrainer.CountTargets(batch.Labels);
            }
        }
        return (sum / count, observer.Loads);
    }

    void Record(long step, long totalSteps, long tokensSeen, double? loss, IReadOnlyList<ExpertLoad> loads, LmTrainingCurve curve)
    {
        if (loss is null) return;
        curve.Add(new LmCurvePoint(step, tokensSeen, MaxLoad: loads.Count > 0 ? loads.Max(l => l.MaxOverMean) : null,
            IdleExperts: loads.Count > 0 ? loads.Sum(l => l.Idle) : null, ValidationLoss: loss));
        _progress?.Report(new LmValidationProgress(step, totalSteps, loss.Value, loads));
    }
}
