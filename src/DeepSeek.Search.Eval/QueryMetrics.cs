namespace DeepSeek.Search.Eval;

/// <summary>
/// One evaluated query: its metrics at the report's cutoffs, how many judged documents are relevant, and how many
/// results the run returned for it.
/// </summary>
public sealed record QueryMetrics(string QueryId, double Ndcg, double Recall, double Mrr, int Relevant, int Retrieved);
