using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Experiments;
using DeepSeek.Search.Service.Telemetry;
using DeepSeek.Search.Store;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// The SearchService RPCs: request checks and proto ↔ engine mapping only. Searches go to <see cref="CollectionSearcher"/>
/// with the key's caller and the translated filter; writes to the collection's one <see cref="CollectionWriter"/>.
/// </summary>
sealed partial class SearchRpcService : Proto.SearchService.SearchServiceBase
{
    readonly CollectionRegistry _registry;
    readonly ServiceSettings _settings;
    readonly ServiceMetrics _metrics;
    readonly GeneratorPool _generators;
    readonly string? _instructions;
    readonly ExperimentCatalog _experiments;

    public SearchRpcService(CollectionRegistry registry, ServiceSettings settings, ServiceMetrics metrics, GeneratorPool generators, ExperimentCatalog experiments)
    {
        _experiments = experiments;
        _registry = registry;
        _generators = generators;
        _instructions = settings.Generator.LoadInstructions();
        _settings = settings;
        _metrics = metrics;
    }

    public override Task<Proto.SearchResponse> Search(Proto.SearchRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var sw = Stopwatch.StartNew();
        var identity = ServiceInterceptor.IdentityOf(context);
        var response = RunSearch(Resolve(request, identity, ""), identity, "", context.CancellationToken);
        response.Timings.TotalMs = sw.Elapsed.TotalMilliseconds;
        _metrics.RecordSearchStages(request.Collection, Stages(response.Timings));
        RecordArm(response);
        return Task.FromResult(response);
    }

    public override Task<Proto.SearchBatchResponse> SearchBatch(Proto.SearchBatchRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var sw = Stopwatch.StartNew();
        var identity = ServiceInterceptor.IdentityOf(context);
        if (request.Searches.Count == 0) throw new InvalidInputException("searches: give at least one search") { Setting = "searches" };
        if (request.Searches.Count > _settings.MaxBatchDocuments)
            throw new InvalidInputException($"searches: {request.Searches.Count} searches exceed the batch limit of {_settings.MaxBatchDocuments}") { Setting = "searches" };
        // Rights first, for every search and its arm's collection, so a batch fails whole before any work when one is forbidden.
        foreach (var s in request.Searches) Authorize(identity, s.Collection, AccessRight.Read);
        var armed = request.Searches.Select((s, i) => Resolve(s, identity, $"searches[{i}].")).ToList();
        var result = new Proto.SearchBatchResponse { Timings = new Proto.Timings() };
        for (int i = 0; i < request.Searches.Count; i++)
        {
            var one = Stopwatch.StartNew();
            var r = RunSearch(armed[i], identity, $"searches[{i}].", context.CancellationToken);
            r.Timings.TotalMs = one.Elapsed.TotalMilliseconds;
            _metrics.RecordSearchStages(request.Searches[i].Collection, Stages(r.Timings));
            RecordArm(r);
            result.Results.Add(r);
        }
        result.Timings.TotalMs = sw.Elapsed.TotalMilliseconds;
        result.Timings.SearchMs = result.Results.Sum(r => r.Timings.SearchMs);
        result.Timings.EncodeMs = result.Results.Sum(r => r.Timings.EncodeMs);
        result.Timings.Bm25Ms = result.Results.Sum(r => r.Timings.Bm25Ms);
        result.Timings.DenseMs = result.Results.Sum(r => r.Timings.DenseMs);
        result.Timings.FuseMs = result.Results.Sum(r => r.Timings.FuseMs);
        result.Timings.FetchMs = result.Results.Sum(r => r.Timings.FetchMs);
        return Task.FromResult(result);
    }

    /// <summary>The stages of one search for the stage-latency histogram: total, search, and the engine's encode/bm25/dense/fuse/fetch.</summary>
    static Dictionary<string, double> Stages(Proto.Timings t) => new(StringComparer.Ordinal)
    {
        ["rerank"] = t.RerankMs, ["total"] = t.TotalMs, ["search"] = t.SearchMs, ["encode"] = t.EncodeMs, ["bm25"] = t.Bm25Ms, ["dense"] = t.DenseMs, ["fuse"] = t.FuseMs, ["fetch"] = t.FetchMs,
    };

