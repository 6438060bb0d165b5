using DeepSeek.Search.Core;

namespace DeepSeek.Search.Service.Front;

/// <summary>
/// The query front of a sharded collection (section <c>Service:Front</c>): with <see cref="Shards"/> set, <c>dss serve</c>
/// holds no collections itself and serves the same contract by fanning each call out to the shard servers (see
/// <see cref="FrontRpcService"/>). Shard i of the list owns the documents whose id hashes to i
/// (<see cref="StableHash.ShardOf"/>), so the list's order is part of the data layout: keep it as <c>dss shard split</c> made it.
/// </summary>
public sealed record FrontSettings
{
    /// <summary>The scheme of a shard reached through the Dapr sidecar's service invocation: <c>dapr:APP_ID</c>.</summary>
    public const string DaprScheme = "dapr:";

    /// <summary>
    /// The shard servers, in shard order: <c>http(s)://host:port</c> for direct gRPC, or <c>dapr:APP_ID</c> for Dapr service
    /// invocation through the sidecar's gRPC port (the call carries <c>dapr-app-id: APP_ID</c>). Empty (the default): no front.
    /// </summary>
    public IReadOnlyList<string> Shards { get; init; } = [];

    /// <summary>Whether this server is a query front.</summary>
    public bool Enabled => Shards.Count > 0;

    /// <summary>How long the front keeps a collection's description (dense or not, default fusion) before asking shard 0 again.</summary>
    public int CollectionInfoSeconds { get; init; } = 10;

    public void Validate()
    {
        if (Shards.Count > 1024) throw new InvalidInputException($"setting Front:Shards lists {Shards.Count} shards; at most 1024") { Setting = "Front:Shards" };
        for (int i = 0; i < Shards.Count; i++)
        {
            var s = Shards[i];
            string at = $"Front:Shards:{i}";
            if (s.StartsWith(DaprScheme, StringComparison.Ordinal))
            {
                if (s.Length == DaprScheme.Length) throw new InvalidInputException($"setting {at}: 'dapr:' needs an app id, e.g. dapr:dss-shard-0") { Setting = at };
                continue;
            }
            if (!(Uri.TryCreate(s, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
                throw new InvalidInputException($"setting {at} must be http(s)://host:port or dapr:APP_ID, got '{s}'") { Setting = at };
        }
        if (Shards.Distinct(StringComparer.Ordinal).Count() != Shards.Count)
            throw new InvalidInputException($"setting Front:Shards names a shard twice: {string.Join(", ", Shards)}") { Setting = "Front:Shards" };
        if (CollectionInfoSeconds < 0) throw new InvalidInputException($"setting Front:CollectionInfoSeconds must be >= 0, got {CollectionInfoSeconds}") { Setting = "Front:CollectionInfoSeconds" };
    }
}
