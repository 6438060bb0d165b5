namespace DeepSeek.Search.Rerank;

/// <summary>Scores passages for one query: higher is more relevant. Scores of one call are comparable with each other only.</summary>
public interface IPassageScorer
{
    /// <summary>What the scorer computes, e.g. "query-likelihood".</summary>
    string Method { get; }

    /// <summary>One score per passage, in the order given. Cancellation is checked before every batch.</summary>
    float[] Score(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken = default);
}
