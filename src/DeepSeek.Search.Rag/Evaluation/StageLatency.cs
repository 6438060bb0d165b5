using DeepSeek.Search.Core;

namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>The latency of one stage over the questions answered: nearest-rank median, p90 and p99 (<see cref="Percentiles"/>), mean and max, in ms.</summary>
public sealed record StageLatency(string Stage, int Count, double MedianMs, double P90Ms, double P99Ms, double MeanMs, double MaxMs)
{
    /// <summary>The stages of <see cref="RagTimings"/>, in pipeline order: their names in reports and how each is read.</summary>
    public static readonly IReadOnlyList<(string Stage, Func<RagTimings, double> Read)> Stages =
    [
        ("retrieve", t => t.RecallMs),
        ("rerank", t => t.RerankMs),
        ("prompt", t => t.PromptMs),
        ("first_token", t => t.FirstTokenMs),
        ("generate", t => t.GenerateMs),
        ("total", t => t.TotalMs),
    ];

    /// <summary>The latency of <paramref name="stage"/> over <paramref name="valuesMs"/>; all zero when there are none.</summary>
    public static StageLatency Of(string stage, IReadOnlyList<double> valuesMs)
    {
        ArgumentNullException.ThrowIfNull(valuesMs);
        if (valuesMs.Count == 0) return new StageLatency(stage, 0, 0, 0, 0, 0, 0);
        var sorted = valuesMs.Order().ToArray();
        return new StageLatency(stage, sorted.Length, Percentiles.NearestRankOfSorted(sorted, 50), Percentiles.NearestRankOfSorted(sorted, 90),
            Percentiles.NearestRankOfSorted(sorted, 99), sorted.Average(), sorted[^1]);
    }

    /// <summary>Every stage of <see cref="Stages"/> over <paramref name="timings"/>.</summary>
    public static IReadOnlyList<StageLatency> OfAll(IReadOnlyList<RagTimings> timings)
    {
        ArgumentNullException.ThrowIfNull(timings);
        return Stages.Select(s => Of(s.Stage, timings.Select(s.Read).ToList())).ToList();
    }
}
