namespace DeepSeek.Search.Core.Fusion;

/// <summary>How hybrid search merges the lexical and dense lists.</summary>
public enum FusionMethod
{
    /// <summary>Reciprocal rank fusion, k = 60.</summary>
    Rrf,
    /// <summary>Min-max normalised convex combination with weight alpha on the dense side.</summary>
    MinMax,
}
