using System.Globalization;
using DeepSeek.Search.Eval.Comparison;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Eval.Tests.Comparison;

/// <summary>A fact that runs only where <c>python3 -c "import scipy"</c> works (TestKit's <see cref="PythonRunner"/>); skipped with the reason elsewhere.</summary>
public sealed class PythonScipyFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Unavailable = new(() => PythonRunner.Missing("scipy.stats"));

    public PythonScipyFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = reason;
    }
}

/// <summary>
/// Our paired t-test is SciPy's: two synthetic runs over SciFact's test qrels, scored by RunComparison; the same per-query values
/// (written round-trip) go to <c>scipy.stats.ttest_rel(b, a)</c> in a python3 subprocess, and t and the two-sided p agree to 1e-6
/// (relative for p, so a small p is compared too). Skipped without python3-scipy (make setup installs it).
/// </summary>
public class SciPyParityTests
{
    const string Script = """
        import sys
        from scipy import stats
        rows = [line.split() for line in open(sys.argv[1])]
        for col in range(0, len(rows[0]), 2):
            a = [float(r[col]) for r in rows]
            b = [float(r[col + 1]) for r in rows]
            res = stats.ttest_rel(b, a)
            print(repr(float(res.statistic)), repr(float(res.pvalue)))
        """;

    [PythonScipyFact]
    public void Paired_t_test_agrees_with_scipy_ttest_rel()
    {
        var qrels = Qrels.Read(Repo.SharedPath("data", "scifact", "qrels", "test.tsv"));
        using var dir = new TempDir("dss-scipy");
        // close runs (spreads 16 and 14) give a p-value in the interesting range; the third (relevant documents anywhere in the
        // top 130) a small one, and the only Recall@100 differences
        var runs = new[] { (16, 101), (14, 202), (130, 303) }
            .Select(s => new NamedRun($"r{s.Item2}", Run.ReadTrec(SyntheticRuns.Write(dir.File($"r{s.Item2}.run"), qrels, s.Item2, s.Item1, "t"))))
            .ToList();
        var report = RunComparison.Compare(qrels, runs, new ComparisonOptions { Resamples = 100, Permutations = 100 });

        // columns: (a, b) per metric and comparison
        var pairs = report.Metrics.SelectMany(m => m.Comparisons.Select((c, i) => (m.Metric, c, A: m.PerQuery[0], B: m.PerQuery[i + 1]))).ToList();
        var lines = Enumerable.Range(0, report.Queries).Select(q => string.Join(' ',
            pairs.SelectMany(p => new[] { p.A[q], p.B[q] }).Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        string values = dir.File("values.txt");
        File.WriteAllLines(values, lines);

        var (exit, output, error) = PythonRunner.Run(Script, TimeSpan.FromSeconds(60), values);
        Assert.True(exit == 0, error);
        var scipy = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.Equal(pairs.Count, scipy.Count);
        bool sawModerate = false;
        for (int i = 0; i < pairs.Count; i++)
        {
            var (metric, c, _, _) = pairs[i];
            double t = scipy[i][0], p = scipy[i][1];
            string what = $"{metric} {c.Run} vs {c.Baseline}: ours t {c.T:R} p {c.TTestP:R}, scipy t {t:R} p {p:R}";
            if (double.IsNaN(p))
            {
                // every difference 0 (both runs find all relevant documents in the top 100): SciPy answers NaN, we t = 0, p = 1
                Assert.True(c.MeanDifference == 0 && c.T == 0 && c.TTestP == 1, what);
                continue;
            }
            Assert.True(Math.Abs(c.T - t) <= 1e-6 * Math.Max(1, Math.Abs(t)), what);
            Assert.True(Math.Abs(c.TTestP - p) <= 1e-6 * Math.Max(p, 1e-300) || Math.Abs(c.TTestP - p) <= 1e-15, what);
            sawModerate |= p > 0.01 && p < 0.9;
        }
        Assert.True(sawModerate, "no comparison had a p-value between 0.01 and 0.9; the check would not exercise the CDF's body");
    }

    [PythonScipyFact]
    public void Student_t_tail_agrees_with_scipy_on_a_grid()
    {
        double[] ts = [0.05, 0.3, 0.7, 1, 1.5, 2, 2.5, 3, 4, 6, 10, 20, 40];
        int[] dfs = [1, 2, 3, 4, 5, 7, 10, 15, 29, 30, 60, 100, 299, 1000];
        var (exit, output, error) = PythonRunner.Run("""
            import sys
            from scipy import stats
            for t in sys.argv[1].split(","):
                for df in sys.argv[2].split(","):
                    print(repr(float(2 * stats.t.sf(float(t), int(df)))))
            """, TimeSpan.FromSeconds(60),
            string.Join(',', ts.Select(t => t.ToString("R", CultureInfo.InvariantCulture))), string.Join(',', dfs));
        Assert.True(exit == 0, error);
        var expected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ts.Length * dfs.Length, expected.Count);
        int k = 0;
        foreach (double t in ts)
            foreach (int df in dfs)
            {
                double p = expected[k++], ours = StudentT.TwoSidedP(t, df);
                double tolerance = p < 1e-4 ? 1e-10 * p : 1e-10;
                Assert.True(Math.Abs(ours - p) <= tolerance, $"t {t}, df {df}: ours {ours:R}, scipy {p:R}");
            }
    }
}
