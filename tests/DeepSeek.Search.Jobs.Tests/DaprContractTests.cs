using System.Text.Json;
using Dapr.Client;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Indexing.Reindex;
using DeepSeek.Search.TestKit;
using Wire = Dapr.Client.Autogen.Grpc.v1;

namespace DeepSeek.Search.Jobs.Tests;

/// <summary>
/// The Dapr side of the re-index job against <see cref="FakeDaprSidecar"/> (a fake: no Dapr runtime can be installed here), on
/// real collections: the exact gRPC calls of the Dapr state and pub/sub APIs the runner makes, and the single-run rule when
/// two replicas race for one job.
/// </summary>
public class DaprContractTests
{
    const string Store = "dss-statestore", PubSub = "dss-pubsub", Topic = "documents.reindexed";

    static DaprClient Client(FakeDaprSidecar fake) => new DaprClientBuilder().UseGrpcEndpoint(fake.GrpcEndpoint).Build();

    static ReindexRunner Runner(DaprClient client, string owner, TimeSpan? minInterval = null) =>
        new(new DaprJobStateStore(client, Store), new DaprJobEvents(client, PubSub, Topic),
            new RunnerOptions { Owner = owner, MinInterval = minInterval ?? TimeSpan.Zero, Lease = TimeSpan.FromHours(1) });

    static JsonElement Json(Google.Protobuf.ByteString bytes) => JsonDocument.Parse(bytes.ToStringUtf8()).RootElement;

