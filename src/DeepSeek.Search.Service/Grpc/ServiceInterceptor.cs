using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Telemetry;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// Wraps every SearchService call: admission (at most <see cref="ServiceSettings.MaxConcurrentCalls"/> running and
/// <see cref="ServiceSettings.MaxQueuedCalls"/> waiting, else RESOURCE_EXHAUSTED), authentication (the registered
/// <see cref="IAuthenticator"/>s; the identity goes into the call's user state), the request size limit, the
/// mapping of every failure to a status (<see cref="StatusMapping"/>), and the telemetry of each call (<see cref="CallRecord"/>:
/// a span, the rpc metrics, one call log line). Health and reflection are not wrapped.
/// </summary>
public sealed class ServiceInterceptor : Interceptor, IDisposable
{
    internal const string IdentityKey = "dss.identity";

    readonly ServiceSettings _settings;
    readonly IReadOnlyList<IAuthenticator> _authenticators;
    readonly SemaphoreSlim _slots;
    readonly ILogger<ServiceInterceptor> _logger;
    readonly ServiceMetrics _metrics;
    readonly ILogger _callLog;
    int _admitted;

    public ServiceInterceptor(ServiceSettings settings, IEnumerable<IAuthenticator> authenticators, ILogger<ServiceInterceptor> logger,
        ServiceMetrics metrics, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        _settings = settings;
        _logger = logger;
        _metrics = metrics;
        _callLog = loggers.CreateLogger(TelemetryNames.CallLogCategory);
        _authenticators = [.. authenticators];
        _slots = new SemaphoreSlim(settings.MaxConcurrentCalls, settings.MaxConcurrentCalls);
    }

    /// <summary>The identity the interceptor established for the call.</summary>
    public static Identity IdentityOf(ServerCallContext context) =>
        context.UserState.TryGetValue(IdentityKey, out var v) && v is Identity id ? id
            : throw new RpcException(new Status(StatusCode.Unauthenticated, "no credential"));

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        Run(context, CallRecord.CollectionOf(request), _ =>
        {
            CheckSize(request);
            return continuation(request, context);
        });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Run(context, null, async call =>
        {
            await continuation(new SizeCheckingReader<TRequest>(requestStream, this, call), responseStream, context).ConfigureAwait(false);
            return 0;
        });

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Run(context, null, call => continuation(new SizeCheckingReader<TRequest>(requestStream, this, call), context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Run(context, CallRecord.CollectionOf(request), async _ =>
        {
            CheckSize(request);
            await continuation(request, responseStream, context).ConfigureAwait(false);
            return 0;
        });

    /// <summary>
    /// Runs a call: <paramref name="collection"/> is what the request names (null for a stream: the reader notes the first
    /// message's), known before authentication so that refused calls are attributed too.
    /// </summary>
    async Task<T> Run<T>(ServerCallContext context, string? collection, Func<CallRecord, Task<T>> call)
    {
        // Telemetry of the call: a span, in-flight, and at the end one log line and the request counter (CallRecord.End).
        var record = new CallRecord(context, _metrics, _callLog) { Collection = collection };
        try
        {
            if (Interlocked.Increment(ref _admitted) > _settings.MaxConcurrentCalls + _settings.MaxQueuedCalls)
            {
                Interlocked.Decrement(ref _admitted);
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"server busy: {_settings.MaxConcurrentCalls} calls running and {_settings.MaxQueuedCalls} waiting (MaxConcurrentCalls, MaxQueuedCalls); retry later"));
            }
            try
            {
                try { await _slots.WaitAsync(context.CancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException e) { throw StatusMapping.ToRpc(e, context); }
                try
                {
                    Authenticate(context);
                    record.Identity = context.UserState[IdentityKey] as Identity;
                    var result = await call(record).ConfigureAwait(false);
                    record.Status = StatusCode.OK;
                    return result;
                }
                catch (Exception e)
                {
                    var rpc = StatusMapping.ToRpc(e, context);
                    if (rpc.StatusCode == StatusCode.Internal) Log.CallFailed(_logger, context.Method, rpc.StatusCode, e);
                    else Log.CallRefused(_logger, context.Method, rpc.StatusCode, rpc.Status.Detail);
                    if (ReferenceEquals(rpc, e)) throw;
                    throw rpc;
                }
                finally { _slots.Release(); }
            }
            finally { Interlocked.Decrement(ref _admitted); }
        }
        catch (RpcException e)
        {
            record.Status = e.StatusCode;
            throw;
        }
        finally { record.End(); }
    }

    void Authenticate(ServerCallContext context)
    {
        string? problem = null;
        foreach (var a in _authenticators)
        {
            var r = a.Authenticate(context.RequestHeaders);
            if (r.Identity is { } id)
            {
                context.UserState[IdentityKey] = id;
                return;
            }
            problem ??= r.Problem;
        }
        throw new RpcException(new Status(StatusCode.Unauthenticated,
            problem ?? "missing credential: send 'authorization: Bearer <API key or JWT>' or 'x-api-key: <key>' (dss keys add makes a key)"));
    }

    internal void CheckSize(object? message)
    {
        if (message is IMessage m && m.CalculateSize() is var size && size > _settings.MaxMessageBytes)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"request message of {size} bytes exceeds the limit of {_settings.MaxMessageBytes} bytes (MaxMessageBytes)"));
    }

    public void Dispose() => _slots.Dispose();

    sealed class SizeCheckingReader<T>(IAsyncStreamReader<T> inner, ServiceInterceptor owner, CallRecord call) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken).ConfigureAwait(false)) return false;
            call.Collection ??= CallRecord.CollectionOf(inner.Current);
            owner.CheckSize(inner.Current);
            return true;
        }
    }
}
