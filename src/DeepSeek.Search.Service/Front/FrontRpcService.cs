using System.Collections.Concurrent;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Service.Grpc;
using Grpc.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Front;

/// <summary>
/// The query front over the shards of a collection (<see cref="FrontSettings"/>): the SearchService contract, each call
/// fanned out to the shard servers with the caller's own credential (the shards authenticate, authorise and filter by
/// document ACL) and the answers merged so that a sharded collection answers as one collection would:
/// <list type="bullet">
/// <item>BM25: the query's corpus statistics from every shard (GetTermStatistics), summed, sent back with the search, so
/// every shard scores with the collection-wide counts (DFS query-then-fetch); the shards' top-k lists merged by score.</item>
/// <item>Dense: the shards' top-k by inner product, merged (exact when the shards' indexes are exact).</item>
/// <item>Hybrid: both sides fetched as above to the engine's depth (100, at least k), merged, then fused here with Core's
/// <see cref="HybridFusion"/>, the fusion a collection uses itself (the request's, else the one the collection reports).</item>
/// </list>
/// A hit's stored fields, snippet and chunk come with the shard's answer (fetched with the ranking: one round trip).
/// Writes and document reads go to the owning shard (<see cref="StableHash.ShardOf"/>); collection administration goes to
/// every shard. Re-ranking, Ask and experiments are served by a collection's own server, not through the front
/// (UNIMPLEMENTED, saying so).
/// </summary>
sealed class FrontRpcService : Proto.SearchService.SearchServiceBase, IDisposable
{
    /// <summary>How deep each side of a hybrid search is fetched: the engine's default depth.</summary>
    const int HybridDepth = 100;

    readonly ShardSet _shards;
    readonly ServiceSettings _settings;
    readonly ConcurrentDictionary<string, (DateTime Until, Proto.CollectionInfo Info)> _infos = new(StringComparer.Ordinal);

    public FrontRpcService(ServiceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _shards = new ShardSet(settings.Front, settings.Dapr.GrpcEndpoint);
    }

    public override async Task<Proto.SearchResponse> Search(Proto.SearchRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var sw = Stopwatch.StartNew();
        var response = await RunSearch(request, "", context).ConfigureAwait(false);
        response.Timings.TotalMs = sw.Elapsed.TotalMilliseconds;
        return response;
    }

    public override async Task<Proto.SearchBatchResponse> SearchBatch(Proto.SearchBatchRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var sw = Stopwatch.StartNew();
        if (request.Searches.Count == 0) throw new InvalidInputException("searches: give at least one search") { Setting = "searches" };
        if (request.Searches.Count > _settings.MaxBatchDocuments)
            throw new InvalidInputException($"searches: {request.Searches.Count} searches exceed the batch limit of {_settings.MaxBatchDocuments}") { Setting = "searches" };
        var result = new Proto.SearchBatchResponse { Timings = new Proto.Timings() };
        for (int i = 0; i < request.Searches.Count; i++)
        {
            var one = Stopwatch.StartNew();
            var r = await RunSearch(request.Searches[i], $"searches[{i}].", context).ConfigureAwait(false);
            r.Timings.TotalMs = one.Elapsed.TotalMilliseconds;
            result.Results.Add(r);
        }
        result.Timings.TotalMs = sw.Elapsed.TotalMilliseconds;
        return result;
    }

