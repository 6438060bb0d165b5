using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DeepSeek.Search.Service;
using DeepSeek.Search.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Wire = Dapr.Client.Autogen.Grpc.v1;

namespace DeepSeek.Search.Jobs.Tests;

/// <summary>
/// dss serve's Dapr routes over real HTTP (Kestrel on 127.0.0.1, the app listener Dapr calls) on a real collection, with
/// <see cref="FakeDaprSidecar"/> as the sidecar: the cron binding's POST runs the re-index, <c>/dapr/subscribe</c> lists the
/// subscription, <c>documents.changed</c> CloudEvents upsert and delete documents, bad events are dropped whole, and the app token is checked.
/// </summary>
public sealed class DaprRoutesTests : IAsyncLifetime
{
    readonly TempDir _tmp = new("dss-dapr-routes");
    FakeDaprSidecar _fake = null!;
    WebApplication _app = null!;
    HttpClient _http = null!;
    string Root => _tmp.File("indexes");

    public async Task InitializeAsync()
    {
        _fake = await FakeDaprSidecar.StartAsync();
        JobsFixtures.Build(Root, "docs", JobsFixtures.Initial());
        var source = JobsFixtures.WriteJsonl(_tmp.File("night.jsonl"), JobsFixtures.Night());
        _app = SearchServer.Build(new ServiceSettings
        {
            IndexRoot = Root, Port = 0, KeysFile = _tmp.File("keys.json"),
            Dapr = new DaprSettings
            {
                Enabled = true, AppPort = 0, GrpcEndpoint = _fake.GrpcEndpoint, AppApiToken = "app-token-123",
                Reindex = [new ReindexJobSettings { Collection = "docs", Sources = [source] }],
            },
        });
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Services.GetRequiredService<DaprApp>().Address) };
        _http.DefaultRequestHeaders.Add(DaprApp.TokenHeader, "app-token-123");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _fake.DisposeAsync();
        _tmp.Dispose();
    }

    static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task The_cron_binding_s_post_reindexes_the_collection_saves_the_state_and_publishes_documents_reindexed()
    {
        var r = await _http.PostAsync("/reindex-cron?wait=true", new StringContent("", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var outcome = Assert.Single((await Json(r)).GetProperty("outcomes").EnumerateArray());
        Assert.Equal("Ran", outcome.GetProperty("outcome").GetString());
        Assert.Equal("reindex-docs", outcome.GetProperty("jobKey").GetString());
        Assert.Equal(new[] { "d1", "d2", "d3", "d4", "n1", "n2" }, JobsFixtures.Live(Store()).Keys);

        var saved = JsonDocument.Parse(_fake.Stored("dss-statestore", "reindex-docs")!.Value.Json).RootElement;
        Assert.Equal("succeeded", saved.GetProperty("lastStatus").GetString());
        var publish = (Wire.PublishEventRequest)Assert.Single(_fake.CallsOf("PublishEvent")).Request;
        Assert.Equal(("dss-pubsub", "documents.reindexed"), (publish.PubsubName, publish.Topic));

        // The next tick (Dapr's real trigger: no ?wait) within MinInterval is accepted and runs nothing new.
        r = await _http.PostAsync("/reindex-cron", new StringContent(""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("reindex-docs", Assert.Single((await Json(r)).GetProperty("accepted").EnumerateArray()).GetString());
        var outcomes = await _app.Services.GetRequiredService<DaprApp>().Running!;
        Assert.Equal(JobOutcomeKind.RecentlyRan, Assert.Single(outcomes).Kind);
        Assert.Single(_fake.CallsOf("PublishEvent"));
    }

    [Fact]
    public async Task Dapr_subscribe_lists_documents_changed_and_its_events_upsert_and_delete_documents_idempotently()
    {
        var sub = await _http.GetAsync("/dapr/subscribe");
        Assert.Equal(HttpStatusCode.OK, sub.StatusCode);
        var entry = Assert.Single((await Json(sub)).EnumerateArray());
        var fields = entry.EnumerateObject().ToDictionary(p => p.Name.ToLowerInvariant(), p => p.Value);
        Assert.Equal("dss-pubsub", fields["pubsubname"].GetString());
        Assert.Equal("documents.changed", fields["topic"].GetString());
        Assert.Equal(DaprApp.ChangedRoute.TrimStart('/'), fields["route"].GetString()!.TrimStart('/')); // Dapr.AspNetCore lists it without the slash

        var data = new
        {
            collection = "docs",
            upserts = new object[]
            {
                new { id = "u1", title = "Comets", text = "Comets have icy tails.", metadata = new { year = 2024 } },
                new { id = "d1", title = "Lava", text = "Lava cools into basalt." },
            },
            deletes = new[] { "d3" },
        };
        var ok = await Deliver(data);
        Assert.Equal("SUCCESS", ok.GetProperty("status").GetString());
        var live = JobsFixtures.Live(Store());
        Assert.Equal(new[] { "d1", "d2", "d4", "u1" }, live.Keys);
        Assert.Equal("Lava cools into basalt.", live["d1"]);

        // At-least-once delivery: the same event again changes nothing and still succeeds (d3 already gone).
        var again = await Deliver(data);
        Assert.Equal("SUCCESS", again.GetProperty("status").GetString());
        Assert.Equal(0, again.GetProperty("upserted").GetInt32());
        Assert.Equal(1, again.GetProperty("alreadyGone").GetInt32());
        Assert.Equal(live, JobsFixtures.Live(Store()));
    }

    [Theory]
    [InlineData("""{"collection": "docs", "upserts": [{"id": "ok1", "text": "fine"}, {"id": 7, "text": "bad id"}]}""", "upserts[1]")]
    [InlineData("""{"collection": "docs", "upserts": [{"id": "x", "text": "a"}], "deletes": ["x"]}""", "also upserts[0]")]
    [InlineData("""{"collection": "docs", "upserts": [{"id": "ok1", "text": "fine"}], "extra": 1}""", "unknown field 'extra'")]
    [InlineData("""{"collection": "nosuch", "deletes": ["d1"]}""", "unknown collection 'nosuch'")]
    [InlineData("""{"collection": "docs"}""", "no upserts and no deletes")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    public async Task A_bad_event_is_dropped_whole_with_the_reason(string data, string reason)
    {
        var before = JobsFixtures.Live(Store());
        var r = await Deliver(JsonDocument.Parse(data).RootElement);
        Assert.Equal("DROP", r.GetProperty("status").GetString());
        Assert.Contains(reason, r.GetProperty("message").GetString());
        Assert.Equal(before, JobsFixtures.Live(Store()));
    }

    [Fact]
    public async Task Calls_without_the_app_token_are_refused_and_the_grpc_port_does_not_serve_the_routes()
    {
        using var bare = new HttpClient { BaseAddress = _http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await bare.PostAsync("/reindex-cron", new StringContent(""))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bare.GetAsync("/dapr/subscribe")).StatusCode);
        bare.DefaultRequestHeaders.Add(DaprApp.TokenHeader, "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await bare.GetAsync("/dapr/subscribe")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/nothing-here")).StatusCode);
        Assert.Empty(_fake.Calls);

        // The gRPC listener is HTTP/2 only; an HTTP/2 request for the cron route there is not the Dapr route.
        using var h2 = new HttpClient { BaseAddress = new Uri(SearchServer.Address(_app)), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        h2.DefaultRequestHeaders.Add(DaprApp.TokenHeader, "app-token-123");
        var grpcPort = await h2.PostAsync("/reindex-cron?wait=true", new StringContent(""));
        Assert.NotEqual(HttpStatusCode.OK, grpcPort.StatusCode);
        Assert.Empty(_fake.Calls);
    }

    DeepSeek.Search.Store.CollectionStore Store() => DeepSeek.Search.Store.CollectionStore.At(Root, "docs");

    /// <summary>A CloudEvent as the sidecar delivers it (structured mode, application/cloudevents+json).</summary>
    async Task<JsonElement> Deliver(object data)
    {
        var cloudEvent = new Dictionary<string, object>
        {
            ["specversion"] = "1.0", ["id"] = Guid.NewGuid().ToString(), ["source"] = "upstream", ["type"] = "com.dapr.event.sent",
            ["datacontenttype"] = "application/json", ["pubsubname"] = "dss-pubsub", ["topic"] = "documents.changed", ["data"] = data,
        };
        var content = new StringContent(JsonSerializer.Serialize(cloudEvent));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
        var r = await _http.PostAsync(DaprApp.ChangedRoute, content);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return await Json(r);
    }
}
