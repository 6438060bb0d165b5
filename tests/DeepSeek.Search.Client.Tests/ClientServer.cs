using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Document = DeepSeek.Search.Core.Document;

namespace DeepSeek.Search.Client.Tests;

/// <summary>
/// A real server (SearchServer.Build, 127.0.0.1, ephemeral port) over a temp index root: <c>docs</c> (BM25 + the tiny
/// encoder, metadata for the filter tests) and <c>plain</c> (BM25 only). In front of the service sits a real middleware
/// that answers the next <see cref="FailNext"/> calls of a method with UNAVAILABLE (a trailers-only gRPC response, as a
/// restarting server or proxy would) and counts every call per method, so retries are observed on the wire. The online
/// experiment <see cref="ExperimentName"/> runs on <c>docs</c> (arms <c>bm25</c> and <c>hybrid</c>); <see cref="Metrics"/>
/// reads the server's /metrics.
/// </summary>
public sealed class ClientServer : IAsyncLifetime
{
    public TempDir Tmp { get; } = new("dss-client");
    public string Root => Tmp.File("indexes");
    public string Encoder { get; private set; } = "";
    public WebApplication App { get; private set; } = null!;
    public string Address { get; private set; } = "";
    public string ReaderKey { get; private set; } = "";
    public string WriterKey { get; private set; } = "";
    public string AdminKey { get; private set; } = "";
    public HttpClient Metrics { get; private set; } = null!;

    public const string ExperimentName = "client-ab";

    readonly Dictionary<string, int> _calls = [];
    readonly Dictionary<string, int> _failNext = [];

    /// <summary>Calls that reached the server for <paramref name="method"/> (e.g. "Search"), failed ones included.</summary>
    public int Calls(string method) { lock (_calls) return _calls.GetValueOrDefault(method); }

    /// <summary>The next <paramref name="count"/> calls of <paramref name="method"/> answer UNAVAILABLE.</summary>
    public void FailNext(string method, int count) { lock (_calls) _failNext[method] = count; }

    public static readonly string[] Colors = ["red", "green", "blue"];

    /// <summary>24 documents with mixed metadata: numbers, strings, booleans, dates, nesting, missing and null fields.</summary>
    public static IReadOnlyList<Document> Corpus() =>
    [
        .. Enumerable.Range(0, 24).Select(i =>
        {
            string? meta = (i % 6) switch
            {
                5 => null,
                4 => $$"""{"year":{{2000 + i}},"color":null}""",
                _ => $$$"""{"year":{{{2000 + i}}},"color":"{{{Colors[i % 3]}}}","draft":{{{(i % 2 == 0 ? "true" : "false")}}},"published":"2024-0{{{1 + i % 9}}}-15","owner":{"team":"t{{{i % 4}}}"}}""",
            };
            return new Document($"d{i:00}", $"Volcano report {i}", $"Volcano lava notes number {i}: magma, ash and eruption.", meta);
        }),
    ];

    public async Task InitializeAsync()
    {
        Encoder = TinyEncoder.Copy(Tmp);
        CollectionBuilder.Build(CollectionStore.At(Root, "docs"), Corpus(), new BuildOptions { EncoderPath = Encoder, ChunkTokens = 16, ChunkOverlap = 4 });
        CollectionBuilder.Build(CollectionStore.At(Root, "plain"), [new Document("x1", "Plain", "A plain lexical volcano document.")], new BuildOptions());
        string keysFile = Tmp.File("keys.json");
        var keys = ApiKeyFile.Load(keysFile);
        ReaderKey = keys.Add("reader", [], AccessRight.Read, []).Key;
        WriterKey = keys.Add("writer", [], AccessRight.Write, []).Key;
        AdminKey = keys.Add("admin", [], AccessRight.Admin, []).Key;
        string experiments = Tmp.File("experiments.json");
        File.WriteAllText(experiments, $$"""
            { "Experiments": [ { "Name": "{{ExperimentName}}", "Collection": "docs",
                "Arms": [ { "Name": "bm25", "Share": 1, "Mode": "bm25" }, { "Name": "hybrid", "Share": 1, "Mode": "hybrid" } ] } ] }
            """);
        App = SearchServer.Build(new ServiceSettings { IndexRoot = Root, Port = 0, KeysFile = keysFile, ExperimentsFile = experiments, MetricsPort = 0 });
        App.Use(async (context, next) =>
        {
            string method = context.Request.Path.Value?.Split('/').LastOrDefault() ?? "";
            bool fail;
            lock (_calls)
            {
                _calls[method] = _calls.GetValueOrDefault(method) + 1;
                fail = _failNext.GetValueOrDefault(method) > 0;
                if (fail) _failNext[method]--;
            }
            if (!fail) { await next(context); return; }
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "14";
            context.Response.Headers["grpc-message"] = "test: server restarting";
        });
        await App.StartAsync();
        Address = SearchServer.Address(App);
        Metrics = new HttpClient { BaseAddress = new Uri(SearchServer.MetricsAddress(App)) };
    }

    public SearchClient Reader() => new(Address, SearchCredential.ApiKey(ReaderKey));
    public SearchClient Writer() => new(Address, SearchCredential.ApiKey(WriterKey));
    public SearchClient Admin() => new(Address, SearchCredential.BearerToken(AdminKey));

    public async Task DisposeAsync()
    {
        Metrics.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Tmp.Dispose();
    }
}
