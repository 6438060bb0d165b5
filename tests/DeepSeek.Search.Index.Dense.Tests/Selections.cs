namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>Random id selections for filtered-search tests, and the selected part of a data set.</summary>
internal static class Selections
{
    /// <summary>round(ids.Length × fraction) distinct ids drawn from <paramref name="ids"/> (at least one when fraction &gt; 0).</summary>
    public static IdSelection Random(long[] ids, double fraction, long capacity, int seed)
    {
        int count = fraction <= 0 ? 0 : Math.Max(1, (int)Math.Round(ids.Length * fraction));
        var shuffled = (long[])ids.Clone();
        new Random(seed).Shuffle(shuffled);
        var selection = new IdSelection(capacity);
        foreach (long id in shuffled.Take(count)) selection.Add(id);
        return selection;
    }

    /// <summary>The rows (row-major) and ids of the vectors whose id the selection contains.</summary>
    public static (float[] Data, long[] Ids) Subset(float[] data, long[] ids, int d, IdSelection selection)
    {
        var keep = Enumerable.Range(0, ids.Length).Where(i => selection.Contains(ids[i])).ToArray();
        return (keep.SelectMany(i => data.AsSpan(i * d, d).ToArray()).ToArray(), keep.Select(i => ids[i]).ToArray());
    }
}
