using DeepSeek.Search.Service.V1;
using Grpc.Core;

namespace DeepSeek.Search.Service.Tests;

/// <summary>Requests whose bytes do not fit the contract (what a hand-rolled or mismatched client sends) are INVALID_ARGUMENT naming the field.</summary>
[Collection("server")]
public sealed class WireFormatTests(ServerFixture f)
{
    static readonly Method<byte[], byte[]> RawSearch = new(MethodType.Unary, SearchService.Descriptor.FullName, "Search",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    static byte[] Field(int number, int wireType, params byte[] payload) => [(byte)(number << 3 | wireType), .. payload];
    static byte[] Text(int number, string s) => Field(number, 2, [(byte)s.Length, .. System.Text.Encoding.UTF8.GetBytes(s)]);

    RpcException Send(byte[] body) =>
        Assert.Throws<RpcException>(() => f.Channel.CreateCallInvoker().BlockingUnaryCall(RawSearch, null, new CallOptions(ServerFixture.Bearer(f.BobKey)), body));

    public static TheoryData<string, byte[], string> Cases() => new()
    {
        { "k as a string", [.. Text(1, "docs"), .. Text(2, "volcano"), .. Text(3, "10")], "field 3 (k) of deepseek.search.v1.SearchRequest" },
        { "query as a number", [.. Text(1, "docs"), .. Field(2, 0, 5), .. Field(3, 0, 10)], "field 2 (query) of deepseek.search.v1.SearchRequest" },
        { "collection as invalid UTF-8", [.. Field(1, 2, 2, 0xC3, 0x28), .. Text(2, "volcano"), .. Field(3, 0, 10)], "not a valid protobuf message" },
        { "truncated", [.. Text(1, "docs"), .. Field(2, 2, 50, 0x61)], "not a valid protobuf message" },
        { "filter op as a string", [.. Text(1, "docs"), .. Text(2, "volcano"), .. Field(3, 0, 10), .. Field(7, 2, [6, .. Field(4, 2, [4, .. Text(2, "EQ")])])], "field 2 (op) of deepseek.search.v1.FilterCompare" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Mistyped_and_undecodable_requests_are_invalid_argument(string what, byte[] body, string message)
    {
        var e = Send(body);
        Assert.True(e.StatusCode == StatusCode.InvalidArgument, $"{what}: {e.StatusCode} {e.Status.Detail}");
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(f.Client.Search(new SearchRequest { Collection = "docs", Query = "volcano", K = 2 }, ServerFixture.Bearer(f.BobKey)).Hits);
    }

    [Fact]
    public void Unknown_field_numbers_are_ignored_as_proto3_says()
    {
        byte[] body = [.. Text(1, "docs"), .. Text(2, "volcano"), .. Field(3, 0, 2), .. Text(15, "from a newer client")];
        var r = f.Channel.CreateCallInvoker().BlockingUnaryCall(RawSearch, null, new CallOptions(ServerFixture.Bearer(f.BobKey)), body);
        Assert.Equal(2, SearchResponse.Parser.ParseFrom(r).Hits.Count);
    }
}
