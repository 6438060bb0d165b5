using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Indexing.Reindex;

namespace DeepSeek.Search.Jobs;

/// <summary>What became of a request to run a job.</summary>
public enum JobOutcomeKind
{
    /// <summary>This runner ran it; <see cref="JobOutcome.Report"/> holds the report.</summary>
    Ran,
    /// <summary>Another runner holds the job (its lease has not lapsed): nothing done.</summary>
    Busy,
    /// <summary>The job finished successfully less than <see cref="RunnerOptions.MinInterval"/> ago: nothing done.</summary>
    RecentlyRan,
    /// <summary>Another runner claimed the job between this one's read and its claim (ETag mismatch): nothing done.</summary>
    LostRace,
}

/// <summary>The outcome of <see cref="ReindexRunner.RunAsync"/>; <see cref="Message"/> says it in one line.</summary>
public sealed record JobOutcome(JobOutcomeKind Kind, string JobKey, string Message, ReindexReport? Report = null, bool Published = false);

/// <summary>Settings of a runner.</summary>
public sealed record RunnerOptions
{
    /// <summary>Who runs: written into the claim (default host/pid/random).</summary>
    public string Owner { get; init; } = DefaultOwner();
    /// <summary>How long a claim holds the job; a runner that crashed loses it after this (default 6 h).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromHours(6);
    /// <summary>A job that finished successfully less than this ago is not run again (0: always run). Replicas that all get the
    /// same cron trigger run it once.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.Zero;
    /// <summary>The caller holds the collection's writer lock for the run (<c>dss reindex</c>): a claim found in the state is then a
    /// dead runner's (a killed one's), taken over at once so the run continues; with shared state across replicas leave it false.</summary>
    public bool WriterLockHeld { get; init; }

    public static string DefaultOwner() => $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>
/// The one runner of the re-index job, for <c>dss reindex</c> (local state, <see cref="NoJobEvents"/>) and for dss serve's Dapr
/// cron route (<see cref="DaprJobStateStore"/>, <see cref="DaprJobEvents"/>):
/// <list type="number">
/// <item>read the job's state and ETag; another runner's unexpired claim → <see cref="JobOutcomeKind.Busy"/>; a successful run
/// within <see cref="RunnerOptions.MinInterval"/> → <see cref="JobOutcomeKind.RecentlyRan"/>;</item>
/// <item>claim it: write the state with this runner as owner, a new claim id and a lease, with the ETag read — a mismatch means
/// another runner claimed it first → <see cref="JobOutcomeKind.LostRace"/>, nothing run (so two runners never run one job twice);</item>
/// <item>run Indexing's <see cref="ReindexJob"/> through the collection's <see cref="CollectionWriter"/> (the only write path);</item>
/// <item>re-read, and if the claim is still this run's, write the finished state (watermark: the collection's last sequence
/// number, time, status, report; the claim cleared — the lease released) with that ETag;</item>
/// <item>publish <see cref="ReindexedEvent"/> (after a successful run only).</item>
/// </list>
/// A failed run records <see cref="ReindexJobState.Failed"/> with the error, releases the claim and rethrows; the job's own run
/// record in the store makes the next run continue it.
/// </summary>
public sealed class ReindexRunner
{
    readonly IJobStateStore _state;
    readonly IJobEvents _events;
    readonly RunnerOptions _options;
    readonly TimeProvider _time;

    public ReindexRunner(IJobStateStore state, IJobEvents events, RunnerOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(events);
        _state = state;
        _events = events;
        _options = options ?? new RunnerOptions();
        _time = time ?? TimeProvider.System;
    }

    public RunnerOptions Options => _options;

    /// <summary>The default key of a collection's job.</summary>
    public static string DefaultJobKey(string collection) => $"reindex-{collection}";

