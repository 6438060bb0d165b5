namespace DeepSeek.Search.Ingest;

/// <summary>
/// How a <see cref="DocumentSource"/> treats malformed records. By default a bad record is skipped, counted in the
/// source's <see cref="IngestReport"/> and passed to <see cref="OnProblem"/>; with <see cref="Strict"/> the first one
/// throws <see cref="Core.MalformedRecordException"/>.
/// </summary>
public sealed record IngestOptions
{
    /// <summary>Throw at the first malformed record instead of skipping it.</summary>
    public bool Strict { get; init; }

    /// <summary>How many problems the report keeps verbatim (all of them are counted). Must be ≥ 0.</summary>
    public int MaxReportedProblems { get; init; } = 20;

    /// <summary>Called once for every skipped record, in input order (not called in strict mode).</summary>
    public Action<IngestProblem>? OnProblem { get; init; }

    /// <summary>The defaults: lenient, 20 problems kept, no callback.</summary>
    public static IngestOptions Default { get; } = new();
}