    [Fact]
    public async Task Two_replicas_racing_for_the_job_run_it_once_the_loser_s_claim_rejected_on_its_etag()
    {
        using var tmp = new TempDir("dss-dapr");
        await using var fake = await FakeDaprSidecar.StartAsync();
        using var client = Client(fake);
        // Two replicas, each with its own copy of the collection (a StatefulSet's volumes), one job key.
        var a = JobsFixtures.Build(tmp.File("a"), "docs", JobsFixtures.Initial());
        var b = JobsFixtures.Build(tmp.File("b"), "docs", JobsFixtures.Initial());
        var source = new[] { JobSources.Open(JobsFixtures.WriteJsonl(tmp.File("night.jsonl"), JobsFixtures.Night())) };
        using var writerA = CollectionWriter.Open(a);
        using var writerB = CollectionWriter.Open(b);

        fake.HoldReads(2); // both read the (absent) state before either claims it
        var runs = await Task.WhenAll(
            Runner(client, "replica-a").RunAsync("reindex-docs", writerA, source),
            Runner(client, "replica-b").RunAsync("reindex-docs", writerB, source));

        var won = Assert.Single(runs, r => r.Kind == JobOutcomeKind.Ran);
        var lost = Assert.Single(runs, r => r.Kind == JobOutcomeKind.LostRace);
        Assert.Contains("ETag mismatch", lost.Message);
        Assert.Null(lost.Report);
        Assert.Equal((2L, 1L, 2L, 0L), (won.Report!.Added, won.Report.Changed, won.Report.Unchanged, won.Report.Deleted)); // d4 is unregistered: kept
        bool aWon = runs[0].Kind == JobOutcomeKind.Ran;
        var (winner, loser) = aWon ? (a, b) : (b, a);
        Assert.Equal(new[] { "d1", "d2", "d3", "d4", "n1", "n2" }, JobsFixtures.Live(winner).Keys);
        Assert.Equal(new[] { "d1", "d2", "d3", "d4" }, JobsFixtures.Live(loser).Keys);           // the loser ran nothing
        Assert.Equal("Cells divide by mitosis.", JobsFixtures.Live(loser)["d2"]);

        // The exact calls: 2 reads + 2 claims (one rejected), then the winner's re-read, finishing save and publish; nothing else.
        Assert.Empty(fake.OtherPaths);
        var methods = fake.Calls.Select(c => c.Method).ToList();
        Assert.Equal(new[] { "GetState", "GetState" }, methods.Take(2));
        Assert.Equal(new[] { "GetState", "GetState", "GetState", "PublishEvent", "SaveState", "SaveState", "SaveState" }, methods.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "GetState", "SaveState", "PublishEvent" }, methods.TakeLast(3)); // the winner's finish
        var reads = fake.CallsOf("GetState").Select(c => (Wire.GetStateRequest)c.Request).ToList();
        Assert.All(reads, r => Assert.Equal((Store, "reindex-docs", Wire.StateOptions.Types.StateConsistency.ConsistencyStrong), (r.StoreName, r.Key, r.Consistency)));
        var saves = fake.CallsOf("SaveState").Select(c => (Wire.SaveStateRequest)c.Request).ToList();
        Assert.All(saves, s =>
        {
            Assert.Equal(Store, s.StoreName);
            var item = Assert.Single(s.States);
            Assert.Equal("reindex-docs", item.Key);
            Assert.Equal(Wire.StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite, item.Options.Concurrency);
            Assert.Equal(Wire.StateOptions.Types.StateConsistency.ConsistencyStrong, item.Options.Consistency);
            Assert.NotNull(item.Etag);
        });
        // Both claims carry the ETag they read: "" (the key was absent); each names its owner and a lease.
        var claims = saves.Select(s => s.States[0]).Where(i => i.Etag.Value == "").ToList();
        Assert.Equal(2, claims.Count);
        Assert.All(claims, c => Assert.Equal("", c.Etag.Value));
        Assert.Equal(new[] { "replica-a", "replica-b" }, claims.Select(c => Json(c.Value).GetProperty("owner").GetString()).Order());
        Assert.All(claims, c => Assert.True(Json(c.Value).GetProperty("leaseUntilUtc").GetDateTime() > DateTime.UtcNow));
        // The finishing save: with the ETag of the winner's claim (version 1), the claim released, the watermark set.
        var finish = saves[^1].States[0];
        Assert.Equal("1", finish.Etag.Value);
        var done = Json(finish.Value);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("owner").ValueKind);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("claimId").ValueKind);
        Assert.Equal("succeeded", done.GetProperty("lastStatus").GetString());
        Assert.Equal(won.Report.RunId, done.GetProperty("lastRunId").GetString());
        Assert.Equal(won.Report.LastSeq, done.GetProperty("lastSeq").GetInt64());
        Assert.Equal(1, done.GetProperty("runs").GetInt64());
        Assert.Equal(2, fake.Stored(Store, "reindex-docs")!.Value.Version);
        // documents.reindexed: the configured pub/sub and topic, JSON data holding the report (Dapr wraps it in a CloudEvent).
        var publish = (Wire.PublishEventRequest)Assert.Single(fake.CallsOf("PublishEvent")).Request;
        Assert.Equal((PubSub, Topic, "application/json"), (publish.PubsubName, publish.Topic, publish.DataContentType));
        var ev = Json(publish.Data);
        Assert.Equal("reindex-docs", ev.GetProperty("jobKey").GetString());
        Assert.Equal("docs", ev.GetProperty("collection").GetString());
        Assert.Equal(aWon ? "replica-a" : "replica-b", ev.GetProperty("owner").GetString());
        Assert.Equal(won.Report.RunId, ev.GetProperty("report").GetProperty("runId").GetString());
        Assert.Equal(2, ev.GetProperty("report").GetProperty("added").GetInt64());
    }

    [Fact]
    public async Task A_live_claim_makes_another_replica_back_off_a_recent_success_is_not_repeated_and_a_lapsed_claim_is_taken_over()
    {
        using var tmp = new TempDir("dss-dapr");
        await using var fake = await FakeDaprSidecar.StartAsync();
        using var client = Client(fake);
        var store = JobsFixtures.Build(tmp.Path, "docs", JobsFixtures.Initial());
        var source = new[] { JobSources.Open(JobsFixtures.WriteJsonl(tmp.File("night.jsonl"), JobsFixtures.Night())) };
        using var writer = CollectionWriter.Open(store);
        var state = new DaprJobStateStore(client, Store);

        // Another replica holds the job (its lease runs for an hour): this one reads, backs off, writes nothing.
        Assert.True(await state.TryWriteAsync("reindex-docs", new ReindexJobState
        {
            Owner = "replica-x", ClaimId = "c1", RunningSinceUtc = DateTime.UtcNow, LeaseUntilUtc = DateTime.UtcNow.AddHours(1),
        }, ""));
        var busy = await Runner(client, "replica-a").RunAsync("reindex-docs", writer, source);
        Assert.Equal(JobOutcomeKind.Busy, busy.Kind);
        Assert.Contains("replica-x", busy.Message);
        Assert.Equal(new[] { "SaveState", "GetState" }, fake.Calls.Select(c => c.Method));
        Assert.Equal(new[] { "d1", "d2", "d3", "d4" }, JobsFixtures.Live(store).Keys);

        // The lease lapsed (replica-x died): the job is taken over and run.
        var (_, etag) = await state.ReadAsync("reindex-docs");
        Assert.True(await state.TryWriteAsync("reindex-docs", new ReindexJobState
        {
            Owner = "replica-x", ClaimId = "c1", RunningSinceUtc = DateTime.UtcNow.AddHours(-8), LeaseUntilUtc = DateTime.UtcNow.AddHours(-2),
        }, etag));
        var ran = await Runner(client, "replica-a", TimeSpan.FromHours(1)).RunAsync("reindex-docs", writer, source);
        Assert.Equal(JobOutcomeKind.Ran, ran.Kind);
        Assert.Equal(new[] { "d1", "d2", "d3", "d4", "n1", "n2" }, JobsFixtures.Live(store).Keys);

        // The cron tick reaches the next replica minutes later: it succeeded within MinInterval, so it is not run again.
        int calls = fake.Calls.Count;
        var again = await Runner(client, "replica-b", TimeSpan.FromHours(1)).RunAsync("reindex-docs", writer, source);
        Assert.Equal(JobOutcomeKind.RecentlyRan, again.Kind);
        Assert.Equal(new[] { "GetState" }, fake.Calls.Skip(calls).Select(c => c.Method));
        Assert.Single(fake.CallsOf("PublishEvent"));
    }

    [Fact]
    public async Task A_failed_run_records_the_error_releases_the_claim_and_publishes_nothing()
    {
        using var tmp = new TempDir("dss-dapr");
        await using var fake = await FakeDaprSidecar.StartAsync();
        using var client = Client(fake);
        var store = JobsFixtures.Build(tmp.Path, "docs", JobsFixtures.Initial());
        var bad = tmp.File("bad.jsonl");
        File.WriteAllText(bad, "{\"id\": \"x1\", \"text\": \"fine\"}\n{\"id\": 5}\n");
        using var writer = CollectionWriter.Open(store);
        var ex = await Assert.ThrowsAnyAsync<Core.InvalidInputException>(() => Runner(client, "replica-a").RunAsync("reindex-docs", writer, [JobSources.Open(bad)]));
        Assert.Contains("bad.jsonl:2", ex.Message);
        var saved = JsonDocument.Parse(fake.Stored(Store, "reindex-docs")!.Value.Json).RootElement;
        Assert.Equal("failed", saved.GetProperty("lastStatus").GetString());
        Assert.Contains("bad.jsonl:2", saved.GetProperty("lastError").GetString());
        Assert.Equal(JsonValueKind.Null, saved.GetProperty("claimId").ValueKind);
        Assert.Empty(fake.CallsOf("PublishEvent"));
        Assert.Equal(new[] { "d1", "d2", "d3", "d4" }, JobsFixtures.Live(store).Keys);
    }
}
