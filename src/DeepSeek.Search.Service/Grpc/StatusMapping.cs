using DeepSeek.Search.Core;
using DeepSeek.Search.Service.Experiments;
using DeepSeek.Search.Store;
using Grpc.Core;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// The one place where engine failures become gRPC statuses (the interceptor calls it for every SearchService call):
/// <list type="table">
/// <item><term><see cref="CollectionLockedException"/></term><description>FAILED_PRECONDITION (names the holder; checked before its base class)</description></item>
/// <item><term><see cref="InvalidInputException"/> (incl. NoDenseIndex, MalformedRecord)</term><description>INVALID_ARGUMENT, the engine's message</description></item>
/// <item><term><see cref="CollectionNotFoundException"/>, <see cref="DocumentNotFoundException"/></term><description>NOT_FOUND</description></item>
/// <item><term><see cref="ExperimentNotFoundException"/></term><description>NOT_FOUND (an outcome for an experiment the collection does not have)</description></item>
/// <item><term><see cref="ExperimentStoppedException"/></term><description>FAILED_PRECONDITION (an outcome for a stopped experiment)</description></item>
/// <item><term><see cref="IndexMismatchException"/></term><description>FAILED_PRECONDITION (the index and its encoder or format disagree: fixable by rebuilding, not by retrying)</description></item>
/// <item><term><see cref="NoGeneratorException"/></term><description>FAILED_PRECONDITION (re-ranking or Ask on a collection without a generator)</description></item>
/// <item><term><see cref="IndexCorruptException"/></term><description>INTERNAL (the server's data is damaged)</description></item>
/// <item><term><see cref="OperationCanceledException"/></term><description>DEADLINE_EXCEEDED when the deadline passed, else CANCELLED</description></item>
/// <item><term>anything else</term><description>INTERNAL, with the type name only (no stack, no paths beyond the message)</description></item>
/// </list>
/// </summary>
public static class StatusMapping
{
    public static RpcException ToRpc(Exception e, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(context);
        return e switch
        {
            RpcException rpc => rpc,
            CollectionLockedException => Status(StatusCode.FailedPrecondition, e.Message),
            InvalidInputException => Status(StatusCode.InvalidArgument, e.Message),
            // Over the wire the name only: the message's index path is the server's business.
            CollectionNotFoundException c => Status(StatusCode.NotFound, $"unknown collection '{c.Name}'"),
            DocumentNotFoundException => Status(StatusCode.NotFound, e.Message),
            ExperimentNotFoundException => Status(StatusCode.NotFound, e.Message),
            ExperimentStoppedException => Status(StatusCode.FailedPrecondition, e.Message),
            IndexMismatchException => Status(StatusCode.FailedPrecondition, e.Message),
            NoGeneratorException => Status(StatusCode.FailedPrecondition, e.Message),
            IndexCorruptException => Status(StatusCode.Internal, e.Message),
            OperationCanceledException when context.Deadline <= DateTime.UtcNow => Status(StatusCode.DeadlineExceeded, "the call's deadline passed"),
            OperationCanceledException => Status(StatusCode.Cancelled, "the call was cancelled"),
            SearchException => Status(StatusCode.Internal, e.Message),
            _ => Status(StatusCode.Internal, $"unexpected server error ({e.GetType().Name})"),
        };
    }

    static RpcException Status(StatusCode code, string message) => new(new Status(code, message.ReplaceLineEndings(" ")));
}

/// <summary>
/// A document id a collection does not hold, or holds but the caller may not read: one message for both, so a hidden
/// document cannot be told from a missing one.
/// </summary>
public sealed class DocumentNotFoundException : SearchException
{
    public DocumentNotFoundException(string id, string collection) : base($"document '{id}' not found in collection '{collection}'") { }
}
