using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Acl = DeepSeek.Search.Core.Filtering.Acl;
using Document = DeepSeek.Search.Core.Document;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// A real server on 127.0.0.1 with collection <c>rag</c> (BM25; documents for alice, for bob, and public; the trained tiny
/// generator in its own <c>generator/</c> folder) and <c>nogen</c> (no generator). Keys: alice and bob (read *), dave (read *,
/// no documents of his own), carol (read nogen only).
/// </summary>
public sealed class AskServer : IAsyncLifetime
{
    public const string AliceSecret = "zanzibarquokka";
    public const string BobSecret = "quetzalmarmot";

    public TempDir Tmp { get; } = new("dss-ask");
    public WebApplication App { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    internal SearchService.SearchServiceClient Client { get; private set; } = null!;
    public string AliceKey { get; private set; } = "";
    public string BobKey { get; private set; } = "";
    public string DaveKey { get; private set; } = "";
    public string CarolKey { get; private set; } = "";

    public static readonly Document[] Docs =
    [
        new("a-star", "Stars for alice", $"{AliceSecret} " + TinyGenerator.Passage(0, 40, 1), null, new Acl(["alice"], [])),
        new("a-bake", "Baking for alice", $"{AliceSecret} " + TinyGenerator.Passage(1, 40, 2), null, new Acl(["alice"], [])),
        new("b-star", "Stars for bob", $"{BobSecret} " + TinyGenerator.Passage(0, 40, 3), null, new Acl(["bob"], [])),
        new("b-bake", "Baking for bob", $"{BobSecret} " + TinyGenerator.Passage(1, 40, 4), null, new Acl(["bob"], [])),
        new("public", "Public sailing", TinyGenerator.Passage(3, 40, 5)),
    ];

    public async Task InitializeAsync()
    {
        string root = Tmp.File("indexes");
        var rag = CollectionStore.At(root, "rag");
        CollectionBuilder.Build(rag, Docs, new BuildOptions());
        TinyGenerator.CopyTo(Path.Combine(rag.Directory, "generator"));
        CollectionBuilder.Build(CollectionStore.At(root, "nogen"), Docs, new BuildOptions());
        var keys = ApiKeyFile.Load(Tmp.File("keys.json"));
        AliceKey = keys.Add("alice", [], AccessRight.Read, []).Key;
        BobKey = keys.Add("bob", [], AccessRight.Read, []).Key;
        DaveKey = keys.Add("dave", [], AccessRight.Read, []).Key;
        CarolKey = keys.Add("carol", [], AccessRight.Read, ["nogen"]).Key;
        App = SearchServer.Build(new ServiceSettings { IndexRoot = root, Port = 0, KeysFile = Tmp.File("keys.json"), MetricsPort = 0 });
        await App.StartAsync();
        Channel = GrpcChannel.ForAddress(SearchServer.Address(App));
        Client = new SearchService.SearchServiceClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Tmp.Dispose();
    }
}

/// <summary>The Ask RPC and re-ranked Search over a real Kestrel server: streaming, citations of permitted documents only, statuses.</summary>
[Collection("generator")]
public sealed class AskTests(AskServer s) : IClassFixture<AskServer>
{
    static readonly string[] AlicePermitted = ["a-star", "a-bake", "public"];
    static readonly string[] BobPermitted = ["b-star", "b-bake", "public"];

    async Task<(List<string> Deltas, AskResult Result)> Ask(string key, AskRequest request)
    {
        using var call = s.Client.Ask(request, ServerFixture.Bearer(key));
        var deltas = new List<string>();
        AskResult? result = null;
        await foreach (var m in call.ResponseStream.ReadAllAsync())
        {
            Assert.Null(result); // the result is the last message
            if (m.EventCase == AskResponse.EventOneofCase.Delta) deltas.Add(m.Delta.Text);
            else result = m.Result;
        }
        Assert.NotNull(result);
        return (deltas, result!);
    }

    static AskRequest Question(string q, string collection = "rag") => new() { Collection = collection, Question = q, MaxNewTokens = 24 };

