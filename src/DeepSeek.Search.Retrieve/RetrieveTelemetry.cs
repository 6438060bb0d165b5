using System.Diagnostics;

namespace DeepSeek.Search.Retrieve;

/// <summary>
/// The trace spans of searches: one per stage (<c>search.encode</c>, <c>search.bm25</c>, <c>search.dense</c>,
/// <c>search.fuse</c>, <c>search.fetch</c>) from the source <see cref="SourceName"/>, children of whatever span is current
/// (the service's per-call span). Register the name with a tracer provider to export them.
/// </summary>
public static class RetrieveTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name of the search stages.</summary>
    public const string SourceName = "DeepSeek.Search.Retrieve";

    internal static readonly ActivitySource Source = new(SourceName);
}
