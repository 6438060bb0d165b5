using DeepSeek.Search.Core;
using DeepSeek.Search.Service.Grpc;
using DeepSeek.Search.Store;
using Grpc.Core;

namespace DeepSeek.Search.Service.Tests;

/// <summary>The one exception → status table, row by row (the server-level tests reach only some rows).</summary>
public sealed class StatusMappingTests
{
    sealed class Context(DateTime deadline) : ServerCallContext
    {
        protected override string MethodCore => "/deepseek.search.v1.SearchService/Search";
        protected override string HostCore => "127.0.0.1";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => deadline;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    public static TheoryData<Exception, StatusCode> Rows() => new()
    {
        { new CollectionLockedException("c", "pid 1 on host h since t (live writer)"), StatusCode.FailedPrecondition },
        { new InvalidInputException("bad k"), StatusCode.InvalidArgument },
        { new NoDenseIndexException("c", "dense"), StatusCode.InvalidArgument },
        { new MalformedRecordException("f.jsonl", 3, "bad json"), StatusCode.InvalidArgument },
        { new CollectionNotFoundException("c", "/root"), StatusCode.NotFound },
        { new DocumentNotFoundException("d", "c"), StatusCode.NotFound },
        { new IndexMismatchException("dimension 64 vs 384"), StatusCode.FailedPrecondition },
        { new IndexCorruptException("torn manifest"), StatusCode.Internal },
        { new CheckpointException("bad encoder"), StatusCode.Internal },
        { new InvalidOperationException("boom"), StatusCode.Internal },
        { new OperationCanceledException(), StatusCode.Cancelled },
        { new RpcException(new Status(StatusCode.PermissionDenied, "no")), StatusCode.PermissionDenied },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_failure_maps_to_its_status(Exception e, StatusCode code)
    {
        var rpc = StatusMapping.ToRpc(e, new Context(DateTime.MaxValue));
        Assert.Equal(code, rpc.StatusCode);
        if (e is CollectionNotFoundException c) Assert.Equal($"unknown collection '{c.Name}'", rpc.Status.Detail); // no server path
        else if (e is SearchException) Assert.Equal(e.Message, rpc.Status.Detail);
    }

    [Fact]
    public void Cancellation_after_the_deadline_is_deadline_exceeded_and_unexpected_errors_show_only_their_type()
    {
        Assert.Equal(StatusCode.DeadlineExceeded, StatusMapping.ToRpc(new OperationCanceledException(), new Context(DateTime.UtcNow.AddSeconds(-1))).StatusCode);
        var rpc = StatusMapping.ToRpc(new InvalidOperationException("secret /path/detail"), new Context(DateTime.MaxValue));
        Assert.Equal("unexpected server error (InvalidOperationException)", rpc.Status.Detail);
    }
}
