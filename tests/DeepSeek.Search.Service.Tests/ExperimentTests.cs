using System.Globalization;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Experiments;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Acl = DeepSeek.Search.Core.Filtering.Acl;
using Document = DeepSeek.Search.Core.Document;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// A real server (gRPC and metrics listeners on free ports) serving online experiments from an experiments file it re-reads:
/// collection <c>exp</c> (<see cref="ServerFixture.Corpus"/>, dense) and <c>exp2</c> (other documents, dense, one of them
/// alice's only), and for Ask <c>rag</c> and <c>rag2</c> (the same two corpora, BM25, each with the tiny generator). Keys:
/// alice (read exp, exp2, rag, rag2), dave (read exp and rag only), erin (read exp2 only).
/// </summary>
public sealed class ExperimentServerFixture : IAsyncLifetime
{
    public TempDir Tmp { get; } = new("dss-experiments");
    public string Root => Tmp.File("indexes");
    public string ExperimentsFile => Tmp.File("experiments.json");
    public WebApplication App { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    internal SearchService.SearchServiceClient Client { get; private set; } = null!;
    public HttpClient Metrics { get; private set; } = null!;
    internal ObservabilityTests.CapturingLoggerProvider Logs { get; } = new();
    public string AliceKey { get; private set; } = "";
    public string DaveKey { get; private set; } = "";
    public string ErinKey { get; private set; } = "";
    DateTime _stamp = DateTime.UtcNow;

    public static IReadOnlyList<Document> OtherCorpus() =>
    [
        new("c1", "Volcano atlas", "An atlas of every volcano and its lava fields.", null),
        new("c2", "Lava lamps", "Lava lamps are not a volcano, but the wax flows like lava.", null),
        new("c3", "Alice's volcano diary", "Alice keeps a diary of the volcano and its lava.", null, new Acl(["alice"], [])),
        new("c4", "Glacier guide", "Ice and glaciers, far from any volcano.", null),
    ];

    public async Task InitializeAsync()
    {
        var encoder = TinyEncoder.Copy(Tmp);
        CollectionBuilder.Build(CollectionStore.At(Root, "exp"), ServerFixture.Corpus(), new BuildOptions { EncoderPath = encoder, ChunkTokens = 16, ChunkOverlap = 4 });
        CollectionBuilder.Build(CollectionStore.At(Root, "exp2"), OtherCorpus(), new BuildOptions { EncoderPath = encoder, ChunkTokens = 16, ChunkOverlap = 4 });
        foreach (var (name, corpus) in new[] { ("rag", ServerFixture.Corpus()), ("rag2", OtherCorpus()) })
        {
            var store = CollectionStore.At(Root, name);
            CollectionBuilder.Build(store, corpus, new BuildOptions());
            TinyGenerator.CopyTo(Path.Combine(store.Directory, "generator"));
        }
        var keys = ApiKeyFile.Load(Tmp.File("keys.json"));
        AliceKey = keys.Add("alice", [], AccessRight.Read, ["exp", "exp2", "rag", "rag2"]).Key;
        DaveKey = keys.Add("dave", [], AccessRight.Read, ["exp", "rag"]).Key;
        ErinKey = keys.Add("erin", [], AccessRight.Read, ["exp2"]).Key;
        WriteExperiments("""{ "Experiments": [] }""");
        App = SearchServer.Build(new ServiceSettings { IndexRoot = Root, Port = 0, MetricsPort = 0, KeysFile = keys.Path, ExperimentsFile = ExperimentsFile },
            logging: l => l.AddProvider(Logs).SetMinimumLevel(LogLevel.Information));
        await App.StartAsync();
        Channel = GrpcChannel.ForAddress(SearchServer.Address(App));
        Client = new SearchService.SearchServiceClient(Channel);
        Metrics = new HttpClient { BaseAddress = new Uri(SearchServer.MetricsAddress(App)) };
    }

    /// <summary>
    /// Rewrites the experiments file as an operator would while the server runs. Its modification time is moved a second on
    /// each write: the server notices changes by time and length, and two writes of one test can fall in one clock tick.
    /// </summary>
    public void WriteExperiments(string json)
    {
        File.WriteAllText(ExperimentsFile, json);
        _stamp = _stamp.AddSeconds(1);
        File.SetLastWriteTimeUtc(ExperimentsFile, _stamp);
    }

    public async Task DisposeAsync()
    {
        Metrics.Dispose();
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Tmp.Dispose();
    }
}

/// <summary>Online A/B experiments served by a real Kestrel server: assignment, the arms' settings, metrics, stopping without a restart, errors.</summary>
public sealed class ExperimentTests(ExperimentServerFixture f) : IClassFixture<ExperimentServerFixture>
{
    const string Query = "volcano lava";

