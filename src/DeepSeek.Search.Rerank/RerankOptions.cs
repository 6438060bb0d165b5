using DeepSeek.Search.Core;

namespace DeepSeek.Search.Rerank;

/// <summary>How a first-stage ranking is re-ranked.</summary>
public sealed record RerankOptions
{
    public const int DefaultDepth = 100;
    public const float DefaultWeight = 0.5f;

    /// <summary>How many of the first stage's top hits are re-scored (the rest keep their order below them).</summary>
    public int Depth { get; init; } = DefaultDepth;

    /// <summary>
    /// The re-ranker's share of the final score: final = w · rerank' + (1 − w) · first', both min-max normalised over the
    /// re-scored candidates (Core's <c>MinMaxFusion</c>). 1 = the re-ranker alone, 0 = the first stage unchanged.
    /// </summary>
    public float Weight { get; init; } = DefaultWeight;

    public void Validate()
    {
        if (Depth < 1 || Depth > 1000) throw new InvalidInputException($"rerank depth must be between 1 and 1000, got {Depth}") { Setting = "rerank_depth" };
        if (!(Weight >= 0 && Weight <= 1)) throw new InvalidInputException($"rerank weight must be in [0, 1], got {Weight}") { Setting = "rerank_weight" };
    }
}
