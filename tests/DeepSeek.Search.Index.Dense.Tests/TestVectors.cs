namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>Deterministic test vectors (row-major n × d) and a brute-force reference search.</summary>
internal static class TestVectors
{
    /// <summary>n random unit vectors of dimension d, row-major (n × d floats).</summary>
    public static float[] RandomUnit(int n, int d, int seed)
    {
        var random = new Random(seed);
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            var row = data.AsSpan(i * d, d);
            double norm = 0;
            for (int j = 0; j < d; j++)
            {
                // Box-Muller: Gaussian components give directions uniform on the sphere.
                double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                float g = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
                row[j] = g;
                norm += g * g;
            }
            float inv = (float)(1 / Math.Sqrt(norm));
            for (int j = 0; j < d; j++) row[j] *= inv;
        }
        return data;
    }

    public static long[] Ids(int n, long first = 0, long step = 1) =>
        Enumerable.Range(0, n).Select(i => first + i * step).ToArray();

    /// <summary>Score of every stored vector for one query: dot product, or squared L2 distance.</summary>
    public static double Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b, FaissMetric metric)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++)
            s += metric == FaissMetric.InnerProduct ? (double)a[j] * b[j] : ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
        return s;
    }

    /// <summary>Exact top-k (id, score) for query q, best first.</summary>
    public static (long Id, double Score)[] BruteForce(float[] data, long[] ids, int d, ReadOnlySpan<float> query, int k, FaissMetric metric)
    {
        var scored = new (long Id, double Score)[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            scored[i] = (ids[i], Score(data.AsSpan(i * d, d), query, metric));
        var ordered = metric == FaissMetric.InnerProduct
            ? scored.OrderByDescending(s => s.Score)
            : scored.OrderBy(s => s.Score);
        return ordered.Take(k).ToArray();
    }

    /// <summary>Recall of <paramref name="found"/> against the exact top-k ids.</summary>
    public static double Recall(IEnumerable<long> found, IEnumerable<long> exact)
    {
        var truth = exact.ToHashSet();
        return truth.Count == 0 ? 1 : (double)found.Count(truth.Contains) / truth.Count;
    }
}
