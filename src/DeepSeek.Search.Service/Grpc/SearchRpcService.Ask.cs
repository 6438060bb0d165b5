using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Experiments;
using Grpc.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>Ask and the re-ranking of searches: request checks and mapping; the work is Rag's <see cref="RagAnswerer"/> and Rerank's <see cref="Reranker"/>.</summary>
sealed partial class SearchRpcService
{
    public override async Task Ask(Proto.AskRequest request, IServerStreamWriter<Proto.AskResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var sw = Stopwatch.StartNew();
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Read);
        string named = request.Collection;
        // The arm of the caller's experiment key shapes the recall as it shapes a search: the same WithArm, the same rights.
        var assigned = AssignArm(request.Collection, request.ExperimentKey, "experiment_key");
        if (assigned is (_, ExperimentArm armOf))
        {
            request = WithArm(request, armOf);
            Authorize(identity, request.Collection, AccessRight.Read);
        }
        if (string.IsNullOrWhiteSpace(request.Question)) throw new InvalidInputException("question: empty question") { Setting = "question" };
        if (request.Question.Length > _settings.MaxQueryChars)
            throw new InvalidInputException($"question: question of {request.Question.Length} characters is longer than the limit of {_settings.MaxQueryChars}") { Setting = "question" };
        if (request.HasTemperature && !(request.Temperature > 0 && request.Temperature <= 10))
            throw new InvalidInputException($"temperature: temperature must be in (0, 10], got {request.Temperature}") { Setting = "temperature" };
        var defaults = new RagOptions();
        var options = new RagOptions
        {
            RecallK = request.HasRecallK ? request.RecallK : defaults.RecallK,
            MaxSources = request.HasMaxSources ? request.MaxSources : defaults.MaxSources,
            MaxNewTokens = request.HasMaxNewTokens ? request.MaxNewTokens : defaults.MaxNewTokens,
            Greedy = !request.HasTemperature,
            Temperature = request.HasTemperature ? request.Temperature : defaults.Temperature,
            Seed = request.HasSeed ? request.Seed : null,
            Mode = ModeOf(request.Mode, ""),
            Fusion = FusionOf(request.Fusion, ""),
            Alpha = request.HasAlpha ? request.Alpha : null,
            Instructions = _instructions,
        };
        if (request.HasAlpha && !(request.Alpha >= 0 && request.Alpha <= 1))
            throw new InvalidInputException($"alpha: alpha must be in [0, 1], got {request.Alpha}") { Setting = "alpha" };
        options.Validate();
        var filter = FilterTranslator.Translate(request.Filter);
        var searcher = _registry.Searcher(request.Collection);
        string folder = GeneratorFolder(request.Collection);
        var generator = _generators.Generator(folder);
        var reranker = request.Rerank is { } rerank ? RerankerFor(request.Collection, rerank, "rerank.", assigned?.Item2.Rerank?.Model) : null;
        var answerer = new RagAnswerer(generator, reranker) { TrainedContext = QueryLikelihoodScorer.TrainedContext(folder) };
        await foreach (var e in answerer.AskAsync(searcher, request.Question, options, identity.Caller, filter, context.CancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case RagDelta d:
                    await responseStream.WriteAsync(new Proto.AskResponse { Delta = new Proto.AnswerDelta { Text = d.Text } }, context.CancellationToken).ConfigureAwait(false);
                    break;
                case RagAnswer a:
                    var result = new Proto.AskResult
                    {
                        Answer = a.Answer,
                        Seq = a.Seq,
                        NoSources = a.NoSources,
                        FinishReason = a.FinishReason,
                        DroppedCitations = a.DroppedCitations,
                        Usage = new Proto.AskUsage { PromptTokens = a.Usage.PromptTokens, CompletionTokens = a.Usage.CompletionTokens, Sources = a.Usage.SourceCount, Recalled = a.Usage.RecalledCount },
                        Timings = new Proto.AskTimings
                        {
                            TotalMs = sw.Elapsed.TotalMilliseconds, RecallMs = a.Timings.RecallMs, RerankMs = a.Timings.RerankMs, PromptMs = a.Timings.PromptMs,
                            FirstTokenMs = a.Timings.FirstTokenMs, GenerateMs = a.Timings.GenerateMs,
                        },
                    };
                    if (assigned is (Experiment experiment, ExperimentArm arm)) (result.Experiment, result.Arm) = (experiment.Name, arm.Name);
                    foreach (var c in a.Citations) result.Citations.Add(Ref(c.Number, c.DocumentId, c.ChunkId, c.Start, c.End, c.Title));
                    foreach (var s in a.Sources) result.Sources.Add(Ref(s.Number, s.DocumentId, s.ChunkId, s.Start, s.End, s.Title));
                    await responseStream.WriteAsync(new Proto.AskResponse { Result = result }, context.CancellationToken).ConfigureAwait(false);
                    if (result.Arm.Length > 0) _metrics.RecordArmSearch(result.Experiment, result.Arm, result.Timings.TotalMs);
                    _metrics.RecordSearchStages(named, new Dictionary<string, double>(StringComparer.Ordinal)
                    {
                        ["ask_total"] = result.Timings.TotalMs, ["ask_recall"] = a.Timings.RecallMs, ["ask_rerank"] = a.Timings.RerankMs,
                        ["ask_prompt"] = a.Timings.PromptMs, ["ask_first_token"] = a.Timings.FirstTokenMs, ["ask_generate"] = a.Timings.GenerateMs,
                    });
                    break;
            }
        }
    }

    static Proto.SourceRef Ref(int number, string id, long? chunk, int start, int end, string title)
    {
        var r = new Proto.SourceRef { Number = number, DocumentId = id, Span = new Proto.TextSpan { Start = start, End = end }, Title = title };
        if (chunk is long c) r.ChunkId = c;
        return r;
    }

    static FusionMethod? FusionOf(Proto.FusionMethod fusion, string at) => fusion switch
    {
        Proto.FusionMethod.Unspecified => null,
        Proto.FusionMethod.Rrf => FusionMethod.Rrf,
        Proto.FusionMethod.Minmax => FusionMethod.MinMax,
        _ => throw new InvalidInputException($"{at}fusion: unknown fusion method {(int)fusion}") { Setting = "fusion" },
    };

    static SearchMode? ModeOf(Proto.SearchMode mode, string at) => mode switch
    {
        Proto.SearchMode.Unspecified => null,
        Proto.SearchMode.Bm25 => SearchMode.Bm25,
        Proto.SearchMode.Dense => SearchMode.Dense,
        Proto.SearchMode.Hybrid => SearchMode.Hybrid,
        _ => throw new InvalidInputException($"{at}mode: unknown search mode {(int)mode}") { Setting = "mode" },
    };

    /// <summary>The generator folder of a collection (checked to exist first: an unknown collection is NOT_FOUND, not FAILED_PRECONDITION).</summary>
    string GeneratorFolder(string collection)
    {
        var store = _registry.Store(collection);
        if (!store.Exists) throw new CollectionNotFoundException(collection, _registry.IndexRoot);
        return _generators.FolderFor(store.Directory) ?? throw new NoGeneratorException(collection);
    }

    /// <summary>The re-ranking model folder of a collection: Generator:RerankModel, else its own reranker/ folder, else its generator.</summary>
    string RerankerFolder(string collection)
    {
        var store = _registry.Store(collection);
        if (!store.Exists) throw new CollectionNotFoundException(collection, _registry.IndexRoot);
        return _generators.RerankerFolderFor(store.Directory) ?? throw new NoGeneratorException(collection);
    }

    /// <summary>The re-ranker of a search or an answer: <paramref name="model"/> (an experiment arm's) when given, else <see cref="RerankerFolder"/>'s.</summary>
    Reranker RerankerFor(string collection, Proto.RerankSettings rerank, string at, string? model = null)
    {
        int depth = rerank.HasDepth ? rerank.Depth : RerankOptions.DefaultDepth;
        float weight = rerank.HasWeight ? rerank.Weight : RerankOptions.DefaultWeight;
        if (depth < 1 || depth > 1000) throw new InvalidInputException($"{at}depth: rerank depth must be between 1 and 1000, got {depth}") { Setting = "rerank.depth" };
        if (!(weight >= 0 && weight <= 1)) throw new InvalidInputException($"{at}weight: rerank weight must be in [0, 1], got {weight}") { Setting = "rerank.weight" };
        return new Reranker(_generators.Scorer(model ?? RerankerFolder(collection)), new RerankOptions { Depth = depth, Weight = weight });
    }
}