    [Fact]
    public async Task Ask_streams_the_answer_then_cites_only_documents_the_caller_may_read()
    {
        foreach (var (key, permitted, otherSecret) in new[] { (s.AliceKey, AlicePermitted, AskServer.BobSecret), (s.BobKey, BobPermitted, AskServer.AliceSecret) })
        {
            var (deltas, r) = await Ask(key, Question("star galaxy orbit flour butter"));
            Assert.False(r.NoSources);
            Assert.NotEmpty(deltas);
            Assert.Equal(r.Answer, string.Concat(deltas));
            Assert.NotEmpty(r.Sources);
            Assert.All(r.Sources, x => Assert.Contains(x.DocumentId, permitted));
            Assert.All(r.Citations, x => Assert.Contains(r.Sources, y => y.Number == x.Number && y.DocumentId == x.DocumentId));
            Assert.DoesNotContain(otherSecret, r.Answer, StringComparison.Ordinal);
            Assert.All(r.Sources, x =>
            {
                var doc = AskServer.Docs.Single(d => d.Id == x.DocumentId);
                Assert.InRange(x.Span.Start, 0, x.Span.End);
                Assert.InRange(x.Span.End, x.Span.Start, doc.Text.Length);
                Assert.Equal(doc.Title, x.Title);
            });
            Assert.True(r.Usage.PromptTokens > 0);
            Assert.InRange(r.Usage.CompletionTokens, 1, 24);
            Assert.True(r.Timings.TotalMs >= r.Timings.GenerateMs);
            Assert.Contains(r.FinishReason, new[] { "eos", "stop", "length" });
        }
    }

    [Fact]
    public async Task Ask_stages_appear_on_the_metrics_endpoint()
    {
        await Ask(s.AliceKey, Question("star galaxy"));
        using var http = new HttpClient();
        string metrics = await http.GetStringAsync(SearchServer.MetricsAddress(s.App) + "/metrics");
        foreach (var stage in new[] { "ask_total", "ask_recall", "ask_prompt", "ask_first_token", "ask_generate" })
            Assert.Matches($"dss_search_stage_duration_seconds_count\\{{[^}}]*stage=\"{stage}\"", metrics);
    }

