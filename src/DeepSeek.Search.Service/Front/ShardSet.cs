using DeepSeek.Search.Core;
using Grpc.Core;
using Grpc.Net.Client;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Front;

/// <summary>
/// The shard servers of a query front: one channel and client per shard, in shard order, and the call options every
/// forwarded call carries — the caller's credential headers, the call's deadline and cancellation, and for a shard reached
/// through Dapr service invocation the <c>dapr-app-id</c> the sidecar routes by. A shard's failure comes back as its own
/// status with the shard named (<see cref="Named"/>).
/// </summary>
sealed class ShardSet : IDisposable
{
    readonly GrpcChannel[] _channels;
    readonly string?[] _appIds;

    public ShardSet(FrontSettings settings, string? daprGrpcEndpoint)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Names = settings.Shards;
        _channels = new GrpcChannel[Names.Count];
        _appIds = new string?[Names.Count];
        Clients = new Proto.SearchService.SearchServiceClient[Names.Count];
        for (int i = 0; i < Names.Count; i++)
        {
            string address = Names[i];
            if (address.StartsWith(FrontSettings.DaprScheme, StringComparison.Ordinal))
            {
                _appIds[i] = address[FrontSettings.DaprScheme.Length..];
                address = daprGrpcEndpoint ?? SidecarGrpcEndpoint();
            }
            _channels[i] = GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = null,
                MaxSendMessageSize = null,
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) },
            });
            Clients[i] = new Proto.SearchService.SearchServiceClient(_channels[i]);
        }
    }

    /// <summary>The shards as configured.</summary>
    public IReadOnlyList<string> Names { get; }

    public int Count => Names.Count;

    public Proto.SearchService.SearchServiceClient[] Clients { get; }

    /// <summary>The Dapr sidecar's gRPC endpoint from the environment the injector sets: DAPR_GRPC_ENDPOINT, else 127.0.0.1:DAPR_GRPC_PORT.</summary>
    static string SidecarGrpcEndpoint()
    {
        if (Environment.GetEnvironmentVariable("DAPR_GRPC_ENDPOINT") is { Length: > 0 } e) return e;
        if (Environment.GetEnvironmentVariable("DAPR_GRPC_PORT") is { Length: > 0 } p) return $"http://127.0.0.1:{p}";
        throw new InvalidInputException("setting Front:Shards names a dapr: shard but no Dapr sidecar is present (DAPR_GRPC_PORT / DAPR_GRPC_ENDPOINT unset)") { Setting = "Front:Shards" };
    }

    /// <summary>The options of a call to shard <paramref name="shard"/> on behalf of the call <paramref name="context"/>.</summary>
    public CallOptions Options(int shard, ServerCallContext context, CancellationToken cancellationToken)
    {
        var headers = new Metadata();
        foreach (var name in ForwardedCredential.Headers)
            if (context.RequestHeaders.GetValue(name) is { Length: > 0 } v) headers.Add(name, v);
        if (_appIds[shard] is { } app) headers.Add("dapr-app-id", app);
        DateTime? deadline = context.Deadline == DateTime.MaxValue ? null : context.Deadline;
        return new CallOptions(headers, deadline, cancellationToken);
    }

    /// <summary>A shard's failure as the front's: the shard's status code, its message prefixed with the shard.</summary>
    public RpcException Named(int shard, RpcException e) =>
        new(new Status(e.StatusCode, $"shard {shard} ({Names[shard]}): {e.Status.Detail}"));

    /// <summary>
    /// Runs <paramref name="call"/> on every shard in <paramref name="shards"/> at once; the first failure cancels the others
    /// and is thrown with its shard named.
    /// </summary>
    public async Task<T[]> All<T>(IReadOnlyList<int> shards, Func<int, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = shards.Select(async s =>
        {
            try { return await call(s, cts.Token).ConfigureAwait(false); }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !cts.IsCancellationRequested)
            {
                cts.Cancel();
                throw Named(s, e);
            }
        }).ToArray();
        try { return await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch
        {
            // The first shard to fail, not one cancelled because of it.
            var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).FirstOrDefault(e => e is RpcException { StatusCode: not StatusCode.Cancelled })
                        ?? tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).First();
            throw first!;
        }
    }

    /// <summary><see cref="All{T}(IReadOnlyList{int}, Func{int, CancellationToken, Task{T}}, CancellationToken)"/> over every shard.</summary>
    public Task<T[]> All<T>(Func<int, CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        All(Enumerable.Range(0, Count).ToArray(), call, cancellationToken);

    public void Dispose()
    {
        foreach (var c in _channels) c.Dispose();
    }
}
