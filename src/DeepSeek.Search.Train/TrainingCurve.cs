using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train;

/// <summary>
/// One row of the training curve: a training-loss row (loss averaged over the steps since the previous row, learning rate,
/// temperature, gradient norm before clipping, throughput) or a dev-evaluation row (nDCG@10 dense and hybrid).
/// </summary>
public sealed record CurvePoint(long Step, int Epoch, double? Loss = null, double? LearningRate = null, double? Temperature = null,
    double? GradNorm = null, double? PairsPerSecond = null, double? DevNdcg = null, double? DevHybridNdcg = null);

/// <summary>
/// The loss / metric curve of a run, written beside the model as <c>training_curve.csv</c> and <c>training_curve.png</c> (ScottPlot:
/// training loss on the left axis, dev nDCG@10 on the right, against the step), through Training's <see cref="CurveTable{TPoint}"/>.
/// </summary>
public sealed class TrainingCurve : Curve<CurvePoint>
{
    public const string CsvFile = "training_curve.csv", PngFile = "training_curve.png";

    /// <summary>step,epoch,loss,lr,temperature,grad_norm,pairs_per_s,dev_ndcg10,dev_hybrid_ndcg10</summary>
    public static readonly CurveTable<CurvePoint> Columns = new(
        [
            CurveColumn<CurvePoint>.Integer("step", p => p.Step),
            CurveColumn<CurvePoint>.Integer("epoch", p => p.Epoch),
            CurveColumn<CurvePoint>.Real("loss", p => p.Loss),
            CurveColumn<CurvePoint>.Real("lr", p => p.LearningRate),
            CurveColumn<CurvePoint>.Real("temperature", p => p.Temperature),
            CurveColumn<CurvePoint>.Real("grad_norm", p => p.GradNorm),
            CurveColumn<CurvePoint>.Real("pairs_per_s", p => p.PairsPerSecond),
            CurveColumn<CurvePoint>.Real("dev_ndcg10", p => p.DevNdcg),
            CurveColumn<CurvePoint>.Real("dev_hybrid_ndcg10", p => p.DevHybridNdcg),
        ],
        p => p.Step,
        r => new CurvePoint(r.Long("step"), r.Int("epoch"), r.RealOrNull("loss"), r.RealOrNull("lr"), r.RealOrNull("temperature"),
            r.RealOrNull("grad_norm"), r.RealOrNull("pairs_per_s"), r.RealOrNull("dev_ndcg10"), r.RealOrNull("dev_hybrid_ndcg10")),
        new CurvePlot<CurvePoint>("Dual-encoder training", "training loss",
            [
                new("loss", p => p.Loss, 4),
                new("dev nDCG@10 (dense)", p => p.DevNdcg, 6, HideMarkersWhenDense: false, RightAxis: true),
                new("dev nDCG@10 (hybrid)", p => p.DevHybridNdcg, 6, HideMarkersWhenDense: false, RightAxis: true),
            ],
            CurveLegend.UpperCenter, RightLabel: "dev nDCG@10", FitStepAxis: true));

    public TrainingCurve() : base(Columns) { }

    public static TrainingCurve ReadCsv(string path)
    {
        var curve = new TrainingCurve();
        curve.Load(path);
        return curve;
    }
}
