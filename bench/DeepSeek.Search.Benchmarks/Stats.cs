using System.Diagnostics;

namespace DeepSeek.Search.Benchmarks;

/// <summary>Repeated timing with a median: single timings are never reported.</summary>
public static class Stats
{
    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then <paramref name="repeats"/> times timed; returns the seconds of each timed run.</summary>
    public static double[] Time(Action action, int repeats, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) action();
        var result = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            result[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        return result;
    }

    /// <summary>
    /// Times two sides of a comparison in alternating rounds (ours, peer; then peer, ours; …), so drift in the machine's
    /// load falls on both. Each function runs one timed unit of work and returns its seconds.
    /// </summary>
    public static (double[] Ours, double[] Peer) Alternate(Func<double> ours, Func<double> peer, int rounds)
    {
        ours(); peer(); // warm-up, untimed
        var a = new double[rounds];
        var b = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            if (r % 2 == 0) { a[r] = ours(); b[r] = peer(); }
            else { b[r] = peer(); a[r] = ours(); }
        }
        return (a, b);
    }

    /// <summary>
    /// Times several variants in interleaved rounds, the order rotating each round, each timed call preceded by
    /// <paramref name="settle"/> of idle time so that threads a runtime leaves spinning after its call (ONNX Runtime's
    /// intra-op pool spins for tens of milliseconds by default) are not charged to the variant that runs next. One warm-up
    /// call each, untimed. Returns the seconds of each variant's timed calls, in the order given.
    /// </summary>
    public static double[][] Interleave(IReadOnlyList<Func<double>> variants, int rounds, TimeSpan settle)
    {
        foreach (var v in variants) v();
        var result = variants.Select(_ => new double[rounds]).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < variants.Count; i++)
            {
                int v = (i + r) % variants.Count;
                if (settle > TimeSpan.Zero) Thread.Sleep(settle);
                result[v][r] = variants[v]();
            }
        return result;
    }

    /// <summary>Seconds one call of <paramref name="action"/> takes.</summary>
    public static double Seconds(Action action)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Per-round ratios ours[r] / peer[r] of two rates measured in the same rounds (<see cref="Alternate"/>).</summary>
    public static double[] Ratios(double[] ours, double[] peer) => ours.Zip(peer, (a, b) => a / b).ToArray();

    /// <summary>"min–max" of the values, with <paramref name="format"/>: the spread printed beside a median.</summary>
    public static string Spread(IEnumerable<double> values, string format = "G3")
    {
        var v = values.ToArray();
        return $"{v.Min().ToString(format, System.Globalization.CultureInfo.InvariantCulture)}–{v.Max().ToString(format, System.Globalization.CultureInfo.InvariantCulture)}";
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return double.NaN;
        double rank = p / 100.0 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
