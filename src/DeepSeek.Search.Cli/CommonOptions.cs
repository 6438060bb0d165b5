using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Core.Fusion;

namespace DeepSeek.Search.Cli;

/// <summary>Options shared by several verbs, declared once so their names, defaults and help agree.</summary>
static class CommonOptions
{
    public const string IndexRootVariable = "DSS_INDEX_ROOT";

    public static Option<string> Collection() => new("--collection", "-c")
    { Description = "Collection name (a folder under the index root)", Required = true };

    public static Option<string> IndexRoot() => new("--index-root", "--root")
    {
        Description = $"Folder holding the collections [default: ${IndexRootVariable} or ./indexes]",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(IndexRootVariable) is { Length: > 0 } v ? v : "indexes",
    };

    public static Option<string> Device(string what = "the encoder") => new("--device")
    {
        Description = $"Where {what} runs: cpu, cuda, cuda:N or auto (CUDA needs DSS_LIBTORCH; see README)",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>--encoder-precision of the verbs that encode documents: fp32 (default) or int8 (CPU only).</summary>
    public static Option<string> EncoderPrecision() => new Option<string>("--encoder-precision")
    {
        Description = "How documents are encoded: fp32, or int8 (dynamic INT8 linear layers, CPU only: indexing SciFact took 0.56x the fp32 time here, vectors within quantization error; queries stay fp32). The collection records it: later upserts and re-indexes encode the same way",
        DefaultValueFactory = _ => "fp32",
    }.AcceptOnlyFromAmong([.. DeepSeek.Search.Encode.EncoderPrecisions.DocumentNames]);

    public static DeepSeek.Search.Encode.EncoderPrecision ParseEncoderPrecision(string? s) => DeepSeek.Search.Encode.EncoderPrecisions.Parse(s);

    /// <summary>--query-precision of the verbs that search a collection in process: fp32 (default) or int8 (CPU only).</summary>
    public static Option<string> QueryPrecision() => new Option<string>("--query-precision")
    {
        Description = "How the query is encoded for dense and hybrid search: fp32, or int8 (dynamic INT8 linear layers, CPU only: about 3x faster per query here, the vector within quantization error)",
        DefaultValueFactory = _ => "fp32",
    }.AcceptOnlyFromAmong([.. DeepSeek.Search.Encode.EncoderPrecisions.DocumentNames]);

    /// <summary>--precision of the training verbs (auto, fp32, bf16).</summary>
    public static Option<string> Precision() => new Option<string>("--precision")
    { Description = "auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16 (bf16 passes, fp32 master weights)", DefaultValueFactory = _ => "auto" }
        .AcceptOnlyFromAmong("auto", "fp32", "bf16");

    public static DeepSeek.Search.Training.TrainingPrecision ParsePrecision(string? s) => s switch
    {
        "fp32" => DeepSeek.Search.Training.TrainingPrecision.Float32,
        "bf16" => DeepSeek.Search.Training.TrainingPrecision.BFloat16,
        _ => DeepSeek.Search.Training.TrainingPrecision.Auto,
    };

    public static Option<string?> Mode() => new Option<string?>("--mode", "-m")
    {
        Description = "bm25, dense or hybrid [default: hybrid when the collection has a dense index, else bm25]",
    }.AcceptOnlyFromAmong("bm25", "dense", "hybrid");

    public static Option<string?> Fusion() => new Option<string?>("--fusion")
    {
        Description = "How hybrid merges the two lists: rrf (reciprocal rank, k=60) or minmax (normalised scores, weight --alpha on dense) [default: what the encoder's dual_encoder.json recommends, else rrf]",
    }.AcceptOnlyFromAmong("rrf", "minmax");

    public static Option<float?> Alpha() => new("--alpha")
    { Description = $"Weight of the dense side in minmax fusion, 0..1 [default: the encoder's recommendation, else {MinMaxFusion.DefaultAlpha}]" };

    public static Option<int> Depth() => new("--depth")
    { Description = "How many results each side retrieves before fusion", DefaultValueFactory = _ => 100 };

    public static Option<string?> EncoderOverride() => new("--encoder")
    { Description = "Use this encoder folder instead of the one stored with the index (must be the same model)" };

    public static Option<string?> FaissParameters() => new("--faiss-params")
    { Description = "FAISS search-time parameters, e.g. efSearch=128 (HNSW) or nprobe=16 (IVF); IVF also takes parallel_mode=1 (a lone query's lists scanned on all threads instead of one)" };

    public static Option<string?> Principal() => new("--principal")
    { Description = "Search as this principal: only documents it may read (no acl, or an acl naming it or one of its --group) [default: unrestricted local access]" };

    public static Option<string[]> Groups() => new("--group")
    { Description = "A group the --principal belongs to (repeat for several)", AllowMultipleArgumentsPerToken = false };

    public static Option<string?> Filter() => new("--filter")
    { Description = "Metadata filter, e.g. 'year >= 2020 AND (lang = \"en\" OR lang IN (\"de\", \"fr\")) AND NOT draft = true'.\n" + FilterExpression.Grammar };

    /// <summary>The caller and filter of a search from the parsed --principal, --group and --filter.</summary>
    public static (Caller? Caller, FilterExpression? Filter) ParseAccess(ParseResult pr, Option<string?> principal, Option<string[]> groups, Option<string?> filter)
    {
        var p = pr.GetValue(principal);
        var g = pr.GetValue(groups) ?? [];
        if (p is null && g.Length > 0)
            throw new InvalidInputException($"--group {g[0]} needs --principal: groups belong to a principal") { Setting = "group" };
        var caller = p is null ? null : Caller.Of(p, g);
        var text = pr.GetValue(filter);
        var expr = text is null ? null : FilterExpression.Parse(text);
        return (caller, expr);
    }

    public static SearchMode? ParseMode(string? s) => s switch
    {
        null => null,
        "bm25" => SearchMode.Bm25,
        "dense" => SearchMode.Dense,
        "hybrid" => SearchMode.Hybrid,
        _ => throw new InvalidInputException($"unknown mode '{s}' (bm25, dense, hybrid)"),
    };

    public static string FusionName(FusionMethod f) => f == FusionMethod.MinMax ? "minmax" : "rrf";

    public static FusionMethod? ParseFusion(string? s) => s switch
    {
        null => null,
        "rrf" => FusionMethod.Rrf,
        "minmax" => FusionMethod.MinMax,
        _ => throw new InvalidInputException($"unknown fusion '{s}' (rrf, minmax)"),
    };
}
