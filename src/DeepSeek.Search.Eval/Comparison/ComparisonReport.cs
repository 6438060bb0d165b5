using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepSeek.Search.Eval.Comparison;

/// <summary>One query's value in the baseline and in the compared run, and their difference (run − baseline).</summary>
public sealed record QueryChange(string QueryId, double Baseline, double Value, double Difference);

/// <summary>
/// One run against the baseline on one metric: the mean paired difference (run − baseline), its bootstrap interval, the paired
/// t-test (sd of the differences, t, degrees of freedom, two-sided p), the randomization test's p, the Holm-adjusted p-values
/// (null with a single comparison, where they equal the raw ones), and the queries that gained and lost most.
/// </summary>
public sealed record PairComparison
{
    public required string Run { get; init; }
    public required string Baseline { get; init; }
    public double MeanDifference { get; init; }
    public double CiLow { get; init; }
    public double CiHigh { get; init; }
    public double StandardDeviation { get; init; }
    public double T { get; init; }
    public int DegreesOfFreedom { get; init; }
    public double TTestP { get; init; }
    public double? TTestPHolm { get; init; }
    public double RandomizationP { get; init; }
    public double? RandomizationPHolm { get; init; }
    public IReadOnlyList<QueryChange> Gains { get; init; } = [];
    public IReadOnlyList<QueryChange> Losses { get; init; } = [];
}

/// <summary>One metric: each run's mean, each run after the first against the first, and the per-query values (per run, in <see cref="ComparisonReport.QueryIds"/> order).</summary>
public sealed record MetricComparison
{
    public required string Metric { get; init; }
    public IReadOnlyList<double> Means { get; init; } = [];
    public IReadOnlyList<PairComparison> Comparisons { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<double>> PerQuery { get; init; } = [];
}

/// <summary>
/// The result of <see cref="RunComparison.Compare"/>; written as a console table (<see cref="ToTable"/>), JSON (camelCase; ±∞ t as
/// "Infinity") and Markdown.
/// </summary>
public sealed record ComparisonReport
{
    /// <summary>The runs' names; the first is the baseline.</summary>
    public IReadOnlyList<string> Runs { get; init; } = [];
    public int Queries { get; init; }
    public int Resamples { get; init; }
    public int Permutations { get; init; }
    public int Seed { get; init; }
    public double ConfidenceLevel { get; init; }
    public IReadOnlyList<MetricComparison> Metrics { get; init; } = [];
    public IReadOnlyList<string> QueryIds { get; init; } = [];

    [JsonIgnore] public string Baseline => Runs[0];

    /// <summary>True when there is more than one comparison, so Holm-adjusted p-values are reported.</summary>
    [JsonIgnore] public bool Corrected => Runs.Count > 2;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ComparisonReport FromJson(string json) =>
        JsonSerializer.Deserialize<ComparisonReport>(json, Json) ?? throw new JsonException("comparison report JSON is null");

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string F(double v) => v.ToString("F4", Inv);
    static string Signed(double v) => v.ToString("+0.0000;-0.0000;0.0000", Inv);

    /// <summary>A p-value: four decimals, or two significant digits in exponent form below 0.0001.</summary>
    public static string P(double p) => double.IsNaN(p) ? "n/a" : p == 0 || p >= 1e-4 ? p.ToString("F4", Inv) : p.ToString("0.0E+0", Inv);

    string Level => (ConfidenceLevel * 100).ToString("0.##", Inv) + "%";

    string Settings => string.Create(Inv,
        $"{Queries} queries judged in the qrels and in every run; bootstrap {Resamples} resamples ({Level} percentile interval), randomization {Permutations} sign-flip permutations, seed {Seed}");

