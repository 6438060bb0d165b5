using DeepSeek.Search.Training;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// One row of a language-model training curve: a training row (cross-entropy averaged over the steps since the previous row, the
/// balance loss, learning rate, gradient norm before clipping, tokens/s, and the expert load of those steps — the largest max/mean over
/// the MoE layers and the idle experts summed over layers) or a validation row (validation cross-entropy and the idle experts of its
/// routing pass).
/// </summary>
public sealed record LmCurvePoint(long Step, long Tokens, double? Loss = null, double? AuxLoss = null, double? LearningRate = null,
    double? GradNorm = null, double? TokensPerSecond = null, double? MaxLoad = null, int? IdleExperts = null, double? ValidationLoss = null);

/// <summary>
/// The curve of a <c>dss train-lm</c> run, written beside the model as <c>training_curve.csv</c> and <c>training_curve.png</c>
/// (ScottPlot: training and validation loss against the step), through Training's <see cref="CurveTable{TPoint}"/> as dss train's curve.
/// </summary>
public sealed class LmTrainingCurve : Curve<LmCurvePoint>
{
    public const string CsvFile = "training_curve.csv", PngFile = "training_curve.png";

    /// <summary>step,tokens,loss,aux_loss,lr,grad_norm,tokens_per_s,max_load,idle_experts,val_loss</summary>
    public static readonly CurveTable<LmCurvePoint> Columns = new(
        [
            CurveColumn<LmCurvePoint>.Integer("step", p => p.Step),
            CurveColumn<LmCurvePoint>.Integer("tokens", p => p.Tokens),
            CurveColumn<LmCurvePoint>.Real("loss", p => p.Loss),
            CurveColumn<LmCurvePoint>.Real("aux_loss", p => p.AuxLoss),
            CurveColumn<LmCurvePoint>.Real("lr", p => p.LearningRate),
            CurveColumn<LmCurvePoint>.Real("grad_norm", p => p.GradNorm),
            CurveColumn<LmCurvePoint>.Real("tokens_per_s", p => p.TokensPerSecond),
            CurveColumn<LmCurvePoint>.Real("max_load", p => p.MaxLoad),
            CurveColumn<LmCurvePoint>.Integer("idle_experts", p => p.IdleExperts),
            CurveColumn<LmCurvePoint>.Real("val_loss", p => p.ValidationLoss),
        ],
        p => p.Step,
        r => new LmCurvePoint(r.Long("step"), r.Long("tokens"), r.RealOrNull("loss"), r.RealOrNull("aux_loss"), r.RealOrNull("lr"),
            r.RealOrNull("grad_norm"), r.RealOrNull("tokens_per_s"), r.RealOrNull("max_load"), r.IntOrNull("idle_experts"), r.RealOrNull("val_loss")),
        new CurvePlot<LmCurvePoint>("Language-model training", "cross-entropy (nats/token)",
            [new("train loss", p => p.Loss, 4), new("validation loss", p => p.ValidationLoss, 7)],
            CurveLegend.UpperRight));

    public LmTrainingCurve() : base(Columns) { }

    public static LmTrainingCurve ReadCsv(string path)
    {
        var curve = new LmTrainingCurve();
        curve.Load(path);
        return curve;
    }
}
