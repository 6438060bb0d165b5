using DeepSeek.Search.Core;
using DeepSeek.Search.Eval.Comparison;

namespace DeepSeek.Search.Eval.Tests.Comparison;

/// <summary>Student t, the paired t-test, the bootstrap interval, the randomization test and Holm against hand-computed and known values.</summary>
public class StatisticsTests
{
    // Two-sided p-values. The first from the printed critical values of Student's t (t_{0.975}: df 4 → 2.776, df 10 → 2.228),
    // all to 7 digits as SciPy 1.10 gives them: 2 * scipy.stats.t.sf(t, df).
    [Theory]
    [InlineData(2.776, 4, 0.0500227783)]
    [InlineData(2.228, 10, 0.0500117718)]
    [InlineData(1.0, 10, 0.3408931323)]
    [InlineData(3.0, 1000, 0.0027667090)]
    [InlineData(0.0, 7, 1.0)]
    [InlineData(-2.776, 4, 0.0500227783)]
    public void Two_sided_p_matches_tables(double t, int df, double p)
    {
        Assert.Equal(p, StudentT.TwoSidedP(t, df), 9);
    }

    [Fact]
    public void Cdf_matches_closed_forms_for_one_and_two_degrees_of_freedom()
    {
        // ν = 1 is the Cauchy distribution: F(t) = ½ + atan(t)/π; ν = 2: F(t) = ½ + t / (2 √(t² + 2))
        for (double t = -30; t <= 30; t += 0.37)
        {
            Assert.Equal(0.5 + Math.Atan(t) / Math.PI, StudentT.Cdf(t, 1), 12);
            Assert.Equal(0.5 + t / (2 * Math.Sqrt(t * t + 2)), StudentT.Cdf(t, 2), 12);
        }
        Assert.Equal(0.1152919326, StudentT.Cdf(-1.5, 3), 9); // scipy.stats.t.cdf(-1.5, 3)
        Assert.Equal(0, StudentT.Cdf(double.NegativeInfinity, 5));
        Assert.Equal(1, StudentT.Cdf(double.PositiveInfinity, 5));
    }

    [Fact]
    public void Large_degrees_of_freedom_approach_the_normal()
    {
        // Φ(1.959964) = 0.975: two-sided 0.05 for the normal; ν = 10^6 differs from it by ~1e-7
        Assert.Equal(0.05, StudentT.TwoSidedP(1.959963985, 1_000_000), 6);
    }

    [Fact]
    public void Paired_t_test_by_hand()
    {
        // a and b over 5 queries, d = b − a = 0.1, 0.2, 0.3, 0.0, 0.4
        // mean 0.2; deviations −0.1, 0, 0.1, −0.2, 0.2 → Σ² = 0.10, s² = 0.10/4 = 0.025, s = 0.158114
        // se = s/√5 = 0.0707107, t = 0.2/0.0707107 = 2.828427, df 4
        // tables: t_{0.975,4} = 2.776, t_{0.99,4} = 3.747, so 0.02 < p < 0.05; SciPy ttest_rel: p = 0.04742065558
        double[] a = [0.5, 0.3, 0.2, 0.9, 0.1];
        double[] b = [0.6, 0.5, 0.5, 0.9, 0.5];
        var d = PairedStatistics.Differences(a, b);
        var t = PairedStatistics.TTest(d);
        Assert.Equal(5, t.N);
        Assert.Equal(0.2, t.MeanDifference, 12);
        Assert.Equal(Math.Sqrt(0.025), t.StandardDeviation, 12);
        Assert.Equal(2 * Math.Sqrt(2), t.T, 10);
        Assert.Equal(4, t.DegreesOfFreedom);
        Assert.InRange(t.P, 0.02, 0.05);
        Assert.Equal(0.04742065558, t.P, 9);
        // reversing the pair flips t, keeps p
        var back = PairedStatistics.TTest(PairedStatistics.Differences(b, a));
        Assert.Equal(-t.T, back.T, 12);
        Assert.Equal(t.P, back.P, 14);
    }

    [Fact]
    public void Identical_runs_give_zero_difference_and_p_one()
    {
        double[] zeros = new double[12];
        var t = PairedStatistics.TTest(zeros);
        Assert.Equal(0, t.MeanDifference);
        Assert.Equal(0, t.T);
        Assert.Equal(1, t.P);
        Assert.Equal(1, PairedStatistics.RandomizationTest(zeros, 1000, 7));
        var ci = PairedStatistics.BootstrapInterval(zeros, 1000, 7);
        Assert.Equal((0.0, 0.0), (ci.Low, ci.High));
    }