    /// <summary>
    /// One search resolved by <see cref="Resolve"/> (rights checked, the arm of the request's experiment key applied), named
    /// in the response by its experiment and arm.
    /// </summary>
    Proto.SearchResponse RunSearch(ArmedSearch search, Identity identity, string at, CancellationToken cancellationToken)
    {
        var response = RunSearch(search.Request, identity, at, search.Arm?.Rerank?.Model, cancellationToken);
        if (search is { Experiment: { } experiment, Arm: { } arm })
        {
            response.Experiment = experiment.Name;
            response.Arm = arm.Name;
        }
        return response;
    }

    /// <summary>One search as the request says (<paramref name="rerankModel"/>: a model folder to re-rank with instead of the collection's).</summary>
    Proto.SearchResponse RunSearch(Proto.SearchRequest request, Identity identity, string at, string? rerankModel, CancellationToken cancellationToken)
    {
        Authorize(identity, request.Collection, AccessRight.Read);
        if (string.IsNullOrWhiteSpace(request.Query)) throw new InvalidInputException($"{at}query: empty query") { Setting = "query" };
        if (request.Query.Length > _settings.MaxQueryChars)
            throw new InvalidInputException($"{at}query: query of {request.Query.Length} characters is longer than the limit of {_settings.MaxQueryChars}") { Setting = "query" };
        if (request.K < 1 || request.K > _settings.MaxK)
            throw new InvalidInputException($"{at}k: k must be between 1 and {_settings.MaxK}, got {request.K}") { Setting = "k" };
        if (request.HasSnippetChars && (request.SnippetChars < 0 || request.SnippetChars > Snippets.MaxChars))
            throw new InvalidInputException($"{at}snippet_chars: snippet_chars must be between 0 and {Snippets.MaxChars}, got {request.SnippetChars}") { Setting = "snippet_chars" };
        if (request.HasAlpha && !(request.Alpha >= 0 && request.Alpha <= 1))
            throw new InvalidInputException($"{at}alpha: alpha must be in [0, 1], got {request.Alpha}") { Setting = "alpha" };
        var options = new SearchOptions
        {
            K = request.K,
            Mode = ModeOf(request.Mode, at),
            Fusion = FusionOf(request.Fusion, at),
            Alpha = request.HasAlpha ? request.Alpha : null,
            Caller = identity.Caller,
            Filter = FilterTranslator.Translate(request.Filter),
            MaxQueryChars = _settings.MaxQueryChars,
            SnippetChars = request.HasSnippetChars ? request.SnippetChars : Snippets.DefaultChars,
            Statistics = request.CorpusStatistics is { } stats ? CorpusStatisticsMessages.FromProto(stats, at) : null,
        };
        var searcher = _registry.Searcher(request.Collection);
        var reranker = request.Rerank is { } rerank ? RerankerFor(request.Collection, rerank, $"{at}rerank.", rerankModel) : null;
        if (reranker != null) options = options with { K = Math.Max(request.K, reranker.Options.Depth) };
        cancellationToken.ThrowIfCancellationRequested();
        var sw = Stopwatch.StartNew();
        var result = searcher.Execute(request.Query, options, cancellationToken);
        if (reranker != null) result = SearchReranking.Apply(reranker, request.Query, result, request.K, cancellationToken);
        double searchMs = sw.Elapsed.TotalMilliseconds;
        var t = result.Timings;
        var response = new Proto.SearchResponse
        {
            Seq = result.Seq,
            Timings = new Proto.Timings
            {
                SearchMs = searchMs, EncodeMs = t.EncodeMs, Bm25Ms = t.Bm25Ms, DenseMs = t.DenseMs, FuseMs = t.FuseMs, FetchMs = t.FetchMs, RerankMs = t.RerankMs,
            },
        };
        foreach (var h in result.Hits)
        {
            if (request.HasMinScore && h.Score < request.MinScore) continue;
            var hit = new Proto.SearchHit
            {
                Id = h.DocumentId,
                Score = h.Score,
                Title = h.Title,
                Snippet = h.Snippet?.Text ?? "",
                SnippetStart = h.Snippet?.DocumentStart ?? 0,
                Metadata = ToStruct(h.MetadataJson),
                Version = h.Version,
                Rank = h.Rank,
            };
            if (h.Bm25Score is { } bm25) hit.Bm25Score = bm25;
            if (h.DenseScore is { } dense) hit.DenseScore = dense;
            if (h.FirstStageScore is { } firstStage) hit.FirstStageScore = firstStage;
            if (h.RerankScore is { } rerankScore) hit.RerankScore = rerankScore;
            if (h.Chunk is { } c) hit.Chunk = new Proto.ChunkRef { Id = c.ChunkId, Start = c.Start, End = c.End };
            if (h.Snippet is { } sn)
                foreach (var (start, end) in sn.Highlights) hit.Highlights.Add(new Proto.TextSpan { Start = start, End = end });
            response.Hits.Add(hit);
        }
        return response;
    }

