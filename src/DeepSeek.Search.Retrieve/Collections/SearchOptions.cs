using DeepSeek.Search.Core;
using DeepSeek.Search.Retrieve.Fusion;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>Options of one search call. <see cref="Mode"/> null means hybrid when the collection has a dense index, else BM25.</summary>
public sealed record SearchOptions
{
    public SearchMode? Mode { get; init; }
    public int K { get; init; } = 10;
    public FusionMethod Fusion { get; init; } = FusionMethod.Rrf;
    public float Alpha { get; init; } = MinMaxFusion.DefaultAlpha;
    /// <summary>How deep each side is retrieved before fusion; at least <see cref="K"/>.</summary>
    public int Depth { get; init; } = 100;
    /// <summary>Queries longer than this many characters are rejected (a query is not a document).</summary>
    public int MaxQueryChars { get; init; } = 8192;

    public void Validate()
    {
        if (K < 1 || K > 10_000) throw new InvalidInputException($"k must be between 1 and 10000, got {K}");
        if (Depth < 1 || Depth > 100_000) throw new InvalidInputException($"depth must be between 1 and 100000, got {Depth}");
        if (!(Alpha >= 0 && Alpha <= 1)) throw new InvalidInputException($"alpha must be in [0, 1], got {Alpha}");
    }
}
