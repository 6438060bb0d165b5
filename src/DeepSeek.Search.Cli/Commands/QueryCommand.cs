using System.CommandLine;
using DeepSeek.Search.Client;
using DeepSeek.Search.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss query --server URL`: one search through the gRPC service (the Client library), printed like `dss search`.
/// Also the home of the options every `--server` verb shares (<see cref="Server"/>, <see cref="Key"/>, <see cref="Connect"/>).
/// </summary>
static class QueryCommand
{
    /// <summary>The environment variable read when --key is not given.</summary>
    public const string KeyVariable = "DSS_API_KEY";

    public static Option<string> Server(bool required = true) => new("--server")
    { Description = "The service's address, e.g. http://127.0.0.1:50051 (see dss serve)", Required = required };

    public static Option<string?> Key() => new("--key")
    { Description = $"The API key (dss keys add); default: the {KeyVariable} environment variable" };

    /// <summary>A client of <paramref name="server"/> with the key from --key or DSS_API_KEY; bad input names the problem (never the key).</summary>
    public static SearchClient Connect(string server, string? key)
    {
        key ??= Environment.GetEnvironmentVariable(KeyVariable);
        if (string.IsNullOrEmpty(key)) throw new InvalidInputException($"an API key is needed: give --key or set {KeyVariable}") { Setting = "key" };
        if (key.Any(char.IsWhiteSpace)) throw new InvalidInputException("the API key contains whitespace") { Setting = "key" };
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new InvalidInputException($"--server must be an http:// or https:// URL, got '{server}'") { Setting = "server" };
        return new SearchClient(server, SearchCredential.ApiKey(key));
    }

    public static Command Create()
    {
        var server = Server();
        var key = Key();
        var collection = CommonOptions.Collection();
        var query = new Option<string>("--query", "-q") { Description = "The query text", Required = true };
        var mode = CommonOptions.Mode();
        var k = new Option<int>("--k", "-k") { Description = "Number of results", DefaultValueFactory = _ => 10 };
        var fusion = CommonOptions.Fusion();
        var alpha = CommonOptions.Alpha();
        var filter = CommonOptions.Filter();
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var experimentKey = ExperimentKey();

        var rerank = new RerankArguments();
        var cmd = new Command("query", "Search a collection through a running dss serve (gRPC).")
        { server, key, collection, query, mode, k, fusion, alpha, filter, experimentKey, json, rerank.Rerank, rerank.Depth, rerank.Weight };
        cmd.SetAction(pr =>
        {
            var q = pr.GetValue(query)!;
            if (string.IsNullOrWhiteSpace(q)) throw new InvalidInputException("empty query");
            var request = Request(pr.GetValue(collection)!, q, pr.GetValue(k), pr.GetValue(mode), pr.GetValue(fusion), pr.GetValue(alpha), pr.GetValue(filter));
            request.SnippetChars = pr.GetValue(json) ? 240 : 160;
            if (pr.GetValue(experimentKey) is { } ek) request.ExperimentKey = ek;
            if (pr.GetValue(rerank.Rerank)) request.Rerank = new Proto.RerankSettings { Depth = pr.GetValue(rerank.Depth), Weight = pr.GetValue(rerank.Weight) };
            using var client = Connect(pr.GetValue(server)!, pr.GetValue(key));
            var response = client.SearchAsync(request).GetAwaiter().GetResult();
            string modeName = request.Mode == Proto.SearchMode.Unspecified ? "default" : Name(request.Mode);
            if (pr.GetValue(json))
            {
                Console.WriteLine(Json.Serialize(new
                {
                    server = client.Address.ToString(),
                    collection = request.Collection,
                    query = q,
                    mode = modeName,
                    seq = response.Seq,
                    experiment = response.Experiment,
                    arm = response.Arm,
                    hits = response.Hits.Select(h => new
                    {
                        rank = h.Rank, id = h.Id, score = h.Score, bm25_score = h.HasBm25Score ? h.Bm25Score : (float?)null,
                        dense_score = h.HasDenseScore ? h.DenseScore : (float?)null,
                        first_stage_score = h.HasFirstStageScore ? h.FirstStageScore : (float?)null, rerank_score = h.HasRerankScore ? h.RerankScore : (float?)null,
                        title = h.Title, version = h.Version,
                        chunk = h.Chunk is { } c ? new { id = c.Id, start = c.Start, end = c.End } : null,
                        snippet = h.Snippet,
                        highlights = h.Highlights.Select(x => new[] { x.Start, x.End }),
                    }),
                    timings_ms = response.Timings is { } t ? new { total = t.TotalMs, search = t.SearchMs, rerank = t.RerankMs } : null,
                }));
            }
            else
            {
                Console.WriteLine($"{modeName} results for \"{q}\" in '{request.Collection}' at {client.Address} (seq {response.Seq}):");
                if (request.ExperimentKey.Length > 0) Console.WriteLine(ExperimentLine(response.Experiment, response.Arm));
                if (response.Hits.Count == 0) Console.WriteLine("  (no results)");
                foreach (var h in response.Hits)
                {
                    Console.WriteLine($"{h.Rank,3}. {h.Score,9:F4}  {h.Id}  {h.Title}");
                    Console.WriteLine($"     {SearchCommand.Snippet(h.Snippet, 170)}");
                }
            }
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    /// <summary>--experiment-key: the caller's stable identity in the collection's online experiment (shared by query and ask).</summary>
    internal static Option<string?> ExperimentKey() => new("--experiment-key")
    {
        Description = "Take part in the collection's online experiment as this user or session id (at most 256 characters): " +
            "the key's arm serves the request, and the experiment and arm are printed (report outcomes with dss outcome)",
    };

    /// <summary>The line naming the experiment and arm a request with --experiment-key got (none: the collection runs no experiment).</summary>
    internal static string ExperimentLine(string experiment, string arm) => experiment.Length == 0
        ? "experiment: none (the collection runs no experiment now; served as sent)"
        : $"experiment '{experiment}', arm '{arm}'";

    /// <summary>The engine's search mode as the contract's (null: unspecified, the collection's default); shared by query and loadtest.</summary>
    /// <summary>A search request from the CLI's search options (--mode, --fusion, --alpha, --filter): the one mapping of them onto the contract.</summary>
    internal static Proto.SearchRequest Request(string collection, string query, int k, string? mode, string? fusion, float? alpha, string? filter)
    {
        var request = new Proto.SearchRequest
        {
            Collection = collection,
            Query = query,
            K = k,
            Mode = Mode(CommonOptions.ParseMode(mode)),
            Fusion = CommonOptions.ParseFusion(fusion) switch
            {
                Core.Fusion.FusionMethod.Rrf => Proto.FusionMethod.Rrf,
                Core.Fusion.FusionMethod.MinMax => Proto.FusionMethod.Minmax,
                _ => Proto.FusionMethod.Unspecified,
            },
        };
        if (alpha is { } a) request.Alpha = a;
        if (filter is { } f) request.Filter = FilterMessages.From(Core.Filtering.FilterExpression.Parse(f));
        return request;
    }

    internal static Proto.SearchMode Mode(Retrieve.Collections.SearchMode? mode) => mode switch
    {
        Retrieve.Collections.SearchMode.Bm25 => Proto.SearchMode.Bm25,
        Retrieve.Collections.SearchMode.Dense => Proto.SearchMode.Dense,
        Retrieve.Collections.SearchMode.Hybrid => Proto.SearchMode.Hybrid,
        _ => Proto.SearchMode.Unspecified,
    };

    static string Name(Proto.SearchMode mode) => mode switch
    {
        Proto.SearchMode.Bm25 => "bm25",
        Proto.SearchMode.Dense => "dense",
        _ => "hybrid",
    };
}
