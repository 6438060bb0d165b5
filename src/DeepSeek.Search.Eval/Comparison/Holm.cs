namespace DeepSeek.Search.Eval.Comparison;

/// <summary>
/// The Holm–Bonferroni step-down correction of m p-values (Holm 1979): sort ascending p_(1) ≤ … ≤ p_(m); the adjusted value of
/// p_(i) is max over j ≤ i of min(1, (m − j + 1) · p_(j)), so adjusted values keep the raw order and never exceed 1. Rejecting
/// where the adjusted p ≤ α controls the family-wise error rate at α.
/// </summary>
public static class Holm
{
    /// <summary>The adjusted p-values, in the order of <paramref name="pValues"/>.</summary>
    public static double[] Adjust(IReadOnlyList<double> pValues)
    {
        ArgumentNullException.ThrowIfNull(pValues);
        int m = pValues.Count;
        foreach (double p in pValues)
            if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(pValues), p, "p-values must be in [0, 1]");
        var order = Enumerable.Range(0, m).OrderBy(i => pValues[i]).ThenBy(i => i).ToArray();
        var adjusted = new double[m];
        double running = 0;
        for (int rank = 0; rank < m; rank++)
        {
            int i = order[rank];
            running = Math.Max(running, Math.Min(1, (m - rank) * pValues[i]));
            adjusted[i] = running;
        }
        return adjusted;
    }
}
