using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Empty = Google.Protobuf.WellKnownTypes.Empty;

namespace DeepSeek.Search.Jobs.Tests;

/// <summary>One call the fake sidecar received: the gRPC method's full path and the decoded request.</summary>
public sealed record SidecarCall(string Method, IMessage Request);

/// <summary>
/// A FAKE Dapr sidecar — no Dapr runtime can be installed here — for contract tests: a real Kestrel server on 127.0.0.1 (h2c)
/// serving the part of the Dapr runtime's gRPC API (<c>dapr.proto.runtime.v1.Dapr</c>, messages from Dapr.Protos) that the
/// app uses: <c>GetState</c>, <c>SaveState</c> and <c>PublishEvent</c>, with the state API's ETag rules as the Dapr docs give
/// them (the ETag of a key is its version; a save with an ETag under first-write concurrency lands only if it matches the
/// key's — "" for an absent key — else the call fails ABORTED, as the runtime answers an ETag mismatch; a save without one
/// is last-write). Every call — these and any other path, which gets UNIMPLEMENTED — is recorded in order in <see cref="Calls"/>.
/// <see cref="HoldReads"/> makes the first N GetState calls wait for each other, to force two runners to race.
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    const string Service = "dapr.proto.runtime.v1.Dapr";
    readonly WebApplication _app;
    readonly ConcurrentDictionary<string, (ByteString Data, long Version)> _state = new();
    readonly object _gate = new();
    int _holdReads;
    TaskCompletionSource? _readsReleased;
    int _readsHeld;

    /// <summary>Every gRPC call in arrival order (method path and request).</summary>
    public ConcurrentQueue<SidecarCall> Calls { get; } = new();
    /// <summary>Paths asked for that the fake does not implement.</summary>
    public ConcurrentQueue<string> OtherPaths { get; } = new();

    public string GrpcEndpoint { get; private set; } = "";

    FakeDaprSidecar(WebApplication app) => _app = app;

    public static async Task<FakeDaprSidecar> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddRouting();
        builder.Services.AddGrpc();
        FakeDaprSidecar? fake = null;
        builder.Services.AddSingleton<IServiceMethodProvider<FakeDaprSidecarEndpoint>>(_ => new Methods(fake!));
        var app = builder.Build();
        fake = new FakeDaprSidecar(app);
        app.Use((c, next) =>
        {
            if (!c.Request.Path.StartsWithSegments("/" + Service + "/GetState") && !c.Request.Path.StartsWithSegments("/" + Service + "/SaveState")
                && !c.Request.Path.StartsWithSegments("/" + Service + "/PublishEvent"))
                fake.OtherPaths.Enqueue(c.Request.Path);
            return next(c);
        });
        app.UseRouting();
        app.MapGrpcService<FakeDaprSidecarEndpoint>();
        await app.StartAsync();
        fake.GrpcEndpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    /// <summary>The next <paramref name="reads"/> GetState calls are answered only once all of them have arrived.</summary>
    public void HoldReads(int reads)
    {
        lock (_gate)
        {
            _holdReads = reads;
            _readsHeld = 0;
            _readsReleased = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>The stored value of a key (the JSON the app saved) and its version, or null.</summary>
    public (string Json, long Version)? Stored(string store, string key) =>
        _state.TryGetValue(store + "||" + key, out var v) ? (v.Data.ToStringUtf8(), v.Version) : null;

    public IReadOnlyList<SidecarCall> CallsOf(string method) => Calls.Where(c => c.Method == method).ToList();

    async Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context)
    {
        Calls.Enqueue(new SidecarCall("GetState", request));
        Task? wait = null;
        lock (_gate)
        {
            if (_holdReads > 0)
            {
                _holdReads--;
                _readsHeld++;
                wait = _readsReleased!.Task;
                if (_holdReads == 0) _readsReleased.TrySetResult();
            }
        }
        if (wait != null) await wait.WaitAsync(TimeSpan.FromSeconds(30));
        var response = new GetStateResponse();
        if (_state.TryGetValue(request.StoreName + "||" + request.Key, out var v))
        {
            response.Data = v.Data;
            response.Etag = v.Version.ToString(CultureInfo.InvariantCulture);
        }
        return response;
    }

    Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context)
    {
        Calls.Enqueue(new SidecarCall("SaveState", request));
        lock (_gate)
        {
            // Check every item first: a request is applied whole or not at all.
            foreach (var item in request.States)
            {
                string key = request.StoreName + "||" + item.Key;
                bool firstWrite = item.Options?.Concurrency == StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite;
                if (item.Etag is null || !firstWrite) continue;
                string current = _state.TryGetValue(key, out var v) ? v.Version.ToString(CultureInfo.InvariantCulture) : "";
                if (item.Etag.Value != current)
                    throw new RpcException(new Status(StatusCode.Aborted,
                        $"failed saving state in state store {request.StoreName}: possible etag mismatch. error from state store: ETag '{item.Etag.Value}' is not '{current}'"));
            }
            foreach (var item in request.States)
            {
                string key = request.StoreName + "||" + item.Key;
                long version = _state.TryGetValue(key, out var v) ? v.Version + 1 : 1;
                _state[key] = (item.Value, version);
            }
        }
        return Task.FromResult(new Empty());
    }

    Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
    {
        Calls.Enqueue(new SidecarCall("PublishEvent", request));
        return Task.FromResult(new Empty());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name, MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse> =>
        new(MethodType.Unary, Service, name,
            Marshallers.Create(m => m.ToByteArray(), request.ParseFrom),
            Marshallers.Create(m => m.ToByteArray(), response.ParseFrom));

    sealed class Methods(FakeDaprSidecar fake) : IServiceMethodProvider<FakeDaprSidecarEndpoint>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<FakeDaprSidecarEndpoint> context)
        {
            context.AddUnaryMethod(Unary("GetState", GetStateRequest.Parser, GetStateResponse.Parser), [], (_, r, c) => fake.GetState(r, c));
            context.AddUnaryMethod(Unary("SaveState", SaveStateRequest.Parser, Empty.Parser), [], (_, r, c) => fake.SaveState(r, c));
            context.AddUnaryMethod(Unary("PublishEvent", PublishEventRequest.Parser, Empty.Parser), [], (_, r, c) => fake.PublishEvent(r, c));
        }
    }
}

/// <summary>The service type the fake's methods are bound under (grpc-dotnet binds methods to a class).</summary>
public sealed class FakeDaprSidecarEndpoint;
