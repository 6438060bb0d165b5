namespace DeepSeek.Search.Training;

/// <summary>
/// Linear warmup to the peak, then linear decay towards <c>floor</c> (0 by default: the BERT / DPR schedule) at the last step, or
/// cosine decay to <c>floor</c> (the usual language-model schedule).
/// </summary>
public static class LearningRateSchedule
{
    /// <summary>The rate of update <paramref name="step"/> (0-based) of <paramref name="total"/>, with <paramref name="warmup"/> warmup updates.</summary>
    public static double At(long step, long total, long warmup, double peak, double floor = 0)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        return floor + (peak - floor) * Math.Max(0.0, (double)(total - step) / Math.Max(1, total - warmup));
    }

    /// <summary>Linear warmup, then half a cosine from <paramref name="peak"/> (first update after warmup) down to <paramref name="floor"/>.</summary>
    public static double Cosine(long step, long total, long warmup, double peak, double floor = 0)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = Math.Min(1.0, (double)(step - warmup) / Math.Max(1, total - warmup));
        return floor + (peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Warmup updates: explicit, else the ratio of the total (rounded).</summary>
    public static long WarmupSteps(long total, double ratio, int? steps) =>
        steps is int s ? Math.Min(s, total) : (long)Math.Round(ratio * total, MidpointRounding.AwayFromZero);
}
