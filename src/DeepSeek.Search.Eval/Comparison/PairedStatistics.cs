using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval.Comparison;

/// <summary>A paired t-test: the mean and sample standard deviation of the differences, t, its degrees of freedom and the two-sided p.</summary>
public sealed record PairedTTest(int N, double MeanDifference, double StandardDeviation, double T, int DegreesOfFreedom, double P);

/// <summary>A confidence interval of the mean difference at <see cref="Level"/> (e.g. 0.95).</summary>
public sealed record ConfidenceInterval(double Low, double High, double Level);

/// <summary>
/// Statistics of paired per-query differences d_i = b_i − a_i (pure functions; the random ones take a seed and give the same answer
/// for the same seed):
/// <list type="bullet">
/// <item><see cref="TTest"/>: t = mean(d) / (sd(d) / √n), sd with n − 1, ν = n − 1, two-sided p by <see cref="StudentT"/> — what
/// SciPy's <c>scipy.stats.ttest_rel(b, a)</c> computes. All differences equal: t = 0 and p = 1 when they are 0, t = ±∞ and p = 0
/// otherwise.</item>
/// <item><see cref="BootstrapInterval"/>: percentile bootstrap over queries: resample n queries with replacement, take the mean
/// difference, repeat; the interval's ends are Core's nearest-rank percentiles (α/2 and 1 − α/2) of the resampled means.</item>
/// <item><see cref="RandomizationTest"/>: two-sided paired randomization (sign-flip permutation) test: each permutation flips the
/// sign of every difference with probability ½; p = (count of permutations with |mean| ≥ |observed mean| + 1) / (permutations + 1),
/// the observed assignment counted once so p is never 0 (Phipson &amp; Smyth 2010). "≥" allows a relative 1e-12 for rounding, so
/// flips that give the observed mean exactly (e.g. all differences 0, p = 1) count.</item>
/// </list>
/// </summary>
public static class PairedStatistics
{
    /// <summary>d_i = b_i − a_i; the lists must be the same length.</summary>
    public static double[] Differences(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"paired lists differ in length ({a.Count} and {b.Count})");
        var d = new double[a.Count];
        for (int i = 0; i < d.Length; i++) d[i] = b[i] - a[i];
        return d;
    }

    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? 0 : values.Sum() / values.Count;

    /// <summary>The paired t-test of the differences (n ≥ 2).</summary>
    public static PairedTTest TTest(IReadOnlyList<double> differences)
    {
        int n = CheckCount(differences, 2);
        double mean = Mean(differences);
        double ss = 0;
        foreach (double d in differences) ss += (d - mean) * (d - mean);
        double sd = Math.Sqrt(ss / (n - 1));
        int df = n - 1;
        if (sd == 0 || sd <= 1e-15 * Math.Abs(mean))
            return mean == 0 ? new PairedTTest(n, mean, 0, 0, df, 1) : new PairedTTest(n, mean, sd, mean > 0 ? double.PositiveInfinity : double.NegativeInfinity, df, 0);
        double t = mean / (sd / Math.Sqrt(n));
        return new PairedTTest(n, mean, sd, t, df, StudentT.TwoSidedP(t, df));
    }

    /// <summary>The percentile-bootstrap interval of the mean difference over <paramref name="resamples"/> resamples.</summary>
    public static ConfidenceInterval BootstrapInterval(IReadOnlyList<double> differences, int resamples, int seed, double level = 0.95)
    {
        int n = CheckCount(differences, 1);
        if (resamples < 1) throw new InvalidInputException($"bootstrap resamples must be >= 1, got {resamples}") { Setting = "resamples" };
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "confidence level must be in (0, 1)");
        var rng = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += differences[rng.Next(n)];
            means[r] = sum / n;
        }
        Array.Sort(means);
        double alpha = 1 - level;
        // the lower end at percentile α/2 (> 0 as nearest rank needs); the upper at 1 − α/2
        return new ConfidenceInterval(
            Percentiles.NearestRankOfSorted(means, Math.Max(100 * alpha / 2, 1e-9)),
            Percentiles.NearestRankOfSorted(means, 100 * (1 - alpha / 2)),
            level);
    }

    /// <summary>The two-sided sign-flip randomization p-value over <paramref name="permutations"/> random sign assignments.</summary>
    public static double RandomizationTest(IReadOnlyList<double> differences, int permutations, int seed)
    {
        int n = CheckCount(differences, 1);
        if (permutations < 1) throw new InvalidInputException($"randomization permutations must be >= 1, got {permutations}") { Setting = "permutations" };
        double observed = Math.Abs(differences.Sum());
        double threshold = observed - 1e-12 * Math.Max(observed, differences.Sum(Math.Abs));
        var rng = new Random(seed);
        int atLeast = 0;
        for (int p = 0; p < permutations; p++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += rng.Next(2) == 0 ? differences[i] : -differences[i];
            if (Math.Abs(sum) >= threshold) atLeast++;
        }
        return (atLeast + 1.0) / (permutations + 1.0);
    }

    static int CheckCount(IReadOnlyList<double> differences, int least)
    {
        ArgumentNullException.ThrowIfNull(differences);
        if (differences.Count < least) throw new InvalidInputException($"paired statistics need at least {least} queries, got {differences.Count}");
        foreach (double d in differences)
            if (!double.IsFinite(d)) throw new ArgumentException("differences must be finite", nameof(differences));
        return differences.Count;
    }
}
