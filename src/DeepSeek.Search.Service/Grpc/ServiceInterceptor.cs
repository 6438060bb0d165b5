using DeepSeek.Search.Service.Auth;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// Wraps every SearchService call: admission (at most <see cref="ServiceSettings.MaxConcurrentCalls"/> running and
/// <see cref="ServiceSettings.MaxQueuedCalls"/> waiting, else RESOURCE_EXHAUSTED), authentication (the registered
/// <see cref="IAuthenticator"/>s; the identity goes into the call's user state), the request size limit, and the
/// mapping of every failure to a status (<see cref="StatusMapping"/>). Health and reflection are not wrapped.
/// </summary>
public sealed class ServiceInterceptor : Interceptor, IDisposable
{
    internal const string IdentityKey = "dss.identity";

    readonly ServiceSettings _settings;
    readonly IReadOnlyList<IAuthenticator> _authenticators;
    readonly SemaphoreSlim _slots;
    readonly ILogger<ServiceInterceptor> _logger;
    int _admitted;

    public ServiceInterceptor(ServiceSettings settings, IEnumerable<IAuthenticator> authenticators, ILogger<ServiceInterceptor> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _logger = logger;
        _authenticators = [.. authenticators];
        _slots = new SemaphoreSlim(settings.MaxConcurrentCalls, settings.MaxConcurrentCalls);
    }

    /// <summary>The identity the interceptor established for the call.</summary>
    public static Identity IdentityOf(ServerCallContext context) =>
        context.UserState.TryGetValue(IdentityKey, out var v) && v is Identity id ? id
            : throw new RpcException(new Status(StatusCode.Unauthenticated, "no credential"));

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        Run(context, () =>
        {
            CheckSize(request);
            return continuation(request, context);
        });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Run(context, async () =>
        {
            await continuation(new SizeCheckingReader<TRequest>(requestStream, this), responseStream, context).ConfigureAwait(false);
            return 0;
        });

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Run(context, () => continuation(new SizeCheckingReader<TRequest>(requestStream, this), context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Run(context, async () =>
        {
            CheckSize(request);
            await continuation(request, responseStream, context).ConfigureAwait(false);
            return 0;
        });

    async Task<T> Run<T>(ServerCallContext context, Func<Task<T>> call)
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
                return await call().ConfigureAwait(false);
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

    sealed class SizeCheckingReader<T>(IAsyncStreamReader<T> inner, ServiceInterceptor owner) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken).ConfigureAwait(false)) return false;
            owner.CheckSize(inner.Current);
            return true;
        }
    }
}