    [Fact]
    public void A_constant_nonzero_difference_is_certain()
    {
        var t = PairedStatistics.TTest([0.1, 0.1, 0.1, 0.1]);
        Assert.Equal(double.PositiveInfinity, t.T);
        Assert.Equal(0, t.P);
    }

    static readonly double[] Tiny = [0.30, -0.10, 0.20, 0.25, 0.05, -0.15, 0.40, 0.10, -0.35, 0.15, -0.05];

    [Fact]
    public void Randomization_p_is_the_exact_sign_flip_p_within_its_error()
    {
        // exact: all 2^11 = 2048 sign assignments, the fraction with |Σ| ≥ |observed Σ| (the observed one included)
        int n = Tiny.Length, atLeast = 0;
        double observed = Math.Abs(Tiny.Sum());
        for (int mask = 0; mask < 1 << n; mask++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += (mask >> i & 1) == 1 ? -Tiny[i] : Tiny[i];
            if (Math.Abs(s) >= observed - 1e-12) atLeast++;
        }
        double exact = (double)atLeast / (1 << n);
        Assert.InRange(exact, 0.05, 0.5); // a case where the p-value is neither trivial nor tiny

        const int N = 20_000;
        double mc = PairedStatistics.RandomizationTest(Tiny, N, 11);
        double se = Math.Sqrt(exact * (1 - exact) / N);
        Assert.True(Math.Abs(mc - exact) <= 4 * se + 1.0 / N, $"Monte-Carlo p {mc} vs exact {exact} (se {se})");
        Assert.Equal(mc, PairedStatistics.RandomizationTest(Tiny, N, 11)); // seeded: the same again
    }

    [Fact]
    public void Randomization_p_counts_the_observed_assignment()
    {
        // 3 equal positive differences: only all-plus and all-minus reach |Σ| = 0.3, exact p = 2/8
        double p = PairedStatistics.RandomizationTest([0.1, 0.1, 0.1], 100_000, 3);
        Assert.Equal(0.25, p, 2);
        // p = (count + 1) / (permutations + 1) is never 0, and never below 1/(permutations + 1)
        double[] strong = Enumerable.Range(0, 40).Select(i => 0.5 + i * 0.01).ToArray();
        Assert.Equal(1.0 / 1001, PairedStatistics.RandomizationTest(strong, 1000, 1), 12);
    }

    [Fact]
    public void Bootstrap_interval_holds_the_mean_and_shrinks_with_more_queries()
    {
        var rng = new Random(5);
        double[] Draw(int n) => Enumerable.Range(0, n).Select(_ => 0.05 + (rng.NextDouble() - 0.5)).ToArray();
        var small = Draw(20);
        var large = Draw(2000);
        var ciSmall = PairedStatistics.BootstrapInterval(small, 10_000, 1);
        var ciLarge = PairedStatistics.BootstrapInterval(large, 10_000, 1);
        Assert.InRange(small.Average(), ciSmall.Low, ciSmall.High);
        Assert.InRange(large.Average(), ciLarge.Low, ciLarge.High);
        // width ∝ 1/√n: 100× the queries, about a tenth of the width
        double ratio = (ciLarge.High - ciLarge.Low) / (ciSmall.High - ciSmall.Low);
        Assert.InRange(ratio, 0.06, 0.16);
        // the 95% interval of a mean with sd σ is about ±1.96 σ/√n (σ of U(−½, ½) is 1/√12)
        double expected = 2 * 1.96 / Math.Sqrt(12) / Math.Sqrt(2000);
        Assert.InRange(ciLarge.High - ciLarge.Low, 0.9 * expected, 1.1 * expected);
        Assert.Equal(ciSmall, PairedStatistics.BootstrapInterval(small, 10_000, 1));
        Assert.NotEqual(ciSmall, PairedStatistics.BootstrapInterval(small, 10_000, 2));
    }

    [Fact]
    public void Holm_on_a_known_example()
    {
        // p = 0.01, 0.04, 0.03, 0.005 (m = 4): sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max so far 0.06
        var adjusted = Holm.Adjust([0.01, 0.04, 0.03, 0.005]);
        Assert.Equal([0.03, 0.06, 0.06, 0.02], adjusted.Select(p => Math.Round(p, 12)));
        Assert.Equal([1.0, 1.0], Holm.Adjust([0.5, 0.6]));
        Assert.Equal([0.2], Holm.Adjust([0.2]));
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<InvalidInputException>(() => PairedStatistics.TTest([0.1]));
        Assert.Throws<InvalidInputException>(() => PairedStatistics.BootstrapInterval([0.1, 0.2], 0, 1));
        Assert.Throws<InvalidInputException>(() => PairedStatistics.RandomizationTest([0.1, 0.2], 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Cdf(1, 0));
    }
}
