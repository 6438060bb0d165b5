namespace DeepSeek.Search.Core;

/// <summary>
/// Percentiles of measured values (latencies), the one definition the reports share: the nearest-rank method. The p-th
/// percentile (0 &lt; p ≤ 100) of n values sorted ascending is the value at 1-based rank ⌈p/100 · n⌉, so it is always one
/// of the values measured (never an interpolation between two): with 10 values p50 is the 5th, p90 the 9th, p99 the 10th.
/// </summary>
public static class Percentiles
{
    /// <summary>
    /// The <paramref name="percent"/>-th percentile of <paramref name="values"/> (any order) by nearest rank; NaN when there are
    /// none. <paramref name="percent"/> must be in (0, 100]; NaN values are refused.
    /// </summary>
    public static double NearestRank(IEnumerable<double> values, double percent)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.ToArray();
        if (Array.Exists(sorted, double.IsNaN)) throw new ArgumentException("values must not contain NaN", nameof(values));
        Array.Sort(sorted);
        return NearestRankOfSorted(sorted, percent);
    }

    /// <summary>As <see cref="NearestRank"/>, for values already sorted ascending (not checked).</summary>
    public static double NearestRankOfSorted(IReadOnlyList<double> sorted, double percent)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (!(percent > 0 && percent <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "a percentile must be in (0, 100]");
        if (sorted.Count == 0) return double.NaN;
        // the rank in exact decimal arithmetic: 0.9 * 10 in doubles is 9.000000000000002, whose ceiling would be 10
        int rank = (int)Math.Ceiling((decimal)percent / 100m * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