    // rrf against minmax fusion on the same collection, 50/50.
    const string FusionAb = """
        { "Experiments": [ { "Name": "fusion-ab", "Collection": "exp",
            "Arms": [ { "Name": "rrf", "Share": 50, "Mode": "hybrid", "Fusion": "rrf" },
                      { "Name": "minmax", "Share": 50, "Mode": "hybrid", "Fusion": "minmax", "Alpha": 0.7 } ] } ] }
        """;

    static Metadata Bearer(string key) => ServerFixture.Bearer(key);

    static IEnumerable<string> Keys(int n, string prefix = "user-") => Enumerable.Range(0, n).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture));

    SearchResponse Search(string key, string experimentKey, string collection = "exp", SearchMode mode = SearchMode.Unspecified, RerankSettings? rerank = null) =>
        f.Client.Search(new SearchRequest { Collection = collection, Query = Query, K = 5, ExperimentKey = experimentKey, Mode = mode, Rerank = rerank }, Bearer(key));

    static IEnumerable<(string, float)> Ranking(SearchResponse r) => r.Hits.Select(h => (h.Id, h.Score));

    /// <summary>The experiment as the server reads it: the same file through the same loader.</summary>
    Experiment Configured(string name) => ExperimentSet.Load(f.ExperimentsFile).Named(name)!;

    [Fact]
    public void Each_key_lands_on_the_same_arm_on_every_call_and_each_arm_searches_with_its_own_settings()
    {
        f.WriteExperiments(FusionAb);
        var experiment = Configured("fusion-ab");
        var rrf = f.Client.Search(new SearchRequest { Collection = "exp", Query = Query, K = 5, Mode = SearchMode.Hybrid, Fusion = FusionMethod.Rrf }, Bearer(f.AliceKey));
        var minmax = f.Client.Search(new SearchRequest { Collection = "exp", Query = Query, K = 5, Mode = SearchMode.Hybrid, Fusion = FusionMethod.Minmax, Alpha = 0.7f }, Bearer(f.AliceKey));
        Assert.Equal(("", ""), (rrf.Experiment, rrf.Arm));   // no key: no experiment
        Assert.NotEqual(Ranking(rrf), Ranking(minmax));      // the two arms' settings really rank differently here
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in Keys(200))
        {
            string? arm = null;
            for (int call = 0; call < 3; call++)
            {
                var r = Search(f.AliceKey, key);
                Assert.Equal("fusion-ab", r.Experiment);
                arm ??= r.Arm;
                Assert.Equal(arm, r.Arm);
                // The arm's settings replaced the request's: its ranking is that of a plain request with the arm's fusion.
                Assert.Equal(Ranking(arm == "rrf" ? rrf : minmax), Ranking(r));
            }
            Assert.Equal(experiment.Assign(key).Name, arm);
            seen[arm!] = seen.GetValueOrDefault(arm!) + 1;
        }
        Assert.Equal(["minmax", "rrf"], seen.Keys.Order(StringComparer.Ordinal));
        Assert.All(seen.Values, n => Assert.InRange(n, 70, 130));

        // A SearchBatch assigns each search by its own key; a search of another collection is not in the experiment.
        string rrfKey = Keys(200).First(k => experiment.Assign(k).Name == "rrf"), minmaxKey = Keys(200).First(k => experiment.Assign(k).Name == "minmax");
        var batch = f.Client.SearchBatch(new SearchBatchRequest
        {
            Searches =
            {
                new SearchRequest { Collection = "exp", Query = Query, K = 5, ExperimentKey = rrfKey },
                new SearchRequest { Collection = "exp", Query = Query, K = 5, ExperimentKey = minmaxKey },
                new SearchRequest { Collection = "exp2", Query = Query, K = 5, ExperimentKey = rrfKey },
            },
        }, Bearer(f.AliceKey));
        Assert.Equal(["rrf", "minmax", ""], batch.Results.Select(r => r.Arm));
        Assert.Equal(["fusion-ab", "fusion-ab", ""], batch.Results.Select(r => r.Experiment));
        Assert.Equal(Ranking(rrf), Ranking(batch.Results[0]));
        Assert.Equal(Ranking(minmax), Ranking(batch.Results[1]));
    }

    [Fact]
    public async Task The_split_matches_the_shares_and_per_arm_metrics_and_outcomes_appear_on_the_metrics_endpoint()
    {
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "split-ab", StringComparison.Ordinal).Replace("\"Share\": 50, \"Mode\": \"hybrid\", \"Fusion\": \"rrf\"", "\"Share\": 90, \"Mode\": \"bm25\"", StringComparison.Ordinal)
            .Replace("\"Share\": 50", "\"Share\": 10", StringComparison.Ordinal));
        var experiment = Configured("split-ab");
        Assert.Equal([0.9, 0.1], experiment.Arms.Select(a => Math.Round(a.Share, 12)));
        // 10,000 keys through the server's assignment: within 2% of 90/10.
        double rrfShare = Keys(10_000, "k").Count(k => experiment.Assign(k).Name == "rrf") / 10_000.0;
        Assert.InRange(rrfShare, 0.88, 0.92);

        var before = await ObservabilityTests.Scrape(f.Metrics);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal) { ["rrf"] = 0, ["minmax"] = 0 };
        foreach (var key in Keys(500, "wire-"))
        {
            var r = Search(f.AliceKey, key);
            Assert.Equal(experiment.Assign(key).Name, r.Arm);   // the server assigns exactly as the assigner does
            counts[r.Arm]++;
            if (r.Arm == "rrf") Assert.All(r.Hits, h => Assert.False(h.HasDenseScore));   // the 90% arm searches BM25 only
        }
        Assert.InRange(counts["rrf"] / 500.0, 0.85, 0.95);

        // Outcomes: a click for each of the first 40 keys (arm recomputed from the key), and judgments naming the arm.
        var clicks = new Dictionary<string, int>(StringComparer.Ordinal) { ["rrf"] = 0, ["minmax"] = 0 };
        foreach (var key in Keys(40, "wire-"))
        {
            var ack = f.Client.ReportOutcome(new ReportOutcomeRequest { Collection = "exp", Experiment = "split-ab", ExperimentKey = key, Kind = OutcomeKind.Click }, Bearer(f.AliceKey));
            Assert.Equal(("split-ab", experiment.Assign(key).Name), (ack.Experiment, ack.Arm));
            clicks[ack.Arm]++;
        }
        foreach (var value in new[] { 1.0, 0.5, 0.25 })
            f.Client.ReportOutcome(new ReportOutcomeRequest { Collection = "exp", Experiment = "split-ab", Arm = "minmax", Kind = OutcomeKind.Judgment, Value = value }, Bearer(f.DaveKey));

        var after = await ObservabilityTests.Scrape(f.Metrics);
        foreach (var arm in new[] { "rrf", "minmax" })
        {
            (string, string)[] tags = [("experiment", "split-ab"), ("arm", arm)];
            Assert.Equal(counts[arm], ObservabilityTests.Delta(before, after, "dss_experiment_requests_total", tags));
            Assert.Equal(counts[arm], ObservabilityTests.Delta(before, after, "dss_experiment_search_duration_seconds_count", tags));
            Assert.Equal(counts[arm], ObservabilityTests.Delta(before, after, "dss_experiment_search_duration_seconds_bucket", [.. tags, ("le", "+Inf")]));
            Assert.True(ObservabilityTests.Delta(before, after, "dss_experiment_search_duration_seconds_sum", tags) > 0);
            Assert.Equal(clicks[arm], ObservabilityTests.Delta(before, after, "dss_experiment_outcomes_total", [.. tags, ("kind", "click")]));
            Assert.Equal(clicks[arm], ObservabilityTests.Delta(before, after, "dss_experiment_outcome_value_sum", [.. tags, ("kind", "click")]));
        }
        (string, string)[] judged = [("experiment", "split-ab"), ("arm", "minmax"), ("kind", "judgment")];
        Assert.Equal(3, ObservabilityTests.Delta(before, after, "dss_experiment_outcomes_total", judged));
        Assert.Equal(1.75, ObservabilityTests.Delta(before, after, "dss_experiment_outcome_value_sum", judged), 9);
        Assert.Equal(0, ObservabilityTests.Delta(before, after, "dss_experiment_outcomes_total", ("experiment", "split-ab"), ("arm", "rrf"), ("kind", "judgment")));
    }

    [Fact]
    public void An_experiment_stops_and_restarts_by_editing_the_file_and_a_bad_edit_keeps_the_last_good_one()
    {
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "stop-ab", StringComparison.Ordinal));
        var control = Ranking(Search(f.AliceKey, ""));
        var arms = Keys(20).ToDictionary(k => k, k => Search(f.AliceKey, k).Arm);
        Assert.All(arms.Values, a => Assert.Contains(a, new[] { "rrf", "minmax" }));

        // A malformed edit: logged, and the experiment goes on as it was.
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "stop-ab", StringComparison.Ordinal)[..40]);
        Assert.All(arms, a => Assert.Equal(a.Value, Search(f.AliceKey, a.Key).Arm));
        Assert.Contains(f.Logs.Entries, e => e.EventId == 21 && e.Level == LogLevel.Error && e.Message.Contains(f.ExperimentsFile, StringComparison.Ordinal)
                                             && e.Message.Contains("does not load", StringComparison.Ordinal));
        // An edit that parses but is not a valid experiment (a share of 0) is kept out the same way: never half applied.
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "stop-ab", StringComparison.Ordinal).Replace("\"Share\": 50, \"Mode\": \"hybrid\", \"Fusion\": \"minmax\"", "\"Share\": 0, \"Mode\": \"bm25\", \"Fusion\": \"minmax\"", StringComparison.Ordinal));
        Assert.All(arms, a => Assert.Equal(a.Value, Search(f.AliceKey, a.Key).Arm));
        Assert.Contains(f.Logs.Entries, e => e.EventId == 21 && e.Message.Contains("Share must be a positive number, got 0", StringComparison.Ordinal));

        // Stopped: no arm for anyone, and the request as sent (the control behaviour); outcomes are refused.
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "stop-ab", StringComparison.Ordinal).Replace("\"Collection\": \"exp\",", "\"Collection\": \"exp\", \"Enabled\": false,", StringComparison.Ordinal));
        foreach (var key in arms.Keys)
        {
            var r = Search(f.AliceKey, key);
            Assert.Equal(("", ""), (r.Experiment, r.Arm));
            Assert.Equal(control, Ranking(r));
        }
        var stopped = Assert.Throws<RpcException>(() => f.Client.ReportOutcome(new ReportOutcomeRequest { Collection = "exp", Experiment = "stop-ab", Arm = "rrf", Kind = OutcomeKind.Click }, Bearer(f.AliceKey)));
        Assert.Equal(StatusCode.FailedPrecondition, stopped.StatusCode);
        Assert.Equal("experiment 'stop-ab' is stopped: its outcomes are no longer counted", stopped.Status.Detail);

        // Enabled again: every key back on its arm (the assignment never depended on the server's history).
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "stop-ab", StringComparison.Ordinal));
        Assert.All(arms, a => Assert.Equal(a.Value, Search(f.AliceKey, a.Key).Arm));

        // The file removed: no experiments at all.
        File.Delete(f.ExperimentsFile);
        Assert.All(arms.Keys, k => Assert.Equal("", Search(f.AliceKey, k).Arm));
        var gone = Assert.Throws<RpcException>(() => f.Client.ReportOutcome(new ReportOutcomeRequest { Collection = "exp", Experiment = "stop-ab", Arm = "rrf", Kind = OutcomeKind.Click }, Bearer(f.AliceKey)));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        f.WriteExperiments("""{ "Experiments": [] }""");
    }

    [Fact]
    public void An_arm_on_another_collection_searches_it_with_the_callers_rights_and_ACL()
    {
        f.WriteExperiments("""
            { "Experiments": [ { "Name": "collection-ab", "Collection": "exp", "Salt": "v2",
                "Arms": [ { "Name": "current", "Share": 1 }, { "Name": "reindexed", "Share": 1, "Collection": "exp2" } ] } ] }
            """);
        var experiment = Configured("collection-ab");
        string current = Keys(100).First(k => experiment.Assign(k).Name == "current"), reindexed = Keys(100).First(k => experiment.Assign(k).Name == "reindexed");
        string[] expIds = [.. ServerFixture.Corpus().Select(d => d.Id)], otherIds = [.. ExperimentServerFixture.OtherCorpus().Select(d => d.Id)];

        var r = Search(f.AliceKey, reindexed);
        Assert.Equal("reindexed", r.Arm);
        Assert.NotEmpty(r.Hits);
        Assert.All(r.Hits, h => Assert.Contains(h.Id, otherIds));
        Assert.Contains(r.Hits, h => h.Id == "c3");   // alice's own document of exp2
        var c = Search(f.AliceKey, current);
        Assert.Equal("current", c.Arm);
        Assert.All(c.Hits, h => Assert.Contains(h.Id, expIds));

        // dave may read exp but not exp2: in the arm that searches exp2 he is refused, never served exp2's documents.
        Assert.Equal("current", Search(f.DaveKey, current).Arm);
        var denied = Assert.Throws<RpcException>(() => Search(f.DaveKey, reindexed));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("lacks the read right on collection 'exp2'", denied.Status.Detail, StringComparison.Ordinal);
        // erin may read exp2 but not exp: the collection the request names is checked first, whatever the arm.
        var named = Assert.Throws<RpcException>(() => Search(f.ErinKey, reindexed));
        Assert.Equal(StatusCode.PermissionDenied, named.StatusCode);
        Assert.Contains("lacks the read right on collection 'exp'", named.Status.Detail, StringComparison.Ordinal);

        // Document ACLs apply in the arm's collection: a caller other than alice with read on both never sees c3.
        var keys = ApiKeyFile.Load(f.Tmp.File("keys.json"));
        var (_, frank) = keys.Add("frank", [], AccessRight.Read, ["exp", "exp2"]);
        var fr = Search(frank, reindexed);
        Assert.Equal("reindexed", fr.Arm);
        Assert.NotEmpty(fr.Hits);
        Assert.DoesNotContain(fr.Hits, h => h.Id == "c3");
    }

    [Fact]
    public void An_arms_rerank_setting_replaces_the_callers()
    {
        f.WriteExperiments("""
            { "Experiments": [ { "Name": "rerank-ab", "Collection": "exp",
                "Arms": [ { "Name": "off", "Share": 1, "Rerank": { "Enabled": false } }, { "Name": "on", "Share": 1, "Rerank": { "Depth": 10 } } ] } ] }
            """);
        var experiment = Configured("rerank-ab");
        string off = Keys(100).First(k => experiment.Assign(k).Name == "off"), on = Keys(100).First(k => experiment.Assign(k).Name == "on");
        // exp has no generator: re-ranking is FAILED_PRECONDITION, so what each arm does is visible.
        var asked = new RerankSettings { Depth = 5 };
        Assert.Equal(StatusCode.FailedPrecondition, Assert.Throws<RpcException>(() => Search(f.AliceKey, "", rerank: asked)).StatusCode);
        var r = Search(f.AliceKey, off, rerank: asked);   // the arm turns the caller's re-ranking off
        Assert.Equal("off", r.Arm);
        Assert.NotEmpty(r.Hits);
        Assert.All(r.Hits, h => Assert.False(h.HasRerankScore));
        var e = Assert.Throws<RpcException>(() => Search(f.AliceKey, on));   // the arm turns it on for a caller who did not ask
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.StartsWith("no generator for collection 'exp'", e.Status.Detail, StringComparison.Ordinal);
    }

    async Task<AskResult> Ask(string key, string experimentKey)
    {
        using var call = f.Client.Ask(new AskRequest { Collection = "rag", Question = Query, MaxNewTokens = 4, ExperimentKey = experimentKey }, Bearer(key));
        AskResult? result = null;
        await foreach (var m in call.ResponseStream.ReadAllAsync())
            if (m.EventCase == AskResponse.EventOneofCase.Result) result = m.Result;
        return result ?? throw new InvalidOperationException("the Ask stream ended without a result");
    }

    [Fact]
    public async Task Ask_with_an_experiment_key_is_served_by_the_keys_arm_on_every_call_and_counted_per_arm()
    {
        f.WriteExperiments("""
            { "Experiments": [ { "Name": "ask-ab", "Collection": "rag", "Salt": "ask",
                "Arms": [ { "Name": "bm25", "Share": 1, "Mode": "bm25" }, { "Name": "other", "Share": 1, "Collection": "rag2" } ] } ] }
            """);
        var experiment = Configured("ask-ab");
        string[] ragIds = [.. ServerFixture.Corpus().Select(d => d.Id)], otherIds = [.. ExperimentServerFixture.OtherCorpus().Select(d => d.Id)];
        var keys = Keys(40, "ask-").ToList();
        string inBm25 = keys.First(k => experiment.Assign(k).Name == "bm25"), inOther = keys.First(k => experiment.Assign(k).Name == "other");

        var plain = await Ask(f.AliceKey, "");
        Assert.Equal(("", ""), (plain.Experiment, plain.Arm));   // no key: no experiment
        var before = await ObservabilityTests.Scrape(f.Metrics);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal) { ["bm25"] = 0, ["other"] = 0 };
        foreach (var key in new[] { inBm25, inOther, keys[0], keys[1] })
            for (int call = 0; call < 2; call++)
            {
                var r = await Ask(f.AliceKey, key);
                Assert.Equal(("ask-ab", experiment.Assign(key).Name), (r.Experiment, r.Arm));
                Assert.NotEmpty(r.Sources);
                // The arm shaped the recall: the "other" arm answers from rag2's documents, the "bm25" arm from rag's.
                Assert.All(r.Sources, src => Assert.Contains(src.DocumentId, r.Arm == "other" ? otherIds : ragIds));
                counts[r.Arm]++;
            }
        var after = await ObservabilityTests.Scrape(f.Metrics);
        foreach (var arm in new[] { "bm25", "other" })
        {
            Assert.True(counts[arm] >= 2);
            Assert.Equal(counts[arm], ObservabilityTests.Delta(before, after, "dss_experiment_requests_total", ("experiment", "ask-ab"), ("arm", arm)));
            Assert.Equal(counts[arm], ObservabilityTests.Delta(before, after, "dss_experiment_search_duration_seconds_count", ("experiment", "ask-ab"), ("arm", arm)));
        }

        // The arm's collection needs the caller's read right: dave (read rag only) is refused in the "other" arm.
        Assert.Equal("bm25", (await Ask(f.DaveKey, inBm25)).Arm);
        var denied = await Assert.ThrowsAsync<RpcException>(() => Ask(f.DaveKey, inOther));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("lacks the read right on collection 'rag2'", denied.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_with_one_forbidden_arm_collection_fails_whole_before_any_search_runs()
    {
        f.WriteExperiments("""
            { "Experiments": [ { "Name": "batch-ab", "Collection": "exp", "Salt": "batch",
                "Arms": [ { "Name": "current", "Share": 1 }, { "Name": "reindexed", "Share": 1, "Collection": "exp2" } ] } ] }
            """);
        var experiment = Configured("batch-ab");
        string current = Keys(100).First(k => experiment.Assign(k).Name == "current"), reindexed = Keys(100).First(k => experiment.Assign(k).Name == "reindexed");
        static SearchBatchRequest Batch(params string[] experimentKeys)
        {
            var b = new SearchBatchRequest();
            foreach (var k in experimentKeys) b.Searches.Add(new SearchRequest { Collection = "exp", Query = Query, K = 3, ExperimentKey = k });
            return b;
        }
        // Allowed as a whole: dave's searches in the arm on exp run.
        Assert.Equal(["", "current"], f.Client.SearchBatch(Batch("", current), Bearer(f.DaveKey)).Results.Select(r => r.Arm));

        var before = await ObservabilityTests.Scrape(f.Metrics);
        // The forbidden arm's search is last: checked only as each search ran, the first two would have run.
        var denied = Assert.Throws<RpcException>(() => f.Client.SearchBatch(Batch("", current, reindexed), Bearer(f.DaveKey)));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("lacks the read right on collection 'exp2'", denied.Status.Detail, StringComparison.Ordinal);
        var after = await ObservabilityTests.Scrape(f.Metrics);
        Assert.Equal(0, ObservabilityTests.Delta(before, after, "dss_search_stage_duration_seconds_count", ("collection", "exp"), ("stage", "total")));
        Assert.Equal(0, ObservabilityTests.Delta(before, after, "dss_experiment_requests_total", ("experiment", "batch-ab")));

        // The same batch for alice (read on both) runs whole, each search in its arm, and is counted.
        Assert.Equal(["", "current", "reindexed"], f.Client.SearchBatch(Batch("", current, reindexed), Bearer(f.AliceKey)).Results.Select(r => r.Arm));
        var ran = await ObservabilityTests.Scrape(f.Metrics);
        // Stage latencies are recorded under the collection the request names: all three searches.
        Assert.Equal(3, ObservabilityTests.Delta(after, ran, "dss_search_stage_duration_seconds_count", ("collection", "exp"), ("stage", "total")));
        Assert.Equal(1, ObservabilityTests.Delta(after, ran, "dss_experiment_requests_total", ("experiment", "batch-ab"), ("arm", "reindexed")));
    }

    [Fact]
    public void Bad_outcome_reports_and_experiment_keys_are_refused_naming_the_field()
    {
        f.WriteExperiments(FusionAb.Replace("fusion-ab", "errors-ab", StringComparison.Ordinal));
        var experiment = Configured("errors-ab");
        string key = "user-7", otherArm = experiment.Assign(key).Name == "rrf" ? "minmax" : "rrf";
        ReportOutcomeRequest Good() => new() { Collection = "exp", Experiment = "errors-ab", ExperimentKey = key, Kind = OutcomeKind.Judgment, Value = 1 };
        (StatusCode, string) Refused(ReportOutcomeRequest request, string? credential = null)
        {
            var e = Assert.Throws<RpcException>(() => f.Client.ReportOutcome(request, Bearer(credential ?? f.AliceKey)));
            return (e.StatusCode, e.Status.Detail);
        }
        Assert.Equal(experiment.Assign(key).Name, f.Client.ReportOutcome(Good(), Bearer(f.AliceKey)).Arm);

        Assert.Equal((StatusCode.InvalidArgument, "collection: a collection name is required"), Refused(Good().With(r => r.Collection = "")));
        Assert.Equal((StatusCode.InvalidArgument, "experiment: an experiment name is required"), Refused(Good().With(r => r.Experiment = "")));
        Assert.Equal((StatusCode.InvalidArgument, "kind: an outcome names its kind (OUTCOME_KIND_CLICK or OUTCOME_KIND_JUDGMENT)"), Refused(Good().With(r => r.Kind = OutcomeKind.Unspecified)));
        Assert.Equal((StatusCode.InvalidArgument, "kind: unknown outcome kind 9"), Refused(Good().With(r => r.Kind = (OutcomeKind)9)));
        Assert.Equal((StatusCode.InvalidArgument, "value: an outcome's value must be a finite number in [-1000000, 1000000], got NaN"), Refused(Good().With(r => r.Value = double.NaN)));
        Assert.Equal((StatusCode.InvalidArgument, "value: an outcome's value must be a finite number in [-1000000, 1000000], got 2000000"), Refused(Good().With(r => r.Value = 2e6)));
        Assert.Equal((StatusCode.InvalidArgument, "experiment_key: give the caller's experiment_key or the arm the search reported"), Refused(Good().With(r => r.ExperimentKey = "")));
        Assert.Equal((StatusCode.InvalidArgument, "arm: experiment 'errors-ab' has no arm 'bandit' (its arms: rrf, minmax)"), Refused(Good().With(r => r.Arm = "bandit")));
        Assert.Equal((StatusCode.InvalidArgument, $"arm: the experiment key is in arm '{experiment.Assign(key).Name}' of experiment 'errors-ab', not '{otherArm}'"), Refused(Good().With(r => r.Arm = otherArm)));
        Assert.Equal((StatusCode.NotFound, "unknown experiment 'nosuch' on collection 'exp'"), Refused(Good().With(r => r.Experiment = "nosuch")));
        // The experiment runs on exp, not exp2: named with the wrong collection it is unknown there.
        Assert.Equal((StatusCode.NotFound, "unknown experiment 'errors-ab' on collection 'exp2'"), Refused(Good().With(r => r.Collection = "exp2")));
        var (code, detail) = Refused(Good(), f.ErinKey);
        Assert.Equal(StatusCode.PermissionDenied, code);
        Assert.EndsWith("(principal 'erin') lacks the read right on collection 'exp'", detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, Assert.Throws<RpcException>(() => f.Client.ReportOutcome(Good())).StatusCode);

        string longKey = new('k', Grpc.SearchRpcService.MaxExperimentKeyChars + 1);
        var tooLong = Assert.Throws<RpcException>(() => Search(f.AliceKey, longKey));
        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Equal($"experiment_key: experiment key of {longKey.Length} characters is longer than the limit of 256", tooLong.Status.Detail);
        Assert.Equal((StatusCode.InvalidArgument, $"experiment_key: experiment key of {longKey.Length} characters is longer than the limit of 256"), Refused(Good().With(r => r.ExperimentKey = longKey)));
        // The server kept serving.
        Assert.Equal("errors-ab", Search(f.AliceKey, key).Experiment);
    }
}

static class OutcomeRequests
{
    /// <summary>A copy of the request changed by <paramref name="change"/>.</summary>
    public static ReportOutcomeRequest With(this ReportOutcomeRequest request, Action<ReportOutcomeRequest> change)
    {
        var copy = request.Clone();
        change(copy);
        return copy;
    }
}
