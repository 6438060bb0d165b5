namespace DeepSeek.Search.Eval;

/// <summary>Metric cutoffs: nDCG@10, Recall@100 and MRR@10 by default (BEIR's headline numbers).</summary>
public sealed record EvalOptions
{
    public int NdcgAt { get; init; } = 10;
    public int RecallAt { get; init; } = 100;
    public int MrrAt { get; init; } = 10;

    public static EvalOptions Default { get; } = new();
}
