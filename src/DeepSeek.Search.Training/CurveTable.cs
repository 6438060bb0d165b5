using System.Globalization;
using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Training;

/// <summary>
/// One column of a training curve's CSV: its header name and how a point's value is written (integers as they are, reals round-trip
/// "R", both invariant; an absent value is an empty cell).
/// </summary>
public sealed class CurveColumn<TPoint>
{
    CurveColumn(string name, Func<TPoint, string> write)
    {
        Name = name;
        Write = write;
    }

    public string Name { get; }
    public Func<TPoint, string> Write { get; }

    public static CurveColumn<TPoint> Integer(string name, Func<TPoint, long?> get) =>
        new(name, p => get(p)?.ToString(CultureInfo.InvariantCulture) ?? "");

    public static CurveColumn<TPoint> Real(string name, Func<TPoint, double?> get) =>
        new(name, p => get(p) is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "");
}

/// <summary>One data row of a curve's CSV being read back, its cells found by column name.</summary>
public sealed class CurveRow
{
    readonly IReadOnlyDictionary<string, int> _index;
    readonly string[] _cells;

    internal CurveRow(IReadOnlyDictionary<string, int> index, string[] cells)
    {
        _index = index;
        _cells = cells;
    }

    string Cell(string column) => _cells[_index[column]];

    public long Long(string column) => long.Parse(Cell(column), CultureInfo.InvariantCulture);
    public int Int(string column) => int.Parse(Cell(column), CultureInfo.InvariantCulture);
    public int? IntOrNull(string column) => Cell(column) is { Length: > 0 } s ? int.Parse(s, CultureInfo.InvariantCulture) : null;
    public double Real(string column) => double.Parse(Cell(column), NumberStyles.Float, CultureInfo.InvariantCulture);
    public double? RealOrNull(string column) => Cell(column) is { Length: > 0 } s ? double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture) : null;
}

/// <summary>Where a curve's legend sits.</summary>
public enum CurveLegend { UpperCenter, UpperRight }

/// <summary>
/// One series of a curve's plot: the points where <see cref="Get"/> has a value, against the step. Its markers are
/// <see cref="MarkerSize"/>, hidden (a plain line) past 60 points when <see cref="HideMarkersWhenDense"/>; <see cref="RightAxis"/>
/// puts it on the right vertical axis.
/// </summary>
public sealed record CurveSeries<TPoint>(string Label, Func<TPoint, double?> Get, float MarkerSize, bool HideMarkersWhenDense = true, bool RightAxis = false);

/// <summary>
/// How a curve is drawn (ScottPlot, against the step). <see cref="FitStepAxis"/> fits the step axis to every series, left and right
/// axis alike, with a margin (autoscale alone fits it to the left axis's series only).
/// </summary>
public sealed record CurvePlot<TPoint>(string Title, string YLabel, IReadOnlyList<CurveSeries<TPoint>> Series, CurveLegend Legend,
    string? RightLabel = null, bool FitStepAxis = false);

/// <summary>
/// The one writer and reader of training curves (dss train's, its masked-LM phase's and dss train-lm's): a table of columns makes the
/// CSV (a header line, one line per point, UTF-8 without BOM, written with <see cref="AtomicFile"/>) and reads it back; an optional plot
/// spec draws the PNG.
/// </summary>
public sealed class CurveTable<TPoint>
{
    readonly IReadOnlyList<CurveColumn<TPoint>> _columns;
    readonly Func<CurveRow, TPoint>? _read;
    readonly Dictionary<string, int> _index;