    async Task<Proto.SearchResponse> RunSearch(Proto.SearchRequest request, string at, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Collection)) throw new InvalidInputException($"{at}collection: a collection name is required") { Setting = "collection" };
        if (request.ExperimentKey.Length > 0)
            throw new RpcException(new Status(StatusCode.Unimplemented, $"{at}experiment_key: experiments are served by a collection's own server, not through the query front"));
        if (request.Rerank is not null)
            throw new RpcException(new Status(StatusCode.Unimplemented, $"{at}rerank: re-ranking is served by a collection's own server, not through the query front"));
        if (request.CorpusStatistics is not null)
            throw new InvalidInputException($"{at}corpus_statistics: the query front computes the corpus statistics itself; send none") { Setting = "corpus_statistics" };
        if (request.K < 1 || request.K > _settings.MaxK)
            throw new InvalidInputException($"{at}k: k must be between 1 and {_settings.MaxK}, got {request.K}") { Setting = "k" };
        var ct = context.CancellationToken;
        var mode = request.Mode;
        Proto.CollectionInfo? info = null;
        if (mode == Proto.SearchMode.Unspecified || (mode == Proto.SearchMode.Hybrid && (request.Fusion == Proto.FusionMethod.Unspecified || !request.HasAlpha)))
        {
            info = await Info(request.Collection, context).ConfigureAwait(false);
            if (mode == Proto.SearchMode.Unspecified) mode = info.HasDense ? Proto.SearchMode.Hybrid : Proto.SearchMode.Bm25;
        }

        var response = new Proto.SearchResponse { Timings = new Proto.Timings() };
        var sw = Stopwatch.StartNew();
        Dictionary<string, Proto.SearchHit>? lexicalHits = null, denseHits = null;
        IReadOnlyList<Hit>? lexical = null, dense = null;
        int depth = mode == Proto.SearchMode.Hybrid ? Math.Max(HybridDepth, request.K) : request.K;
        var lexicalTask = mode is Proto.SearchMode.Bm25 or Proto.SearchMode.Hybrid ? Side(request, Proto.SearchMode.Bm25, depth, context, ct) : null;
        var denseTask = mode is Proto.SearchMode.Dense or Proto.SearchMode.Hybrid ? Side(request, Proto.SearchMode.Dense, depth, context, ct) : null;
        if (lexicalTask != null)
        {
            (lexical, lexicalHits, var ms, _, var seq) = await lexicalTask.ConfigureAwait(false);
            response.Timings.Bm25Ms = ms;
            response.Seq = Math.Max(response.Seq, seq);
        }
        if (denseTask != null)
        {
            (dense, denseHits, var ms, var encode, var seq) = await denseTask.ConfigureAwait(false);
            response.Timings.DenseMs = ms;
            response.Seq = Math.Max(response.Seq, seq);
            response.Timings.EncodeMs = encode;
        }

        var fuse = Stopwatch.StartNew();
        IReadOnlyList<Hit> ranked;
        if (mode == Proto.SearchMode.Hybrid)
        {
            var method = request.Fusion switch
            {
                Proto.FusionMethod.Rrf => FusionMethod.Rrf,
                Proto.FusionMethod.Minmax => FusionMethod.MinMax,
                Proto.FusionMethod.Unspecified => info!.Fusion == Proto.FusionMethod.Minmax ? FusionMethod.MinMax : FusionMethod.Rrf,
                _ => throw new InvalidInputException($"{at}fusion: unknown fusion method {(int)request.Fusion}") { Setting = "fusion" },
            };
            if (request.HasAlpha && !(request.Alpha >= 0 && request.Alpha <= 1))
                throw new InvalidInputException($"{at}alpha: alpha must be in [0, 1], got {request.Alpha}") { Setting = "alpha" };
            float alpha = request.HasAlpha ? request.Alpha : info!.Alpha;
            ranked = HybridFusion.Fuse(method, lexical!, dense!, alpha, request.K);
        }
        else ranked = (lexical ?? dense)!;
        response.Timings.FuseMs = fuse.Elapsed.TotalMilliseconds;

        int rank = 0;
        foreach (var h in ranked)
        {
            if (request.HasMinScore && h.Score < request.MinScore) continue;
            // The dense side's hit carries the best chunk and its snippet, as one collection's hybrid hit does; else the lexical one's.
            Proto.SearchHit? d = null, l = null;
            denseHits?.TryGetValue(h.DocumentId, out d);
            lexicalHits?.TryGetValue(h.DocumentId, out l);
            var hit = (d ?? l)!.Clone();
            hit.Score = h.Score;
            hit.Rank = ++rank;
            hit.ClearBm25Score();
            hit.ClearDenseScore();
            if (l is not null) hit.Bm25Score = l.Score;
            if (d is not null) hit.DenseScore = d.Score;
            response.Hits.Add(hit);
        }
        response.Timings.SearchMs = sw.Elapsed.TotalMilliseconds;
        return response;
    }

    /// <summary>
    /// One side of a search over every shard, merged: BM25 (with the summed corpus statistics) or dense, each shard's top
    /// <paramref name="k"/>; the merged top k, the hits by id, the side's wall time, the slowest shard's query encoding, and the
    /// largest of the shards' seqs (each shard numbers its own batches, so no hit's version is above it, as one collection's).
    /// </summary>
    async Task<(IReadOnlyList<Hit> Ranked, Dictionary<string, Proto.SearchHit> Hits, double Ms, double EncodeMs, long Seq)> Side(Proto.SearchRequest request,
        Proto.SearchMode mode, int k, ServerCallContext context, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var sub = request.Clone();
        sub.Mode = mode;
        sub.K = k;
        sub.ClearMinScore();
        if (mode == Proto.SearchMode.Bm25)
        {
            var parts = await _shards.All(async (s, token) =>
                (await _shards.Clients[s].GetTermStatisticsAsync(new Proto.GetTermStatisticsRequest { Collection = request.Collection, Query = request.Query },
                    _shards.Options(s, context, token)).ConfigureAwait(false)).Statistics, ct).ConfigureAwait(false);
            var sum = CorpusStatistics.Sum(parts.Select(p => CorpusStatisticsMessages.FromProto(p, "")));
            sub.CorpusStatistics = CorpusStatisticsMessages.ToProto(sum);
        }
        var answers = await _shards.All(async (s, token) =>
            await _shards.Clients[s].SearchAsync(sub, _shards.Options(s, context, token)).ConfigureAwait(false), ct).ConfigureAwait(false);
        var merged = HybridFusion.MergeShards(answers.Select(a => (IReadOnlyList<Hit>)a.Hits.Select(h => new Hit(h.Id, h.Score)).ToList()), k);
        // The side's hits are the merged top k only, as one collection's side is its own top k.
        var kept = merged.Select(h => h.DocumentId).ToHashSet(StringComparer.Ordinal);
        var hits = new Dictionary<string, Proto.SearchHit>(StringComparer.Ordinal);
        foreach (var a in answers)
            foreach (var h in a.Hits)
                if (kept.Contains(h.Id) && (!hits.TryGetValue(h.Id, out var seen) || h.Score > seen.Score)) hits[h.Id] = h;
        return (merged, hits, sw.Elapsed.TotalMilliseconds, answers.Max(a => a.Timings?.EncodeMs ?? 0), answers.Max(a => a.Seq));
    }

    /// <summary>The collection as shard 0 describes it (dense or not, default fusion), kept <see cref="FrontSettings.CollectionInfoSeconds"/>.</summary>
    async Task<Proto.CollectionInfo> Info(string collection, ServerCallContext context)
    {
        if (_infos.TryGetValue(collection, out var cached) && cached.Until > DateTime.UtcNow) return cached.Info;
        Proto.CollectionInfo info;
        try
        {
            info = (await _shards.Clients[0].GetCollectionAsync(new Proto.GetCollectionRequest { Collection = collection },
                _shards.Options(0, context, context.CancellationToken)).ConfigureAwait(false)).Collection;
        }
        catch (RpcException e) { throw _shards.Named(0, e); }
        _infos[collection] = (DateTime.UtcNow.AddSeconds(_settings.Front.CollectionInfoSeconds), info);
        return info;
    }

    public override async Task<Proto.GetTermStatisticsResponse> GetTermStatistics(Proto.GetTermStatisticsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var parts = await _shards.All(async (s, token) =>
            (await _shards.Clients[s].GetTermStatisticsAsync(request, _shards.Options(s, context, token)).ConfigureAwait(false)).Statistics, context.CancellationToken).ConfigureAwait(false);
        var sum = CorpusStatistics.Sum(parts.Select(p => CorpusStatisticsMessages.FromProto(p, "")));
        return new Proto.GetTermStatisticsResponse { Statistics = CorpusStatisticsMessages.ToProto(sum) };
    }

    public override async Task<Proto.GetDocumentResponse> GetDocument(Proto.GetDocumentRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrEmpty(request.Id)) throw new InvalidInputException("id: empty document id") { Setting = "id" };
        int s = StableHash.ShardOf(request.Id, _shards.Count);
        try { return await _shards.Clients[s].GetDocumentAsync(request, _shards.Options(s, context, context.CancellationToken)).ConfigureAwait(false); }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { throw; }   // the shard's own words: unknown and hidden read alike
        catch (RpcException e) { throw _shards.Named(s, e); }
    }

    /// <summary>
    /// Each incoming batch split by owning shard and written there, one upsert stream per shard for the whole call; the
    /// batch is acknowledged once every shard holding part of it has acknowledged its part (durable and visible there).
    /// The ack's seq is the largest of the shards' sequence numbers (each shard numbers its own batches).
    /// </summary>
    public override async Task UpsertDocuments(IAsyncStreamReader<Proto.UpsertRequest> requestStream, IServerStreamWriter<Proto.UpsertAck> responseStream,
        ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var ct = context.CancellationToken;
        var streams = new AsyncDuplexStreamingCall<Proto.UpsertRequest, Proto.UpsertAck>?[_shards.Count];
        try
        {
            while (await requestStream.MoveNext(ct).ConfigureAwait(false))
            {
                var batch = requestStream.Current;
                if (batch.Documents.Count == 0) throw new InvalidInputException($"documents: batch {batch.BatchNumber} holds no documents") { Setting = "documents" };
                var sw = Stopwatch.StartNew();
                var parts = batch.Documents.GroupBy(d => StableHash.ShardOf(d.Id, _shards.Count)).ToDictionary(g => g.Key, g => g.ToList());
                var acks = await _shards.All(parts.Keys.ToArray(), async (s, token) =>
                {
                    var call = streams[s] ??= _shards.Clients[s].UpsertDocuments(_shards.Options(s, context, ct));
                    var part = new Proto.UpsertRequest { Collection = batch.Collection, BatchNumber = batch.BatchNumber };
                    part.Documents.AddRange(parts[s]);
                    await call.RequestStream.WriteAsync(part, token).ConfigureAwait(false);
                    if (!await call.ResponseStream.MoveNext(token).ConfigureAwait(false))
                        throw new RpcException(new Status(StatusCode.Internal, $"the shard ended the stream without acknowledging batch {batch.BatchNumber}"));
                    return call.ResponseStream.Current;
                }, ct).ConfigureAwait(false);
                await responseStream.WriteAsync(new Proto.UpsertAck
                {
                    BatchNumber = batch.BatchNumber,
                    Seq = acks.Max(a => a.Seq),
                    Upserted = acks.Sum(a => a.Upserted),
                    Unchanged = acks.Sum(a => a.Unchanged),
                    Chunks = acks.Sum(a => a.Chunks),
                    ElapsedMs = sw.Elapsed.TotalMilliseconds,
                }, ct).ConfigureAwait(false);
            }
            await _shards.All(Enumerable.Range(0, _shards.Count).Where(s => streams[s] != null).ToArray(), async (s, token) =>
            {
                await streams[s]!.RequestStream.CompleteAsync().ConfigureAwait(false);
                while (await streams[s]!.ResponseStream.MoveNext(token).ConfigureAwait(false)) { }
                return 0;
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var c in streams) c?.Dispose();
        }
    }

    /// <summary>
    /// The ids split by owning shard, each shard's part deleted there in one atomic batch. A delete spanning shards is atomic
    /// per shard only: when one shard refuses its part (an unknown id), the error names it, and the parts the other shards
    /// took stand (listed in the error).
    /// </summary>
    public override async Task<Proto.DeleteDocumentsResponse> DeleteDocuments(Proto.DeleteDocumentsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Ids.Count > _settings.MaxBatchDocuments)
            throw new InvalidInputException($"ids: delete of {request.Ids.Count} ids exceeds the batch limit of {_settings.MaxBatchDocuments}") { Setting = "ids" };
        var parts = request.Ids.GroupBy(id => StableHash.ShardOf(id, _shards.Count)).ToDictionary(g => g.Key, g => g.ToList());
        var done = new ConcurrentBag<int>();
        var tasks = parts.Select(async kv =>
        {
            var part = new Proto.DeleteDocumentsRequest { Collection = request.Collection };
            part.Ids.AddRange(kv.Value);
            try
            {
                var r = await _shards.Clients[kv.Key].DeleteDocumentsAsync(part, _shards.Options(kv.Key, context, context.CancellationToken)).ConfigureAwait(false);
                done.Add(kv.Key);
                return r;
            }
            catch (RpcException e) { throw _shards.Named(kv.Key, e); }
        }).ToArray();
        try { await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch (RpcException e)
        {
            var applied = done.OrderBy(s => s).ToList();
            throw new RpcException(new Status(e.StatusCode, applied.Count == 0 ? e.Status.Detail
                : $"{e.Status.Detail} (the ids owned by shard(s) {string.Join(", ", applied)} were deleted there)"));
        }
        var results = tasks.Select(t => t.Result).ToList();
        return new Proto.DeleteDocumentsResponse { Seq = results.Count == 0 ? 0 : results.Max(r => r.Seq), Deleted = results.Sum(r => r.Deleted) };
    }

    public override async Task<Proto.GetCollectionResponse> GetCollection(Proto.GetCollectionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var infos = await _shards.All(async (s, token) =>
            (await _shards.Clients[s].GetCollectionAsync(request, _shards.Options(s, context, token)).ConfigureAwait(false)).Collection, context.CancellationToken).ConfigureAwait(false);
        return new Proto.GetCollectionResponse { Collection = Combine(infos) };
    }

    public override async Task<Proto.ListCollectionsResponse> ListCollections(Proto.ListCollectionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var lists = await _shards.All(async (s, token) =>
            (await _shards.Clients[s].ListCollectionsAsync(request, _shards.Options(s, context, token)).ConfigureAwait(false)).Collections.ToList(), context.CancellationToken).ConfigureAwait(false);
        // A collection is listed when every shard has it (one that only some shards have is half created or half dropped).
        var response = new Proto.ListCollectionsResponse();
        foreach (var first in lists[0])
        {
            var all = lists.Select(l => l.FirstOrDefault(c => c.Name == first.Name)).ToList();
            if (all.All(c => c is not null)) response.Collections.Add(Combine(all!));
        }
        return response;
    }

    /// <summary>One collection's description from its shards': documents summed, the newest seq, dense only if every shard is.</summary>
    static Proto.CollectionInfo Combine(IReadOnlyList<Proto.CollectionInfo> shards)
    {
        var c = shards[0].Clone();
        c.Documents = shards.Sum(s => s.Documents);
        c.Seq = shards.Max(s => s.Seq);
        c.HasDense = shards.All(s => s.HasDense);
        c.Snapshot = string.Join(",", shards.Select(s => s.Snapshot));
        return c;
    }

    /// <summary>Created on every shard (in shard order); a failure names the shard, and the shards before it keep theirs.</summary>
    public override async Task<Proto.CreateCollectionResponse> CreateCollection(Proto.CreateCollectionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var infos = new List<Proto.CollectionInfo>();
        for (int s = 0; s < _shards.Count; s++)
        {
            try { infos.Add((await _shards.Clients[s].CreateCollectionAsync(request, _shards.Options(s, context, context.CancellationToken)).ConfigureAwait(false)).Collection); }
            catch (RpcException e) { throw _shards.Named(s, e); }
        }
        return new Proto.CreateCollectionResponse { Collection = Combine(infos) };
    }

    /// <summary>Dropped on every shard (in shard order); a failure names the shard, and the shards before it stay dropped.</summary>
    public override async Task<Proto.DropCollectionResponse> DropCollection(Proto.DropCollectionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        _infos.TryRemove(request.Collection, out _);
        for (int s = 0; s < _shards.Count; s++)
        {
            try { await _shards.Clients[s].DropCollectionAsync(request, _shards.Options(s, context, context.CancellationToken)).ConfigureAwait(false); }
            catch (RpcException e) { throw _shards.Named(s, e); }
        }
        return new Proto.DropCollectionResponse();
    }

    public override Task Ask(Proto.AskRequest request, IServerStreamWriter<Proto.AskResponse> responseStream, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "Ask is served by a collection's own server, not through the query front"));

    public override Task<Proto.ReportOutcomeResponse> ReportOutcome(Proto.ReportOutcomeRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "experiments are served by a collection's own server, not through the query front"));

    public void Dispose() => _shards.Dispose();
}
