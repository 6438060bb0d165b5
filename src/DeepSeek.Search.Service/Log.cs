using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Service;

/// <summary>The service's log messages, each declared once with a stable event id. Query text is never logged.</summary>
static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "serving {IndexRoot} on {Address}: MaxQueryChars {MaxQueryChars}, MaxK {MaxK}, MaxBatchDocuments {MaxBatch}, MaxMessageBytes {MaxMessageBytes}, MaxConcurrentCalls {MaxConcurrent}, MaxQueuedCalls {MaxQueued}, keys {KeysFile}")]
    public static partial void Serving(ILogger logger, string indexRoot, string address, int maxQueryChars, int maxK, int maxBatch, int maxMessageBytes,
        int maxConcurrent, int maxQueued, string keysFile);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Method} failed with {Status}")]
    public static partial void CallFailed(ILogger logger, string method, StatusCode status, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Method} answered {Status}: {Detail}")]
    public static partial void CallRefused(ILogger logger, string method, StatusCode status, string detail);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "compacting collection {Collection} in the background")]
    public static partial void CompactionStarted(ILogger logger, string collection);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "compacted collection {Collection} into {Snapshot}: {Documents} documents, {Reclaimed} rows reclaimed, {Vectors} vectors indexed, {ElapsedMs:F0} ms")]
    public static partial void Compacted(ILogger logger, string collection, string snapshot, long documents, long reclaimed, long vectors, double elapsedMs);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "background compaction of collection {Collection} failed; it keeps serving its current snapshot")]
    public static partial void CompactionFailed(ILogger logger, string collection, Exception exception);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "re-embedding collection {Collection} in the background with the configured encoder {Encoder} (its vectors come from {Current}); the current snapshot serves until the switch")]
    public static partial void ReembedStarted(ILogger logger, string collection, string encoder, string current);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "re-embedded collection {Collection} into {Snapshot}: {Documents} documents, {Chunks} chunks, {Replayed} batches replayed, {ElapsedMs:F0} ms; encoder now {Encoder}")]
    public static partial void Reembedded(ILogger logger, string collection, string snapshot, long documents, long chunks, long replayed, double elapsedMs, string encoder);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "background re-embed of collection {Collection} failed; it keeps serving its current snapshot (the next start tries again)")]
    public static partial void ReembedFailed(ILogger logger, string collection, Exception exception);

    [LoggerMessage(EventId = 16, Level = LogLevel.Information, Message = "background re-embed of collection {Collection} cancelled (shutdown or drop); its current snapshot is unchanged, the next start redoes it")]
    public static partial void ReembedCancelled(ILogger logger, string collection);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "experiments file {Path} loaded: {Running} running, {Stopped} stopped")]
    public static partial void ExperimentsLoaded(ILogger logger, string path, int running, int stopped);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "experiments file {Path} changed but does not load; the experiments loaded before go on serving: {Problem}")]
    public static partial void ExperimentsReloadFailed(ILogger logger, string path, string problem);

    /// <summary>The call log line (category <see cref="Telemetry.TelemetryNames.CallLogCategory"/>): never the query text or a secret.</summary>
    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "call {Method} collection={Collection} status={Status} duration_ms={DurationMs:F2} principal={PrincipalHash} key={KeyId}")]
    public static partial void Call(ILogger logger, string method, string collection, string status, double durationMs, string principalHash, string keyId);
}
