using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using CollectionSearcher = DeepSeek.Search.Retrieve.Collections.CollectionSearcher;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Telemetry;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// The call log, the metrics on the Prometheus scrape endpoint and the per-RPC spans of a real server (gRPC and metrics
/// listeners on free ports) over a collection of its own.
/// </summary>
public sealed partial class ObservabilityTests
{
    const string Collection = "observed";
    const string QueryText = "volcano zebrafinch";

    [Fact]
    public async Task Calls_are_logged_counted_timed_and_traced_without_secrets_or_query_text()
    {
        using var tmp = new TempDir("dss-obs");
        var root = tmp.File("indexes");
        CollectionBuilder.Build(CollectionStore.At(root, Collection), ServerFixture.Corpus(),
            new BuildOptions { EncoderPath = TinyEncoder.Copy(tmp), ChunkTokens = 16, ChunkOverlap = 4 });
        long snapshotChunks;
        using (var opened = CollectionSearcher.Open(CollectionStore.At(root, Collection))) snapshotChunks = opened.Manifest.Chunks;
        Assert.True(snapshotChunks >= ServerFixture.Corpus().Count);
        var keys = ApiKeyFile.Load(tmp.File("keys.json"));
        var (readerEntry, readerKey) = keys.Add("olga", [], AccessRight.Read, [Collection]);
        var (writerEntry, writerKey) = keys.Add("walter", [], AccessRight.Write, [Collection]);
        var (_, adminKey) = keys.Add("ada", [], AccessRight.Admin, []);
        var logs = new CapturingLoggerProvider();
        var app = SearchServer.Build(new ServiceSettings { IndexRoot = root, Port = 0, MetricsPort = 0, KeysFile = keys.Path },
            logging: l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var spans = new ConcurrentQueue<Activity>();
        var source = app.Services.GetRequiredService<ServiceMetrics>().Spans;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await app.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(SearchServer.Address(app));
            var client = new SearchService.SearchServiceClient(channel);
            using var http = new HttpClient { BaseAddress = new Uri(SearchServer.MetricsAddress(app)) };
            var before = await Scrape(http);

            var ok = client.Search(new SearchRequest { Collection = Collection, Query = QueryText, K = 3, Mode = SearchMode.Bm25 }, ServerFixture.Bearer(readerKey));
            Assert.NotEmpty(ok.Hits);
            Assert.Equal(StatusCode.PermissionDenied, Refused(() => client.Search(new SearchRequest { Collection = "elsewhere", Query = QueryText, K = 3 }, ServerFixture.Bearer(readerKey))));
            Assert.Equal(StatusCode.Unauthenticated, Refused(() => client.Search(new SearchRequest { Collection = Collection, Query = QueryText, K = 3 })));
            Assert.Equal(StatusCode.InvalidArgument, Refused(() => client.Search(new SearchRequest { Collection = Collection, Query = QueryText, K = 0 }, ServerFixture.Bearer(readerKey))));
            client.SearchBatch(new SearchBatchRequest { Searches = { new SearchRequest { Collection = Collection, Query = QueryText, K = 2, Mode = SearchMode.Bm25 } } }, ServerFixture.Bearer(readerKey));
            var info = client.GetCollection(new GetCollectionRequest { Collection = Collection }, ServerFixture.Bearer(adminKey)).Collection;

            var mid = await Scrape(http);
            Assert.Equal(1, Delta(before, mid, "dss_rpc_requests_total", ("method", "Search"), ("status", "OK")));
            Assert.Equal(1, Delta(before, mid, "dss_rpc_requests_total", ("method", "Search"), ("status", "PermissionDenied")));
            Assert.Equal(1, Delta(before, mid, "dss_rpc_requests_total", ("method", "Search"), ("status", "Unauthenticated")));
            Assert.Equal(1, Delta(before, mid, "dss_rpc_requests_total", ("method", "Search"), ("status", "InvalidArgument")));
            Assert.Equal(1, Delta(before, mid, "dss_rpc_requests_total", ("method", "SearchBatch"), ("status", "OK")));
            Assert.Equal(1, Delta(before, mid, "dss_rpc_requests_total", ("method", "GetCollection"), ("status", "OK")));
            // The latency histogram: every Search call in the +Inf bucket and the count, and finite buckets besides.
            Assert.Equal(4, Delta(before, mid, "dss_rpc_duration_seconds_bucket", ("method", "Search"), ("le", "+Inf")));
            Assert.Equal(4, Delta(before, mid, "dss_rpc_duration_seconds_count", ("method", "Search")));
            Assert.Contains(mid, s => s.Name == "dss_rpc_duration_seconds_bucket" && s.Labels["le"] == "0.005");
            Assert.True(Sum(mid, "dss_rpc_duration_seconds_sum", ("method", "Search")) > Sum(before, "dss_rpc_duration_seconds_sum", ("method", "Search")));
            // Stages: the Search and the SearchBatch's one search.
            Assert.Equal(2, Delta(before, mid, "dss_search_stage_duration_seconds_count", ("collection", Collection), ("stage", "search")));
            Assert.Equal(2, Delta(before, mid, "dss_search_stage_duration_seconds_count", ("collection", Collection), ("stage", "total")));
            Assert.Equal(0, Sum(mid, "dss_rpc_in_flight"));
            // The gauges are the collection's real values.
            Assert.Equal(info.Documents, Sum(mid, "dss_collection_documents", ("collection", Collection)));
            Assert.Equal(ServerFixture.Corpus().Count, info.Documents);
            Assert.Equal(info.Seq, Sum(mid, "dss_collection_seq", ("collection", Collection)));
            Assert.Equal(snapshotChunks, Sum(mid, "dss_collection_snapshot_chunks", ("collection", Collection)));
            Assert.True(Sum(mid, "dss_collection_disk_bytes", ("collection", Collection)) > 0);

            // An upsert moves documents and seq.
            using (var call = client.UpsertDocuments(ServerFixture.Bearer(writerKey)))
            {
                await call.RequestStream.WriteAsync(new UpsertRequest { Collection = Collection, BatchNumber = 1, Documents = { new V1.Document { Id = "n1", Title = "New", Text = "A new volcano report." } } });
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                await call.RequestStream.CompleteAsync();
                Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
            }
            var after = client.GetCollection(new GetCollectionRequest { Collection = Collection }, ServerFixture.Bearer(adminKey)).Collection;
            Assert.Equal(info.Documents + 1, after.Documents);
            Assert.True(after.Seq > info.Seq);
            var last = await Scrape(http);
            Assert.Equal(after.Documents, Sum(last, "dss_collection_documents", ("collection", Collection)));
            Assert.Equal(after.Seq, Sum(last, "dss_collection_seq", ("collection", Collection)));
            Assert.Equal(1, Delta(mid, last, "dss_rpc_requests_total", ("method", "UpsertDocuments"), ("status", "OK")));
            Assert.Equal(0, Sum(last, "dss_rpc_in_flight"));

            // One log line per call, in call order, each with method, collection, status, duration and the principal's hash.
            string[] methods = ["Search", "Search", "Search", "Search", "SearchBatch", "GetCollection", "UpsertDocuments", "GetCollection"];
            var calls = logs.Entries.Where(e => e.Category == TelemetryNames.CallLogCategory).ToList();
            Assert.Equal(methods, calls.Select(c => c.State["Method"]));
            Assert.All(calls, c => Assert.Equal(LogLevel.Information, c.Level));
            Assert.All(calls, c => Assert.Equal(4, c.EventId));
            Assert.All(calls, c => Assert.True(double.Parse(c.State["DurationMs"], CultureInfo.InvariantCulture) > 0, c.Message));
            Assert.Equal([Collection, "elsewhere", Collection, Collection, Collection, Collection, Collection, Collection], calls.Select(c => c.State["Collection"]));
            Assert.Equal(["OK", "PermissionDenied", "Unauthenticated", "InvalidArgument", "OK", "OK", "OK", "OK"], calls.Select(c => c.State["Status"]));
            Assert.Equal(Hash("olga"), calls[0].State["PrincipalHash"]);
            Assert.Equal(readerEntry.Id, calls[0].State["KeyId"]);
            Assert.Equal("-", calls[2].State["PrincipalHash"]);
            Assert.Equal(Hash("walter"), calls[6].State["PrincipalHash"]);
            Assert.Equal(writerEntry.Id, calls[6].State["KeyId"]);
            Assert.Matches(@"^call Search collection=observed status=OK duration_ms=\d+\.\d\d principal=[0-9a-f]{12} key=key_[0-9a-f]{12}$", calls[0].Message);
            // Nothing logged, at any level and in any category, carries a key or the query text.
            Assert.Contains(logs.Entries, e => e.Category != TelemetryNames.CallLogCategory);
            foreach (var e in logs.Entries)
            {
                foreach (var secret in new[] { readerKey, writerKey, adminKey, QueryText, "zebrafinch" })
                {
                    Assert.DoesNotContain(secret, e.Message, StringComparison.Ordinal);
                    Assert.DoesNotContain(secret, e.Exception ?? "", StringComparison.Ordinal);
                }
            }

            // One span per RPC, named after the method, tagged with collection, status and principal hash.
            var traced = spans.ToList();
            Assert.Equal(methods, traced.Select(s => s.DisplayName));
            Assert.All(traced, s => Assert.Equal(ActivityKind.Server, s.Kind));
            Assert.Equal(Collection, traced[0].GetTagItem("dss.collection"));
            Assert.Equal("OK", traced[0].GetTagItem("dss.status"));
            Assert.Equal(ActivityStatusCode.Ok, traced[0].Status);
            Assert.Equal(Hash("olga"), traced[0].GetTagItem("dss.principal_hash"));
            Assert.Equal("elsewhere", traced[1].GetTagItem("dss.collection"));
            Assert.Equal("PermissionDenied", traced[1].GetTagItem("dss.status"));
            Assert.Equal((int)StatusCode.PermissionDenied, traced[1].GetTagItem("rpc.grpc.status_code"));
            Assert.Equal(ActivityStatusCode.Error, traced[1].Status);
            Assert.Equal("-", traced[2].GetTagItem("dss.principal_hash"));
            Assert.Equal(Hash("walter"), traced[6].GetTagItem("dss.principal_hash"));
            Assert.Equal(Collection, traced[6].GetTagItem("dss.collection"));

            // The metrics listener serves /metrics and nothing else.
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/deepseek.search.v1.SearchService/Search", UriKind.Relative))).StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_servers_in_one_process_each_report_only_their_own_calls_and_collections()
    {
        // Meters are subscribed to by name, so without a scope of its own each server's pipeline would count the other's too.
        using var tmp = new TempDir("dss-obs-two");
        var servers = new List<(WebApplication App, HttpClient Http, SearchService.SearchServiceClient Client, GrpcChannel Channel, string Key)>();
        try
        {
            foreach (var name in new[] { "left", "right" })
            {
                var root = tmp.File(name);
                CollectionBuilder.Build(CollectionStore.At(root, name), ServerFixture.Corpus(), new BuildOptions());
                var keys = ApiKeyFile.Load(tmp.File(name + "-keys.json"));
                var key = keys.Add("olga", [], AccessRight.Read, [name]).Key;
                var app = SearchServer.Build(new ServiceSettings { IndexRoot = root, Port = 0, MetricsPort = 0, KeysFile = keys.Path }, logging: _ => { });
                await app.StartAsync();
                var channel = GrpcChannel.ForAddress(SearchServer.Address(app));
                servers.Add((app, new HttpClient { BaseAddress = new Uri(SearchServer.MetricsAddress(app)) }, new SearchService.SearchServiceClient(channel), channel, key));
            }
            var (left, right) = (servers[0], servers[1]);
            var rightBefore = await Scrape(right.Http);
            for (int i = 0; i < 3; i++)
                Assert.NotEmpty(left.Client.Search(new SearchRequest { Collection = "left", Query = QueryText, K = 3 }, ServerFixture.Bearer(left.Key)).Hits);
            var leftAfter = await Scrape(left.Http);
            var rightAfter = await Scrape(right.Http);
            Assert.Equal(3, Sum(leftAfter, "dss_search_stage_duration_seconds_count", ("collection", "left"), ("stage", "total")));
            Assert.True(Sum(leftAfter, "dss_rpc_requests_total", ("method", "Search"), ("status", "OK")) >= 3);
            Assert.Equal(0, Delta(rightBefore, rightAfter, "dss_rpc_requests_total", ("method", "Search")));
            Assert.DoesNotContain(rightAfter, s => s.Labels.TryGetValue("collection", out var c) && c == "left");
            Assert.DoesNotContain(leftAfter, s => s.Labels.TryGetValue("collection", out var c) && c == "right");
        }
        finally
        {
            foreach (var s in servers)
            {
                s.Http.Dispose();
                s.Channel.Dispose();
                await s.App.StopAsync();
                await s.App.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Without_MetricsPort_there_is_no_metrics_listener()
    {
        using var tmp = new TempDir("dss-obs-off");
        var app = SearchServer.Build(new ServiceSettings { IndexRoot = tmp.File("indexes"), Port = 0, KeysFile = tmp.File("keys.json") }, logging: _ => { });
        await app.StartAsync();
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => SearchServer.MetricsAddress(app));
            Assert.Equal("the server has no metrics listener: set Service:MetricsPort", e.Message);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void Metrics_and_tracing_settings_are_read_and_checked()
    {
        using var tmp = new TempDir("dss-obs-settings");
        var s = ServiceSettings.Load(tmp.Path, ["--Service:MetricsPort=9464", "--Service:MetricsAddress=0.0.0.0", "--Service:TracingOtlpEndpoint=http://127.0.0.1:4317"]);
        Assert.Equal(9464, s.MetricsPort);
        Assert.Equal("0.0.0.0", s.MetricsAddress);
        Assert.Equal("http://127.0.0.1:4317", s.TracingOtlpEndpoint);
        var d = ServiceSettings.Load(tmp.Path, []);
        Assert.Null(d.MetricsPort);
        Assert.Equal("127.0.0.1", d.MetricsAddress);
        Assert.Null(d.TracingOtlpEndpoint);

        Assert.Equal("setting MetricsPort must differ from Port: both are 50051",
            Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:MetricsPort=50051"])).Message);
        Assert.Equal("setting MetricsPort must be between 0 and 65535, got 70000",
            Assert.Throws<InvalidInputException>(() => new ServiceSettings { MetricsPort = 70000 }.Validate()).Message);
        Assert.Equal("setting MetricsAddress must be an IP address, got 'localhost'",
            Assert.Throws<InvalidInputException>(() => new ServiceSettings { MetricsPort = 9464, MetricsAddress = "localhost" }.Validate()).Message);
        Assert.Equal("setting TracingOtlpEndpoint must be an absolute http(s) URI, got 'localhost:4317'",
            Assert.Throws<InvalidInputException>(() => new ServiceSettings { TracingOtlpEndpoint = "localhost:4317" }.Validate()).Message);
        // Both ports 0: two free ports, not a clash.
        new ServiceSettings { Port = 0, MetricsPort = 0 }.Validate();
    }

    static StatusCode Refused(Action call) => Assert.Throws<RpcException>(call).StatusCode;

    static string Hash(string principal) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(principal)))[..12];

    internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    internal static async Task<List<Sample>> Scrape(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri(TelemetryNames.MetricsPath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(1, 1), response.Version);
        var text = await response.Content.ReadAsStringAsync();
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var m = SampleLine().Match(line);
            Assert.True(m.Success, $"not a Prometheus sample line: '{line}'");
            var labels = LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value, StringComparer.Ordinal);
            samples.Add(new Sample(m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return samples;
    }

    internal static double Sum(List<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    internal static double Delta(List<Sample> before, List<Sample> after, string name, params (string Key, string Value)[] labels) =>
        Sum(after, name, labels) - Sum(before, name, labels);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(\w+)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();

    internal sealed record Entry(string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, string> State, string? Exception);

    /// <summary>A real logger provider (ExperimentTests uses it too) that keeps every entry in memory, with the structured state as strings.</summary>
    internal sealed class CapturingLoggerProvider : ILoggerProvider
    {
        readonly ConcurrentQueue<Entry> _entries = new();
        public IReadOnlyList<Entry> Entries => [.. _entries];
        public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, _entries);
        public void Dispose() { }

        sealed class Capturing(string category, ConcurrentQueue<Entry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                    foreach (var (k, v) in pairs) values[k] = Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
                entries.Enqueue(new Entry(category, logLevel, eventId.Id, formatter(state, exception), values, exception?.ToString()));
            }
        }
    }
}