    /// <param name="step">The step of a point (the plots' horizontal axis; rows after a resumed checkpoint's step are dropped by it).</param>
    /// <param name="read">Makes a point of a row read back; null for a curve that is only written.</param>
    public CurveTable(IReadOnlyList<CurveColumn<TPoint>> columns, Func<TPoint, long> step, Func<CurveRow, TPoint>? read = null, CurvePlot<TPoint>? plot = null)
    {
        _columns = columns;
        Step = step;
        _read = read;
        Plot = plot;
        _index = columns.Select((c, i) => (c.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        Header = string.Join(',', columns.Select(c => c.Name));
    }

    public string Header { get; }
    public Func<TPoint, long> Step { get; }
    public CurvePlot<TPoint>? Plot { get; }

    public void WriteCsv(string path, IEnumerable<TPoint> points)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var p in points) sb.Append(string.Join(',', _columns.Select(c => c.Write(p)))).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>The points of a CSV written by <see cref="WriteCsv"/> (none when the file is not there); a bad row is a <see cref="MalformedRecordException"/>.</summary>
    public List<TPoint> ReadCsv(string path)
    {
        var read = _read ?? throw new InvalidOperationException("this curve is not read back");
        var points = new List<TPoint>();
        if (!File.Exists(path)) return points;
        long lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (lineNo == 1 || line.Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != _columns.Count) throw new MalformedRecordException(path, lineNo, $"expected {_columns.Count} columns, got {cells.Length}");
            try { points.Add(read(new CurveRow(_index, cells))); }
            catch (FormatException e) { throw new MalformedRecordException(path, lineNo, e.Message, e); }
        }
        return points;
    }

    /// <summary>Plots the points to a PNG (an empty plot when there are none yet).</summary>
    public void WritePng(string path, IReadOnlyList<TPoint> points, int width = 900, int height = 500)
    {
        var spec = Plot ?? throw new InvalidOperationException("this curve has no plot");
        PlotFonts.Ensure();
        var plot = new ScottPlot.Plot();
        plot.Title(spec.Title);
        plot.XLabel("step");
        plot.YLabel(spec.YLabel);
        bool any = false, anyRight = false;
        foreach (var series in spec.Series)
        {
            var pts = points.Where(p => series.Get(p) is not null).ToList();
            if (pts.Count == 0) continue;
            any = true;
            var s = plot.Add.Scatter(pts.Select(p => (double)Step(p)).ToArray(), pts.Select(p => series.Get(p)!.Value).ToArray());
            s.LegendText = series.Label;
            s.MarkerSize = series.HideMarkersWhenDense && pts.Count > 60 ? 0 : series.MarkerSize;
            if (series.RightAxis)
            {
                s.Axes.YAxis = plot.Axes.Right;
                anyRight = true;
            }
        }
        if (anyRight && spec.RightLabel != null) plot.Axes.Right.Label.Text = spec.RightLabel;
        if (any)
        {
            plot.Axes.AutoScale();
            if (spec.FitStepAxis)
            {
                double min = points.Min(p => Step(p)), max = points.Max(p => Step(p)), pad = Math.Max(0.5, (max - min) * 0.03);
                plot.Axes.SetLimitsX(min - pad, max + pad);
            }
            plot.ShowLegend(spec.Legend == CurveLegend.UpperRight ? ScottPlot.Alignment.UpperRight : ScottPlot.Alignment.UpperCenter);
        }
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }
}

/// <summary>A training curve being recorded: its points in order, written and read through its <see cref="CurveTable{TPoint}"/>.</summary>
public class Curve<TPoint>
{
    readonly List<TPoint> _points = new();

    public Curve(CurveTable<TPoint> table) => Table = table;

    public CurveTable<TPoint> Table { get; }

    public IReadOnlyList<TPoint> Points => _points;

    public void Add(TPoint point) => _points.Add(point);

    /// <summary>Drops rows after <paramref name="step"/> (a resumed run replays them).</summary>
    public void TruncateAfter(long step) => _points.RemoveAll(p => Table.Step(p) > step);

    public void WriteCsv(string path) => Table.WriteCsv(path, _points);

    public void WritePng(string path, int width = 900, int height = 500) => Table.WritePng(path, _points, width, height);

    /// <summary>Adds the points of a CSV (<see cref="CurveTable{TPoint}.ReadCsv"/>).</summary>
    protected void Load(string path) => _points.AddRange(Table.ReadCsv(path));
}
