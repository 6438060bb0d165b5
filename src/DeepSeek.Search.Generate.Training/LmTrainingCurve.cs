using System.Globalization;
using System.Text;
using DeepSeek.Search.Core;
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
/// (ScottPlot: training and validation loss against the step), in the manner of dss train's curve.
/// </summary>
public sealed class LmTrainingCurve
{
    public const string CsvFile = "training_curve.csv", PngFile = "training_curve.png";
    const string Header = "step,tokens,loss,aux_loss,lr,grad_norm,tokens_per_s,max_load,idle_experts,val_loss";
    const int Columns = 10;

    readonly List<LmCurvePoint> _points = new();

    public IReadOnlyList<LmCurvePoint> Points => _points;

    public void Add(LmCurvePoint point) => _points.Add(point);

    /// <summary>Drops rows after <paramref name="step"/> (a resumed run replays them).</summary>
    public void TruncateAfter(long step) => _points.RemoveAll(p => p.Step > step);

    public void WriteCsv(string path)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var p in _points)
            sb.Append(string.Join(',', new[]
            {
                p.Step.ToString(CultureInfo.InvariantCulture), p.Tokens.ToString(CultureInfo.InvariantCulture), F(p.Loss), F(p.AuxLoss),
                F(p.LearningRate), F(p.GradNorm), F(p.TokensPerSecond), F(p.MaxLoad),
                p.IdleExperts?.ToString(CultureInfo.InvariantCulture) ?? "", F(p.ValidationLoss),
            })).Append('\n');
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, sb.ToString(), new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);

        static string F(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "";
    }

    public static LmTrainingCurve ReadCsv(string path)
    {
        var curve = new LmTrainingCurve();
        if (!File.Exists(path)) return curve;
        long lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (lineNo == 1 || line.Length == 0) continue;
            var c = line.Split(',');
            if (c.Length != Columns) throw new MalformedRecordException(path, lineNo, $"expected {Columns} columns, got {c.Length}");
            try
            {
                curve.Add(new LmCurvePoint(long.Parse(c[0], CultureInfo.InvariantCulture), long.Parse(c[1], CultureInfo.InvariantCulture),
                    D(c[2]), D(c[3]), D(c[4]), D(c[5]), D(c[6]), D(c[7]),
                    c[8].Length == 0 ? null : int.Parse(c[8], CultureInfo.InvariantCulture), D(c[9])));
            }
            catch (FormatException e) { throw new MalformedRecordException(path, lineNo, e.Message, e); }
        }
        return curve;

        static double? D(string s) => s.Length == 0 ? null : double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Plots training and validation loss against the step (an empty plot when there are no points yet).</summary>
    public void WritePng(string path, int width = 900, int height = 500)
    {
        PlotFonts.Ensure();
        var plot = new ScottPlot.Plot();
        plot.Title("Language-model training");
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats/token)");
        bool any = false;
        foreach (var (label, get, marker) in new (string, Func<LmCurvePoint, double?>, float)[]
                 { ("train loss", p => p.Loss, 4), ("validation loss", p => p.ValidationLoss, 7) })
        {
            var pts = _points.Where(p => get(p) is not null).ToList();
            if (pts.Count == 0) continue;
            any = true;
            var s = plot.Add.Scatter(pts.Select(p => (double)p.Step).ToArray(), pts.Select(p => get(p)!.Value).ToArray());
            s.LegendText = label;
            s.MarkerSize = pts.Count > 60 ? 0 : marker;
        }
        if (any)
        {
            plot.Axes.AutoScale();
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        }
        string tmp = path + ".tmp.png";
        plot.SavePng(tmp, width, height);
        File.Move(tmp, path, overwrite: true);
    }
}