    /// <summary>The console table: per metric, each run's mean and its comparison with the baseline, then the gained and lost queries.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.Append(Settings).Append('\n');
        sb.Append("baseline ").Append(Baseline).Append('\n');
        int w = Math.Max(8, Runs.Max(r => r.Length));
        foreach (var m in Metrics)
        {
            sb.Append('\n').Append(m.Metric).Append('\n');
            sb.Append(string.Create(Inv, $"  {"run".PadRight(w)}  {"mean",7}  {"diff",8}  {Level + " CI",-19}  {"t",7}  {"p(t)",7}"));
            if (Corrected) sb.Append(string.Create(Inv, $"  {"Holm",7}"));
            sb.Append(string.Create(Inv, $"  {"p(rand)",7}"));
            if (Corrected) sb.Append(string.Create(Inv, $"  {"Holm",7}"));
            sb.Append('\n');
            sb.Append("  ").Append(Runs[0].PadRight(w)).Append("  ").Append(F(m.Means[0]).PadLeft(7)).Append("  (baseline)\n");
            for (int i = 0; i < m.Comparisons.Count; i++)
            {
                var c = m.Comparisons[i];
                sb.Append(string.Create(Inv,
                    $"  {c.Run.PadRight(w)}  {F(m.Means[i + 1]),7}  {Signed(c.MeanDifference),8}  {"[" + Signed(c.CiLow) + ", " + Signed(c.CiHigh) + "]",-19}  {c.T,7:F3}  {P(c.TTestP),7}"));
                if (Corrected) sb.Append(string.Create(Inv, $"  {P(c.TTestPHolm ?? c.TTestP),7}"));
                sb.Append(string.Create(Inv, $"  {P(c.RandomizationP),7}"));
                if (Corrected) sb.Append(string.Create(Inv, $"  {P(c.RandomizationPHolm ?? c.RandomizationP),7}"));
                sb.Append('\n');
            }
            foreach (var c in m.Comparisons)
            {
                sb.Append("  ").Append(c.Run).Append(" vs ").Append(c.Baseline).Append(":\n");
                sb.Append("    gained: ").Append(Changes(c.Gains)).Append('\n');
                sb.Append("    lost:   ").Append(Changes(c.Losses)).Append('\n');
            }
        }
        return sb.ToString();
    }

    static string Changes(IReadOnlyList<QueryChange> changes) => changes.Count == 0 ? "none"
        : string.Join(", ", changes.Select(q => string.Create(Inv, $"{q.QueryId} {F(q.Baseline)}→{F(q.Value)} ({Signed(q.Difference)})")));

    /// <summary>The report in Markdown: the settings, one table per metric, the gained and lost queries.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("# Run comparison\n\n");
        sb.Append("Baseline: `").Append(Baseline).Append("`. ").Append(Settings).Append(".\n\n");
        sb.Append("diff = run − baseline (mean over queries); p(t): two-sided paired t-test; p(rand): two-sided paired randomization test");
        sb.Append(Corrected ? "; Holm: Holm–Bonferroni-adjusted across the comparisons of the metric.\n" : ".\n");
        foreach (var m in Metrics)
        {
            sb.Append("\n## ").Append(m.Metric).Append("\n\n");
            sb.Append("| run | mean | diff | ").Append(Level).Append(" CI | t | p(t) |").Append(Corrected ? " p(t) Holm |" : "")
              .Append(" p(rand) |").Append(Corrected ? " p(rand) Holm |" : "").Append('\n');
            sb.Append("|---|---:|---:|---|---:|---:|").Append(Corrected ? "---:|" : "").Append("---:|").Append(Corrected ? "---:|" : "").Append('\n');
            sb.Append("| `").Append(Runs[0]).Append("` | ").Append(F(m.Means[0])).Append(" | (baseline) | | | |").Append(Corrected ? " |" : "").Append(" |").Append(Corrected ? " |" : "").Append('\n');
            for (int i = 0; i < m.Comparisons.Count; i++)
            {
                var c = m.Comparisons[i];
                sb.Append(string.Create(Inv, $"| `{c.Run}` | {F(m.Means[i + 1])} | {Signed(c.MeanDifference)} | [{Signed(c.CiLow)}, {Signed(c.CiHigh)}] | {c.T:F3} | {P(c.TTestP)} |"));
                if (Corrected) sb.Append(' ').Append(P(c.TTestPHolm ?? c.TTestP)).Append(" |");
                sb.Append(' ').Append(P(c.RandomizationP)).Append(" |");
                if (Corrected) sb.Append(' ').Append(P(c.RandomizationPHolm ?? c.RandomizationP)).Append(" |");
                sb.Append('\n');
            }
            foreach (var c in m.Comparisons)
            {
                sb.Append("\n`").Append(c.Run).Append("` vs `").Append(c.Baseline).Append("`: most gained: ").Append(MarkdownChanges(c.Gains))
                  .Append("; most lost: ").Append(MarkdownChanges(c.Losses)).Append('\n');
            }
        }
        return sb.ToString();
    }

    static string MarkdownChanges(IReadOnlyList<QueryChange> changes) => changes.Count == 0 ? "none"
        : string.Join(", ", changes.Select(q => string.Create(Inv, $"`{q.QueryId}` {F(q.Baseline)} → {F(q.Value)} ({Signed(q.Difference)})")));
}
