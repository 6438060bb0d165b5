using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// The endpoint type SearchService is mapped under. It carries no attribute that grpc-dotnet's default binder reads,
/// so <see cref="SearchServiceMethods"/> alone binds its methods.
/// </summary>
sealed class SearchEndpoint;

/// <summary>
/// Binds every SearchService method to the server's implementation (<see cref="SearchRpcService"/>, or the query front's
/// <see cref="Front.FrontRpcService"/>; through the generated <c>BindService</c>) with
/// a request deserializer that answers INVALID_ARGUMENT for bytes that do not fit the contract — undecodable protobuf
/// (truncated, invalid UTF-8 in a string) or a known field sent with the wrong wire type (<see cref="ContractWire"/>) —
/// where grpc-dotnet's own would end the call with UNKNOWN "Exception was thrown by handler".
/// </summary>
sealed class SearchServiceMethods(Proto.SearchService.SearchServiceBase service) : IServiceMethodProvider<SearchEndpoint>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<SearchEndpoint> context) =>
        Proto.SearchService.BindService(new Binder(context), service);

    sealed class Binder(ServiceMethodProviderContext<SearchEndpoint> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(Checked(method), [], (_, request, call) => handler!(request, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(Checked(method), [], (_, requests, call) => handler!(requests, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(Checked(method), [], (_, request, responses, call) => handler!(request, responses, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(Checked(method), [], (_, requests, responses, call) => handler!(requests, responses, call));
    }

    static Method<TRequest, TResponse> Checked<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        var inner = method.RequestMarshaller;
        var parser = (MessageParser)typeof(TRequest).GetProperty("Parser")!.GetValue(null)!;
        var marshaller = new Marshaller<TRequest>(inner.ContextualSerializer, context => Decode<TRequest>(parser, context.PayloadAsNewBuffer(), method.FullName));
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }

    static TRequest Decode<TRequest>(MessageParser parser, byte[] bytes, string method) where TRequest : class
    {
        IMessage request;
        try { request = parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the request of {method} is not a valid protobuf message of its type ({bytes.Length} bytes): {e.Message}"));
        }
        if (ContractWire.FindMistypedField(bytes, request.Descriptor) is { } problem)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request of {method} does not match the contract: {problem}"));
        return (TRequest)request;
    }
}
