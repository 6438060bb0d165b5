namespace DeepSeek.Search.Train;

/// <summary>Linear warmup to the peak, then linear decay towards 0 at the last step (the BERT / DPR schedule).</summary>
public static class LearningRateSchedule
{
    /// <summary>The rate of update <paramref name="step"/> (0-based) of <paramref name="total"/>, with <paramref name="warmup"/> warmup updates.</summary>
    public static double At(long step, long total, long warmup, double peak)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        return peak * Math.Max(0.0, (double)(total - step) / Math.Max(1, total - warmup));
    }

    /// <summary>Warmup updates: explicit, else the ratio of the total (rounded).</summary>
    public static long WarmupSteps(long total, double ratio, int? steps) =>
        steps is int s ? Math.Min(s, total) : (long)Math.Round(ratio * total, MidpointRounding.AwayFromZero);
}