    [Fact]
    public async Task A_caller_with_no_matching_permitted_document_gets_the_no_sources_answer()
    {
        // dave may read the public sailing document only; the question's words are all in alice's and bob's documents
        var (deltas, r) = await Ask(s.DaveKey, Question("star galaxy flour"));
        Assert.True(r.NoSources);
        Assert.Equal("no_sources", r.FinishReason);
        Assert.Empty(r.Sources);
        Assert.Empty(r.Citations);
        Assert.Equal(0, r.Usage.CompletionTokens);
        Assert.Equal(r.Answer, string.Concat(deltas));
        Assert.DoesNotContain(AskServer.AliceSecret, r.Answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_refuses_bad_calls_with_their_statuses()
    {
        async Task<RpcException> Fails(string? key, AskRequest request)
        {
            using var call = s.Client.Ask(request, key is null ? new Metadata() : ServerFixture.Bearer(key));
            return await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in call.ResponseStream.ReadAllAsync()) { } });
        }
        Assert.Equal(StatusCode.Unauthenticated, (await Fails(null, Question("star"))).StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, (await Fails("not-a-key", Question("star"))).StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, (await Fails(s.CarolKey, Question("star"))).StatusCode);
        var noGenerator = await Fails(s.AliceKey, Question("star", "nogen"));
        Assert.Equal(StatusCode.FailedPrecondition, noGenerator.StatusCode);
        Assert.Contains("no generator for collection 'nogen'", noGenerator.Status.Detail);
        Assert.DoesNotContain(s.Tmp.Path, noGenerator.Status.Detail);
        Assert.Equal(StatusCode.NotFound, (await Fails(s.AliceKey, Question("star", "missing"))).StatusCode);
        var empty = await Fails(s.AliceKey, Question("  "));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Contains("question", empty.Status.Detail);
        var sources = await Fails(s.AliceKey, new AskRequest { Collection = "rag", Question = "star", MaxSources = 0 });
        Assert.Equal(StatusCode.InvalidArgument, sources.StatusCode);
        Assert.Contains("max_sources", sources.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, (await Fails(s.AliceKey, new AskRequest { Collection = "rag", Question = "star", Temperature = -1 })).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Fails(s.AliceKey, new AskRequest { Collection = "rag", Question = new string('x', 9000) })).StatusCode);
        // and the server still answers
        var (_, r) = await Ask(s.AliceKey, Question("star galaxy"));
        Assert.NotEmpty(r.Sources);
    }

    [Fact]
    public async Task A_cancelled_ask_ends_and_the_server_answers_the_next_one()
    {
        using var cts = new CancellationTokenSource();
        using var call = s.Client.Ask(new AskRequest { Collection = "rag", Question = "star galaxy orbit", MaxNewTokens = 1000 },
            new CallOptions(ServerFixture.Bearer(s.AliceKey), cancellationToken: cts.Token));
        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var m in call.ResponseStream.ReadAllAsync(cts.Token))
                if (m.EventCase == AskResponse.EventOneofCase.Delta) cts.Cancel();
        });
        Assert.True(e is OperationCanceledException || (e is RpcException rpc && rpc.StatusCode == StatusCode.Cancelled), e.ToString());
        var (_, r) = await Ask(s.AliceKey, Question("star galaxy"));
        Assert.NotEmpty(r.Sources);
    }

    [Fact]
    public async Task Search_with_rerank_reorders_by_the_generator_and_reports_both_scores()
    {
        var request = new SearchRequest { Collection = "rag", Query = "comet nebula star flour", K = 3, Mode = SearchMode.Bm25, Rerank = new RerankSettings { Depth = 10, Weight = 1 } };
        var r = await s.Client.SearchAsync(request, ServerFixture.Bearer(s.AliceKey));
        Assert.NotEmpty(r.Hits);
        Assert.All(r.Hits, h =>
        {
            Assert.Contains(h.Id, AlicePermitted);
            Assert.True(h.HasRerankScore && h.HasFirstStageScore);
        });
        Assert.Equal(Enumerable.Range(1, r.Hits.Count), r.Hits.Select(h => h.Rank));
        Assert.True(r.Timings.RerankMs > 0);
        // weight 1: the order is the re-ranker's raw order
        Assert.Equal(r.Hits.Select(h => h.RerankScore).OrderByDescending(x => x), r.Hits.Select(h => h.RerankScore));

        var plain = await s.Client.SearchAsync(new SearchRequest { Collection = "rag", Query = "comet", K = 3, Mode = SearchMode.Bm25 }, ServerFixture.Bearer(s.AliceKey));
        Assert.All(plain.Hits, h => Assert.False(h.HasRerankScore || h.HasFirstStageScore));
        Assert.Equal(0, plain.Timings.RerankMs);

        var depth = await Assert.ThrowsAsync<RpcException>(async () => await s.Client.SearchAsync(
            new SearchRequest { Collection = "rag", Query = "star", K = 3, Rerank = new RerankSettings { Depth = 0 } }, ServerFixture.Bearer(s.AliceKey)));
        Assert.Equal(StatusCode.InvalidArgument, depth.StatusCode);
        Assert.Contains("rerank.depth", depth.Status.Detail);
        var weight = await Assert.ThrowsAsync<RpcException>(async () => await s.Client.SearchAsync(
            new SearchRequest { Collection = "rag", Query = "star", K = 3, Rerank = new RerankSettings { Weight = 2 } }, ServerFixture.Bearer(s.AliceKey)));
        Assert.Equal(StatusCode.InvalidArgument, weight.StatusCode);
        var nogen = await Assert.ThrowsAsync<RpcException>(async () => await s.Client.SearchAsync(
            new SearchRequest { Collection = "nogen", Query = "star", K = 3, Rerank = new RerankSettings() }, ServerFixture.Bearer(s.AliceKey)));
        Assert.Equal(StatusCode.FailedPrecondition, nogen.StatusCode);
    }
}
