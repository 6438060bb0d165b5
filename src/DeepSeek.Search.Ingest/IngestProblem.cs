namespace DeepSeek.Search.Ingest;

/// <summary>One malformed input record: the file it came from, its 1-based line (1 for whole-file problems) and what is wrong.</summary>
public sealed record IngestProblem(string File, long Line, string Problem)
{
    /// <summary>"file:line: problem", the same shape as <see cref="Core.MalformedRecordException"/>'s message.</summary>
    public override string ToString() => $"{File}:{Line}: {Problem}";
}
