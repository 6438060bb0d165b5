using System.Globalization;
using System.Text;
using DeepSeek.Search.Core;
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
/// training loss on the left axis, dev nDCG@10 on the right, against the step).
/// </summary>
public sealed class TrainingCurve
{
    public const string CsvFile = "training_curve.csv", PngFile = "training_curve.png";
    const string Header = "step,epoch,loss,lr,temperature,grad_norm,pairs_per_s,dev_ndcg10,dev_hybrid_ndcg10";

    readonly List<CurvePoint> _points = new();

    public IReadOnlyList<CurvePoint> Points => _points;

    public void Add(CurvePoint point) => _points.Add(point);

    /// <summary>Drops rows after <paramref name="step"/> (a resumed run replays them).</summary>
    public void TruncateAfter(long step) => _points.RemoveAll(p => p.Step > step);

    public void WriteCsv(string path)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var p in _points)
            sb.Append(string.Join(',', new[]
            {
                p.Step.ToString(CultureInfo.InvariantCulture), p.Epoch.ToString(CultureInfo.InvariantCulture), F(p.Loss), F(p.LearningRate),
                F(p.Temperature), F(p.GradNorm), F(p.PairsPerSecond), F(p.DevNdcg), F(p.DevHybridNdcg),
            })).Append('\n');
        WriteAtomically(path, sb.ToString());

        static string F(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "";
    }

    public static TrainingCurve ReadCsv(string path)
    {
        var curve = new TrainingCurve();
        if (!File.Exists(path)) return curve;
        long lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (lineNo == 1 || line.Length == 0) continue;
            var c = line.Split(',');
            if (c.Length != 9) throw new MalformedRecordException(path, lineNo, $"expected 9 columns, got {c.Length}");
            try
            {
                curve.Add(new CurvePoint(long.Parse(c[0], CultureInfo.InvariantCulture), int.Parse(c[1], CultureInfo.InvariantCulture),
                    D(c[2]), D(c[3]), D(c[4]), D(c[5]), D(c[6]), D(c[7]), D(c[8])));
            }
            catch (FormatException e) { throw new MalformedRecordException(path, lineNo, e.Message, e); }
        }
        return curve;

        static double? D(string s) => s.Length == 0 ? null : double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Plots the curve to a PNG (an empty plot with a note when there are no points yet).</summary>
    public void WritePng(string path, int width = 900, int height = 500)
    {
        PlotFonts.Ensure();
        var plot = new ScottPlot.Plot();
        plot.Title("Dual-encoder training");
        plot.XLabel("step");
        plot.YLabel("training loss");
        var loss = _points.Where(p => p.Loss is not null).ToList();
        if (loss.Count > 0)
        {
            var s = plot.Add.Scatter(loss.Select(p => (double)p.Step).ToArray(), loss.Select(p => p.Loss!.Value).ToArray());
            s.LegendText = "loss";
            s.MarkerSize = loss.Count > 60 ? 0 : 4;
        }
        bool anyDev = false;
        foreach (var (label, get) in new (string, Func<CurvePoint, double?>)[] { ("dev nDCG@10 (dense)", p => p.DevNdcg), ("dev nDCG@10 (hybrid)", p => p.DevHybridNdcg) })
        {
            var pts = _points.Where(p => get(p) is not null).ToList();
            if (pts.Count == 0) continue;
            anyDev = true;
            var s = plot.Add.Scatter(pts.Select(p => (double)p.Step).ToArray(), pts.Select(p => get(p)!.Value).ToArray());
            s.LegendText = label;
            s.MarkerSize = 6;
            s.Axes.YAxis = plot.Axes.Right;
        }
        if (anyDev) plot.Axes.Right.Label.Text = "dev nDCG@10";
        if (_points.Count > 0)
        {
            // both vertical axes share the step axis: fit it to every series (autoscale would fit the left axis's series only)
            plot.Axes.AutoScale();
            double min = _points.Min(p => p.Step), max = _points.Max(p => p.Step), pad = Math.Max(0.5, (max - min) * 0.03);
            plot.Axes.SetLimitsX(min - pad, max + pad);
        }
        if (loss.Count > 0 || anyDev) plot.ShowLegend(ScottPlot.Alignment.UpperCenter);
        string tmp = path + ".tmp";
        plot.SavePng(tmp, width, height);
        File.Move(tmp, path, overwrite: true);
    }

    static void WriteAtomically(string path, string content)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, content, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}