    /// <summary>Runs the job <paramref name="jobKey"/>: a re-index of the collection <paramref name="writer"/> holds from <paramref name="sources"/>.</summary>
    public async Task<JobOutcome> RunAsync(string jobKey, CollectionWriter writer, IReadOnlyList<ReindexSource> sources, ReindexOptions? reindexOptions = null,
        IProgress<ProgressEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobKey);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(sources);
        var now = _time.GetUtcNow().UtcDateTime;
        var (state, etag) = await _state.ReadAsync(jobKey, cancellationToken).ConfigureAwait(false);
        state ??= new ReindexJobState();
        if (state.IsHeld(now) && state.Owner != _options.Owner && !_options.WriterLockHeld)
            return new JobOutcome(JobOutcomeKind.Busy, jobKey,
                $"job {jobKey} is running on {state.Owner} since {state.RunningSinceUtc:u} (lease until {state.LeaseUntilUtc:u}): not run here");
        if (_options.MinInterval > TimeSpan.Zero && state is { LastStatus: ReindexJobState.Succeeded, LastFinishedUtc: { } last } && now - last < _options.MinInterval)
            return new JobOutcome(JobOutcomeKind.RecentlyRan, jobKey,
                $"job {jobKey} last ran {last:u} (run {state.LastRunId}), less than {_options.MinInterval} ago: not run again");

        var claim = state with
        {
            Owner = _options.Owner,
            ClaimId = Guid.NewGuid().ToString("N"),
            RunningSinceUtc = now,
            LeaseUntilUtc = now + _options.Lease,
        };
        if (!await _state.TryWriteAsync(jobKey, claim, etag, cancellationToken).ConfigureAwait(false))
            return new JobOutcome(JobOutcomeKind.LostRace, jobKey,
                $"job {jobKey} was claimed by another runner first (ETag mismatch in {_state.Describe}): not run here");

        ReindexReport report;
        try
        {
            report = await Task.Run(() => ReindexJob.Run(writer, sources, reindexOptions, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await FinishAsync(jobKey, claim, s => s with
            {
                LastStartedUtc = claim.RunningSinceUtc,
                LastFinishedUtc = _time.GetUtcNow().UtcDateTime,
                LastStatus = ReindexJobState.Failed,
                LastError = $"{ex.GetType().Name}: {ex.Message}",
                Runs = s.Runs + 1,
            }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var finished = _time.GetUtcNow().UtcDateTime;
        bool kept = await FinishAsync(jobKey, claim, s => s with
        {
            LastRunId = report.RunId,
            LastStartedUtc = claim.RunningSinceUtc,
            LastFinishedUtc = finished,
            LastStatus = ReindexJobState.Succeeded,
            LastError = null,
            LastSeq = report.LastSeq,
            Runs = s.Runs + 1,
            LastReport = report,
        }, cancellationToken).ConfigureAwait(false);
        await _events.PublishReindexedAsync(new ReindexedEvent(jobKey, report.Collection, _options.Owner, finished, report), cancellationToken).ConfigureAwait(false);
        string message = $"job {jobKey}: reindex run {report.RunId} of '{report.Collection}': {report.Added} added, {report.Changed} changed, " +
                         $"{report.Unchanged} unchanged, {report.Deleted} deleted; last seq {report.LastSeq}";
        if (!kept) message += $" (warning: the claim was taken over while it ran, so its state was not recorded in {_state.Describe})";
        return new JobOutcome(JobOutcomeKind.Ran, jobKey, message, report, _events is not NoJobEvents);
    }

    /// <summary>Writes the finished state if the claim is still this run's; false when another runner took it over (lease lapsed).</summary>
    async Task<bool> FinishAsync(string jobKey, ReindexJobState claim, Func<ReindexJobState, ReindexJobState> finish, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var (current, etag) = await _state.ReadAsync(jobKey, cancellationToken).ConfigureAwait(false);
            if (current is null || current.ClaimId != claim.ClaimId) return false;
            var done = finish(current) with { Owner = null, ClaimId = null, RunningSinceUtc = null, LeaseUntilUtc = null };
            if (await _state.TryWriteAsync(jobKey, done, etag, cancellationToken).ConfigureAwait(false)) return true;
        }
        return false;
    }
}
