using Dapr.Client;

namespace DeepSeek.Search.Jobs;

/// <summary>
/// Job state in a Dapr state store through the sidecar (Dapr.Client, gRPC <c>GetState</c> / <c>SaveState</c>): reads return
/// the key's ETag; every write carries the ETag it read with <c>concurrency: first-write</c>, so of two replicas that read
/// the same state only one write lands — the other gets the sidecar's ETag mismatch (gRPC ABORTED), which Dapr.Client's
/// <c>TrySaveStateAsync</c> reports as false. For an absent key the ETag is "" (Redis: insert only if still absent).
/// </summary>
public sealed class DaprJobStateStore : IJobStateStore
{
    readonly DaprClient _client;
    readonly string _store;

    public DaprJobStateStore(DaprClient client, string storeName)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(storeName);
        _client = client;
        _store = storeName;
    }

    public string Describe => $"dapr state store '{_store}'";

    public async Task<JobStateEntry> ReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var (value, etag) = await _client.GetStateAndETagAsync<ReindexJobState?>(_store, key, ConsistencyMode.Strong, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return new JobStateEntry(value, etag ?? "");
    }

    public Task<bool> TryWriteAsync(string key, ReindexJobState state, string etag, CancellationToken cancellationToken = default) =>
        _client.TrySaveStateAsync(_store, key, state, etag ?? "",
            new StateOptions { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong }, cancellationToken: cancellationToken);
}

/// <summary><c>documents.reindexed</c> through the sidecar's pub/sub (gRPC <c>PublishEvent</c>, JSON data; Dapr wraps it in a CloudEvent).</summary>
public sealed class DaprJobEvents : IJobEvents
{
    readonly DaprClient _client;
    readonly string _pubsub, _topic;

    public DaprJobEvents(DaprClient client, string pubsubName, string topic)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(pubsubName);
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        _client = client;
        _pubsub = pubsubName;
        _topic = topic;
    }

    public Task PublishReindexedAsync(ReindexedEvent reindexed, CancellationToken cancellationToken = default) =>
        _client.PublishEventAsync(_pubsub, _topic, reindexed, cancellationToken);
}