    public override Task<Proto.GetTermStatisticsResponse> GetTermStatistics(Proto.GetTermStatisticsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Read);
        if (string.IsNullOrWhiteSpace(request.Query)) throw new InvalidInputException("query: empty query") { Setting = "query" };
        var stats = _registry.Searcher(request.Collection).Statistics(request.Query, _settings.MaxQueryChars);
        return Task.FromResult(new Proto.GetTermStatisticsResponse { Statistics = CorpusStatisticsMessages.ToProto(stats) });
    }

    public override Task<Proto.GetDocumentResponse> GetDocument(Proto.GetDocumentRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Read);
        if (string.IsNullOrEmpty(request.Id)) throw new InvalidInputException("id: empty document id") { Setting = "id" };
        var searcher = _registry.Searcher(request.Collection);
        // A document the caller may not read is reported exactly like one that does not exist.
        var (d, seq) = searcher.Get(request.Id, identity.Caller);
        if (d is null) throw new DocumentNotFoundException(request.Id, request.Collection);
        return Task.FromResult(new Proto.GetDocumentResponse
        {
            Document = new Proto.Document { Id = d.Id, Title = d.Title, Text = d.Text, Metadata = ToStruct(d.MetadataJson), Acl = ToProto(d.Acl) },
            Version = d.Version,
            Seq = seq,
        });
    }

    public override async Task UpsertDocuments(IAsyncStreamReader<Proto.UpsertRequest> requestStream, IServerStreamWriter<Proto.UpsertAck> responseStream,
        ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        string? collection = null;
        CollectionWriter? writer = null;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var batch = requestStream.Current;
            if (collection is null)
            {
                Authorize(identity, batch.Collection, AccessRight.Write);
                collection = batch.Collection;
                writer = _registry.Writer(collection);
            }
            else if (batch.Collection != collection)
                throw new InvalidInputException($"collection: batch {batch.BatchNumber} names collection '{batch.Collection}' but the stream writes to '{collection}'") { Setting = "collection" };
            if (batch.Documents.Count == 0) throw new InvalidInputException($"documents: batch {batch.BatchNumber} holds no documents") { Setting = "documents" };
            if (batch.Documents.Count > _settings.MaxBatchDocuments)
                throw new InvalidInputException($"documents: batch {batch.BatchNumber} of {batch.Documents.Count} documents exceeds the batch limit of {_settings.MaxBatchDocuments}") { Setting = "documents" };
            var docs = batch.Documents.Select(ToEngine).ToList();
            var r = writer!.Upsert(docs, context.CancellationToken);
            await responseStream.WriteAsync(new Proto.UpsertAck
            {
                BatchNumber = batch.BatchNumber,
                Seq = r.Seq,
                Upserted = r.Upserted,
                Unchanged = r.Unchanged,
                Chunks = r.Chunks,
                ElapsedMs = r.Elapsed.TotalMilliseconds,
            }, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<Proto.DeleteDocumentsResponse> DeleteDocuments(Proto.DeleteDocumentsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Write);
        if (request.Ids.Count > _settings.MaxBatchDocuments)
            throw new InvalidInputException($"ids: delete of {request.Ids.Count} ids exceeds the batch limit of {_settings.MaxBatchDocuments}") { Setting = "ids" };
        var r = _registry.Writer(request.Collection).Delete([.. request.Ids], context.CancellationToken);
        return Task.FromResult(new Proto.DeleteDocumentsResponse { Seq = r.Seq, Deleted = r.Deleted });
    }

    public override Task<Proto.GetCollectionResponse> GetCollection(Proto.GetCollectionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Read);
        return Task.FromResult(new Proto.GetCollectionResponse { Collection = Info(request.Collection, identity) });
    }

    public override Task<Proto.ListCollectionsResponse> ListCollections(Proto.ListCollectionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        var response = new Proto.ListCollectionsResponse();
        foreach (var name in _registry.Names())
            if (identity.Has(name, AccessRight.Read)) response.Collections.Add(Info(name, identity));
        return Task.FromResult(response);
    }

    public override Task<Proto.CreateCollectionResponse> CreateCollection(Proto.CreateCollectionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Admin);
        if (request.ChunkTokens < 0) throw new InvalidInputException($"chunk_tokens must be >= 0, got {request.ChunkTokens}") { Setting = "chunk_tokens" };
        var build = new BuildOptions
        {
            EncoderPath = request.EncoderPath.Length == 0 ? null : Path.GetFullPath(request.EncoderPath, _registry.IndexRoot),
            ChunkTokens = request.ChunkTokens,
            ChunkOverlap = request.ChunkTokens is > 0 and <= 32 ? request.ChunkTokens / 4 : 32,
            Factory = request.FaissFactory.Length == 0 ? "IDMap2,Flat" : request.FaissFactory,
            Device = _settings.Device,
            Source = "grpc CreateCollection",
        };
        _registry.Create(request.Collection, build);
        return Task.FromResult(new Proto.CreateCollectionResponse { Collection = Info(request.Collection, identity) });
    }

    public override Task<Proto.DropCollectionResponse> DropCollection(Proto.DropCollectionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Admin);
        _registry.Drop(request.Collection);
        return Task.FromResult(new Proto.DropCollectionResponse());
    }

    Proto.CollectionInfo Info(string name, Identity identity)
    {
        var s = _registry.Searcher(name);
        s.Refresh();
        var dense = s.Manifest.Dense;
        var (fusion, alpha) = s.EffectiveFusion(new SearchOptions());
        return new Proto.CollectionInfo
        {
            Name = name,
            Seq = s.Seq,
            // The count includes documents the caller may not read: only admins see it.
            Documents = identity.Has(name, AccessRight.Admin) ? s.DocumentCount : 0,
            HasDense = s.HasDense,
            Encoder = dense?.EncoderIdentity ?? "",
            Dimension = dense?.Dimension ?? 0,
            Snapshot = Path.GetFileName(s.Snapshot.Directory),
            Fusion = fusion == FusionMethod.MinMax ? Proto.FusionMethod.Minmax : Proto.FusionMethod.Rrf,
            Alpha = alpha,
        };
    }

    /// <summary>The name must be valid and the identity must hold <paramref name="needed"/> on it (checked before existence).</summary>
    static void Authorize(Identity identity, string collection, AccessRight needed)
    {
        if (string.IsNullOrEmpty(collection)) throw new InvalidInputException("collection: a collection name is required") { Setting = "collection" };
        if (!identity.Has(collection, needed))
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"key '{identity.KeyId}' (principal '{identity.Caller.Principal}') lacks the {needed.ToString().ToLowerInvariant()} right on collection '{collection}'"));
    }

    static Document ToEngine(Proto.Document d) =>
        new(d.Id, d.Title, d.Text, d.Metadata is null ? null : JsonFormatter.Default.Format(KeysSorted(d.Metadata)),
            d.Acl is null ? null : new Acl([.. d.Acl.Principals.Distinct(StringComparer.Ordinal)], [.. d.Acl.Groups.Distinct(StringComparer.Ordinal)]));

    // A Struct is a map, and map entries have no order on the wire (Python's C++ runtime sends them in a different order
    // each time): sorting the keys, at every depth, makes the stored JSON, and so the content hash that tells an
    // unchanged document, depend only on the metadata itself.
    static Struct KeysSorted(Struct s)
    {
        var sorted = new Struct();
        foreach (var (key, value) in s.Fields.OrderBy(f => f.Key, StringComparer.Ordinal)) sorted.Fields.Add(key, KeysSorted(value));
        return sorted;
    }

    static Value KeysSorted(Value v) => v.KindCase switch
    {
        Value.KindOneofCase.StructValue => Value.ForStruct(KeysSorted(v.StructValue)),
        Value.KindOneofCase.ListValue => Value.ForList([.. v.ListValue.Values.Select(KeysSorted)]),
        _ => v,
    };

    static Proto.Acl? ToProto(Acl? acl)
    {
        if (acl is null) return null;
        var p = new Proto.Acl();
        p.Principals.AddRange(acl.Principals);
        p.Groups.AddRange(acl.Groups);
        return p;
    }

    static Struct? ToStruct(string? json) => json is null ? null : JsonParser.Default.Parse<Struct>(json);
}
