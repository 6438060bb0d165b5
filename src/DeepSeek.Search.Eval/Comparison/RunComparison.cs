using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval.Comparison;

/// <summary>A run with the name it is reported under (in <c>dss compare</c>, its file name).</summary>
public sealed record NamedRun(string Name, Run Run);

/// <summary>How <see cref="RunComparison.Compare"/> measures: bootstrap resamples, randomization permutations, the seed of both, the confidence level, how many gained and lost queries to list, the metric cutoffs.</summary>
public sealed record ComparisonOptions
{
    public int Resamples { get; init; } = 10_000;
    public int Permutations { get; init; } = 10_000;
    public int Seed { get; init; } = 42;
    public double ConfidenceLevel { get; init; } = 0.95;
    public int Top { get; init; } = 5;
    public EvalOptions Metrics { get; init; } = EvalOptions.Default;

    public static ComparisonOptions Default { get; } = new();
}

/// <summary>
/// Compares TREC runs query by query: every run is scored by <see cref="Evaluator"/> (the metrics of <c>dss eval</c>, trec_eval
/// conventions) over the same query set, and each run after the first is compared with the first (the baseline) per metric by
/// <see cref="PairedStatistics"/>; with more than one comparison the p-values of each metric and test are also Holm-adjusted
/// across the comparisons (<see cref="Holm"/>).
/// <para>The query set is <c>dss eval</c>'s: a query is evaluated when it has a judgment in the qrels (one whose judgments are all
/// non-relevant counts, with 0, as in trec_eval and <c>dss eval</c>); run queries without judgments are ignored. Every run must
/// hold the same evaluated queries — a query missing from one run would otherwise score 0 there and count as a loss — so runs
/// over different query sets are refused, naming the counts and one query in one run and not the other.</para>
/// </summary>
public static class RunComparison
{
    /// <summary>The metrics compared, in report order, with the cutoffs of <paramref name="options"/>.</summary>
    public static IReadOnlyList<(string Name, Func<QueryMetrics, double> Value)> Metrics(EvalOptions options) =>
    [
        ($"nDCG@{options.NdcgAt}", m => m.Ndcg),
        ($"Recall@{options.RecallAt}", m => m.Recall),
        ($"MRR@{options.MrrAt}", m => m.Mrr),
    ];

    /// <summary>The evaluated queries (judged in <paramref name="qrels"/>), in the first run's order; throws when the runs differ in them.</summary>
    public static IReadOnlyList<string> QuerySet(Qrels qrels, IReadOnlyList<NamedRun> runs)
    {
        ArgumentNullException.ThrowIfNull(qrels);
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count < 2) throw new InvalidInputException($"a comparison needs at least two runs (a baseline and one more), got {runs.Count}");
        var baseline = runs[0].Run.QueryIds.Where(qrels.Contains).ToList();
        if (baseline.Count == 0)
            throw new InvalidInputException($"none of the {runs[0].Run.Count} queries of run {runs[0].Name} has a judgment in the qrels");
        if (baseline.Count < 2)
            throw new InvalidInputException($"a paired comparison needs at least 2 judged queries; run {runs[0].Name} has {baseline.Count}");
        var baseSet = new HashSet<string>(baseline, StringComparer.Ordinal);
        foreach (var other in runs.Skip(1))
        {
            var set = new HashSet<string>(other.Run.QueryIds.Where(qrels.Contains), StringComparer.Ordinal);
            if (set.SetEquals(baseSet)) continue;
            string? onlyBase = baseline.FirstOrDefault(q => !set.Contains(q));
            string example = onlyBase is not null
                ? $"query '{onlyBase}' is in {runs[0].Name} but not in {other.Name}"
                : $"query '{other.Run.QueryIds.First(q => qrels.Contains(q) && !baseSet.Contains(q))}' is in {other.Name} but not in {runs[0].Name}";
            throw new InvalidInputException(
                $"runs cover different query sets: {runs[0].Name} has {baseSet.Count} judged queries, {other.Name} has {set.Count}; {example} (a TREC run has no line for a query that got no hits)");
        }
        return baseline;
    }

    public static ComparisonReport Compare(Qrels qrels, IReadOnlyList<NamedRun> runs, ComparisonOptions? options = null)
    {
        options ??= ComparisonOptions.Default;
        if (options.Top < 0) throw new InvalidInputException($"top must be >= 0, got {options.Top}") { Setting = "top" };
        var queryIds = QuerySet(qrels, runs);
        var queries = queryIds.Select(id => new EvalQuery(id, "")).ToList();
        var perRun = runs.Select(r => Evaluator.Evaluate(queries, qrels, r.Run, options.Metrics).PerQuery).ToList();

        var metrics = new List<MetricComparison>();
        foreach (var (name, value) in Metrics(options.Metrics))
        {
            var values = perRun.Select(list => (IReadOnlyList<double>)list.Select(value).ToArray()).ToList();
            var pairs = new List<PairComparison>();
            for (int r = 1; r < runs.Count; r++)
                pairs.Add(Pair(runs[0].Name, runs[r].Name, queryIds, values[0], values[r], options));
            if (pairs.Count > 1)
            {
                var tHolm = Holm.Adjust(pairs.Select(p => p.TTestP).ToList());
                var rHolm = Holm.Adjust(pairs.Select(p => p.RandomizationP).ToList());
                pairs = pairs.Select((p, i) => p with { TTestPHolm = tHolm[i], RandomizationPHolm = rHolm[i] }).ToList();
            }
            metrics.Add(new MetricComparison
            {
                Metric = name,
                Means = values.Select(v => PairedStatistics.Mean(v)).ToArray(),
                Comparisons = pairs,
                PerQuery = values,
            });
        }
        return new ComparisonReport
        {
            Runs = runs.Select(r => r.Name).ToArray(),
            Queries = queryIds.Count,
            QueryIds = queryIds,
            Resamples = options.Resamples,
            Permutations = options.Permutations,
            Seed = options.Seed,
            ConfidenceLevel = options.ConfidenceLevel,
            Metrics = metrics,
        };
    }

    static PairComparison Pair(string baseline, string run, IReadOnlyList<string> ids, IReadOnlyList<double> a, IReadOnlyList<double> b, ComparisonOptions options)
    {
        var d = PairedStatistics.Differences(a, b);
        var t = PairedStatistics.TTest(d);
        var ci = PairedStatistics.BootstrapInterval(d, options.Resamples, options.Seed, options.ConfidenceLevel);
        var changes = Enumerable.Range(0, d.Length).Select(i => new QueryChange(ids[i], a[i], b[i], d[i])).ToList();
        return new PairComparison
        {
            Run = run,
            Baseline = baseline,
            MeanDifference = PairedStatistics.Mean(d),
            CiLow = ci.Low,
            CiHigh = ci.High,
            StandardDeviation = t.StandardDeviation,
            T = t.T,
            DegreesOfFreedom = t.DegreesOfFreedom,
            TTestP = t.P,
            RandomizationP = PairedStatistics.RandomizationTest(d, options.Permutations, options.Seed),
            // stable sorts: ties keep the query order
            Gains = changes.Where(c => c.Difference > 0).OrderByDescending(c => c.Difference).Take(options.Top).ToList(),
            Losses = changes.Where(c => c.Difference < 0).OrderBy(c => c.Difference).Take(options.Top).ToList(),
        };
    }
}
