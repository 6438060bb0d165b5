using DeepSeek.Search.Indexing.Reindex;

namespace DeepSeek.Search.Jobs;

/// <summary>
/// The state of one re-index job (one key of the job state store): who runs it now (<see cref="Owner"/>, <see cref="ClaimId"/>,
/// <see cref="LeaseUntilUtc"/>: the lease, null when idle) and the watermark of the last run (<see cref="LastSeq"/>, the
/// collection's sequence number after it, and <see cref="LastFinishedUtc"/>), with its status and report.
/// </summary>
public sealed record ReindexJobState
{
    /// <summary>The runner holding the job (host/pid/instance), null when no run is in progress.</summary>
    public string? Owner { get; init; }
    /// <summary>The claim of the run in progress: a new one per run, so a runner whose lease was taken over can tell.</summary>
    public string? ClaimId { get; init; }
    public DateTime? RunningSinceUtc { get; init; }
    /// <summary>When the lease of the run in progress lapses (a crashed runner's claim is taken over after it).</summary>
    public DateTime? LeaseUntilUtc { get; init; }

    public string? LastRunId { get; init; }
    public DateTime? LastStartedUtc { get; init; }
    public DateTime? LastFinishedUtc { get; init; }
    /// <summary>"succeeded" or "failed".</summary>
    public string? LastStatus { get; init; }
    public string? LastError { get; init; }
    /// <summary>The watermark: the collection's last sequence number when the last run finished.</summary>
    public long LastSeq { get; init; }
    /// <summary>Runs finished (succeeded or failed) under this key.</summary>
    public long Runs { get; init; }
    public ReindexReport? LastReport { get; init; }

    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    /// <summary>A run holds the job now (a claim whose lease has not lapsed at <paramref name="nowUtc"/>).</summary>
    public bool IsHeld(DateTime nowUtc) => ClaimId is not null && LeaseUntilUtc is { } until && until > nowUtc;
}

/// <summary>A state read: the value (null: the key holds nothing) and its ETag ("" for an absent key).</summary>
public readonly record struct JobStateEntry(ReindexJobState? State, string ETag);

/// <summary>
/// Where a job's state lives, with optimistic concurrency: <see cref="TryWriteAsync"/> succeeds only when the key's ETag is
/// still the one read (an absent key: "" — the write then succeeds only if nobody created the key meanwhile). Implemented
/// by <see cref="LocalJobStateStore"/> (a JSON file next to the collection) and <see cref="DaprJobStateStore"/> (a Dapr
/// state store, first-write concurrency).
/// </summary>
public interface IJobStateStore
{
    /// <summary>What the store calls itself in messages (a file path, or "dapr state store 'S'").</summary>
    string Describe { get; }

    Task<JobStateEntry> ReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="state"/> if the key's ETag is still <paramref name="etag"/>; false on a mismatch (another writer won).</summary>
    Task<bool> TryWriteAsync(string key, ReindexJobState state, string etag, CancellationToken cancellationToken = default);
}

/// <summary>The <c>documents.reindexed</c> event: the job, the runner and the run's report.</summary>
public sealed record ReindexedEvent(string JobKey, string Collection, string Owner, DateTime FinishedUtc, ReindexReport Report);

/// <summary>Where a finished run is announced: nowhere (<see cref="NoJobEvents"/>) or a Dapr pub/sub topic (<see cref="DaprJobEvents"/>).</summary>
public interface IJobEvents
{
    Task PublishReindexedAsync(ReindexedEvent reindexed, CancellationToken cancellationToken = default);
}

/// <summary>Without a sidecar a finished run is announced only by its report (the CLI prints it).</summary>
public sealed class NoJobEvents : IJobEvents
{
    public static NoJobEvents Instance { get; } = new();

    public Task PublishReindexedAsync(ReindexedEvent reindexed, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
