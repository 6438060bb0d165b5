using DeepSeek.Search.Core;
using DeepSeek.Search.Eval.Comparison;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Cli;

/// <summary>
/// <c>dss compare --plot</c>: the per-query differences of the first metric (nDCG@10) against the baseline, sorted descending, as
/// bars (one comparison) or steps (one per compared run), with the zero line; drawn by ScottPlot with the bundled font of
/// Training's <see cref="PlotFonts"/> and written through <see cref="AtomicFile"/>. Eval stays free of plotting (ARCHITECTURE.md).
/// </summary>
static class ComparisonPlot
{
    public static void WritePng(ComparisonReport report, string path, int width = 900, int height = 500)
    {
        var metric = report.Metrics[0];
        PlotFonts.Ensure();
        var plot = new ScottPlot.Plot();
        string runs = string.Join(", ", metric.Comparisons.Select(c => c.Run));
        plot.Title($"{metric.Metric} per query: {runs} − {report.Baseline}");
        plot.XLabel($"query ({report.Queries}, sorted by difference)");
        plot.YLabel($"Δ {metric.Metric}");
        for (int i = 0; i < metric.Comparisons.Count; i++)
        {
            var sorted = PairedStatistics.Differences(metric.PerQuery[0], metric.PerQuery[i + 1]).OrderByDescending(d => d).ToArray();
            var xs = Enumerable.Range(0, sorted.Length).Select(x => (double)x).ToArray();
            if (metric.Comparisons.Count == 1)
            {
                var bars = plot.Add.Bars(xs, sorted);
                bars.LegendText = $"{metric.Comparisons[i].Run} − {report.Baseline}";
                foreach (var bar in bars.Bars) bar.LineWidth = 0;
            }
            else
            {
                var steps = plot.Add.ScatterLine(xs, sorted);
                steps.ConnectStyle = ScottPlot.ConnectStyle.StepHorizontal;
                steps.LegendText = $"{metric.Comparisons[i].Run} − {report.Baseline}";
            }
        }
        var zero = plot.Add.HorizontalLine(0);
        zero.LineWidth = 1;
        zero.Color = ScottPlot.Colors.Black;
        plot.Axes.AutoScale();
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }
}
