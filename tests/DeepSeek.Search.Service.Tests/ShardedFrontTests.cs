using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Indexing.Tests;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Acl = DeepSeek.Search.Core.Filtering.Acl;
using Document = DeepSeek.Search.Core.Document;
using Hit = DeepSeek.Search.Core.Hit;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// Real servers on 127.0.0.1: one over the whole collection <c>c</c>, three over its shards (the documents of
/// <see cref="StableHash.ShardOf"/> i of 3, each built on its own index root), and a query front over the three
/// (<c>Service:Front:Shards</c>). One keys file for all, as one deployment shares its keys.
/// </summary>
public sealed class ShardFixture : IAsyncLifetime
{
    public const int Shards = 3;
    public const string Collection = "c";
    public TempDir Tmp { get; } = new("dss-front");
    public string KeysFile => Tmp.File("keys.json");
    public WebApplication Whole { get; private set; } = null!;
    public WebApplication[] ShardApps { get; } = new WebApplication[Shards];
    public WebApplication Front { get; private set; } = null!;
    internal SearchService.SearchServiceClient WholeClient { get; private set; } = null!;
    internal SearchService.SearchServiceClient FrontClient { get; private set; } = null!;
    internal SearchService.SearchServiceClient[] ShardClients { get; } = new SearchService.SearchServiceClient[Shards];
    readonly List<GrpcChannel> _channels = [];
    public string ReaderKey { get; private set; } = "";
    public string AliceKey { get; private set; } = "";
    public string WriterKey { get; private set; } = "";
    public string AdminKey { get; private set; } = "";
    public string[] ShardAddresses { get; } = new string[Shards];

    /// <summary>200 seeded documents, every tenth restricted to alice.</summary>
    public static List<Document> Corpus() =>
        [.. Enumerable.Range(0, 200).Select(i => Rankings.Doc($"d{i}", i) is var d && i % 10 == 3 ? d with { Acl = new Acl(["alice"], []) } : Rankings.Doc($"d{i}", i))];

    public async Task InitializeAsync()
    {
        var encoder = TinyEncoder.Copy(Tmp);
        var options = new BuildOptions { EncoderPath = encoder, ChunkTokens = 16, ChunkOverlap = 4 };
        var corpus = Corpus();
        CollectionBuilder.Build(CollectionStore.At(Tmp.File("whole"), Collection), corpus, options);
        for (int s = 0; s < Shards; s++)
            CollectionBuilder.Build(CollectionStore.At(Tmp.File($"shard-{s}"), Collection), corpus.Where(d => StableHash.ShardOf(d.Id, Shards) == s), options);
        var keys = ApiKeyFile.Load(KeysFile);
        ReaderKey = keys.Add("reader", [], AccessRight.Read, []).Key;
        AliceKey = keys.Add("alice", [], AccessRight.Read, [Collection]).Key;
        WriterKey = keys.Add("writer", [], AccessRight.Write, []).Key;
        AdminKey = keys.Add("admin", [], AccessRight.Admin, []).Key;

        Whole = await Start(new ServiceSettings { IndexRoot = Tmp.File("whole"), Port = 0, KeysFile = KeysFile });
        WholeClient = Client(SearchServer.Address(Whole));
        for (int s = 0; s < Shards; s++)
        {
            ShardApps[s] = await Start(new ServiceSettings { IndexRoot = Tmp.File($"shard-{s}"), Port = 0, KeysFile = KeysFile });
            ShardAddresses[s] = SearchServer.Address(ShardApps[s]);
            ShardClients[s] = Client(ShardAddresses[s]);
        }
        Front = await Start(new ServiceSettings { IndexRoot = Tmp.File("front-unused"), Port = 0, Front = new Front.FrontSettings { Shards = ShardAddresses } });
        FrontClient = Client(SearchServer.Address(Front));
    }

    static async Task<WebApplication> Start(ServiceSettings settings)
    {
        var app = SearchServer.Build(settings);
        await app.StartAsync();
        return app;
    }

    SearchService.SearchServiceClient Client(string address)
    {
        var channel = GrpcChannel.ForAddress(address);
        _channels.Add(channel);
        return new SearchService.SearchServiceClient(channel);
    }

    public static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };

    public async Task DisposeAsync()
    {
        foreach (var c in _channels) c.Dispose();
        foreach (var app in ShardApps.Append(Whole).Append(Front))
        {
            if (app is null) continue;
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Tmp.Dispose();
    }
}

/// <summary>
/// The query front over shards answers as the whole collection does: the same BM25 scores (collection-wide statistics), the
/// same dense and fused rankings, the same ACL filtering; writes land on the owning shard; credentials are the shards' to judge.
/// </summary>
public sealed class ShardedFrontTests(ShardFixture f) : IClassFixture<ShardFixture>
{
    static readonly string[] Queries = ["protein cell gene", "lava basalt magma crust", "market price trade bank", "topic3 court law", "planet orbit comet galaxy telescope", "n17 railway"];

    static List<Hit> Hits(SearchResponse r) => [.. r.Hits.Select(h => new Hit(h.Id, h.Score))];

    SearchResponse Search(SearchService.SearchServiceClient client, string query, SearchMode mode, string key, FusionMethod fusion = FusionMethod.Unspecified, int k = 10) =>
        client.Search(new SearchRequest { Collection = ShardFixture.Collection, Query = query, K = k, Mode = mode, Fusion = fusion }, ShardFixture.Bearer(key));

    [Theory]
    [InlineData("bm25", "")]
    [InlineData("dense", "")]
    [InlineData("hybrid", "rrf")]
    [InlineData("hybrid", "minmax")]
    [InlineData("", "")]
    public void Front_ranks_as_the_whole_collection(string modeName, string fusionName)
    {
        var mode = modeName switch { "bm25" => SearchMode.Bm25, "dense" => SearchMode.Dense, "hybrid" => SearchMode.Hybrid, _ => SearchMode.Unspecified };
        var fusion = fusionName switch { "rrf" => FusionMethod.Rrf, "minmax" => FusionMethod.Minmax, _ => FusionMethod.Unspecified };
        foreach (var q in Queries)
        {
            var whole = Search(f.WholeClient, q, mode, f.ReaderKey, fusion, 20);
            var front = Search(f.FrontClient, q, mode, f.ReaderKey, fusion, 20);
            Assert.NotEmpty(whole.Hits);
            Rankings.SameRanking(Hits(front), Hits(whole), $"{mode}/{fusion} '{q}'");
            var byId = whole.Hits.ToDictionary(h => h.Id);
            foreach (var h in front.Hits.Where(h => byId.ContainsKey(h.Id)))
            {
                var w = byId[h.Id];
                Assert.Equal(w.HasBm25Score, h.HasBm25Score);
                if (w.HasBm25Score) Assert.Equal(w.Bm25Score, h.Bm25Score, 4);
                Assert.Equal(w.HasDenseScore, h.HasDenseScore);
                Assert.Equal(w.Title, h.Title);
                Assert.Equal(w.Snippet, h.Snippet);
            }
        }
    }

    [Fact]
    public void Per_shard_statistics_would_score_differently_so_the_summed_ones_matter()
    {
        // The shards scoring with their own statistics (what a front without the statistics phase would merge).
        int differing = 0;
        foreach (var q in Queries)
        {
            var whole = Search(f.WholeClient, q, SearchMode.Bm25, f.ReaderKey).Hits.ToDictionary(h => h.Id, h => h.Score);
            foreach (var shard in f.ShardClients)
                foreach (var h in Search(shard, q, SearchMode.Bm25, f.ReaderKey).Hits)
                    if (whole.TryGetValue(h.Id, out var s) && Math.Abs(s - h.Score) > 1e-4 * Math.Max(1, s)) differing++;
        }
        Assert.True(differing > 0, "per-shard BM25 scores equal the whole collection's: the corpus is too uniform for this test to mean anything");
    }

    [Fact]
    public void Summed_term_statistics_equal_the_whole_collections()
    {
        foreach (var q in Queries)
        {
            var whole = f.WholeClient.GetTermStatistics(new GetTermStatisticsRequest { Collection = ShardFixture.Collection, Query = q }, ShardFixture.Bearer(f.ReaderKey)).Statistics;
            var front = f.FrontClient.GetTermStatistics(new GetTermStatisticsRequest { Collection = ShardFixture.Collection, Query = q }, ShardFixture.Bearer(f.ReaderKey)).Statistics;
            Assert.Equal(whole, front);
            Assert.All(whole.Terms, t => Assert.True(t.DocFreq <= whole.Fields.Single(x => x.Field == t.Field).MaxDoc));
        }
    }

    [Fact]
    public void Acls_hold_through_the_front()
    {
        var restricted = ShardFixture.Corpus().Where(d => d.Acl is not null).Select(d => d.Id).ToHashSet();
        foreach (var q in Queries)
        {
            var reader = Search(f.FrontClient, q, SearchMode.Hybrid, f.ReaderKey, FusionMethod.Rrf, 50);
            Assert.DoesNotContain(reader.Hits, h => restricted.Contains(h.Id));
            var alice = Search(f.FrontClient, q, SearchMode.Hybrid, f.AliceKey, FusionMethod.Rrf, 50);
            Rankings.SameRanking(Hits(alice), Hits(Search(f.WholeClient, q, SearchMode.Hybrid, f.AliceKey, FusionMethod.Rrf, 50)), $"alice '{q}'");
        }
        var hidden = restricted.First();
        var e = Assert.Throws<RpcException>(() => f.FrontClient.GetDocument(new GetDocumentRequest { Collection = ShardFixture.Collection, Id = hidden }, ShardFixture.Bearer(f.ReaderKey)));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal(hidden, f.FrontClient.GetDocument(new GetDocumentRequest { Collection = ShardFixture.Collection, Id = hidden }, ShardFixture.Bearer(f.AliceKey)).Document.Id);
    }

    [Fact]
    public void Credentials_are_judged_by_the_shards()
    {
        var none = Assert.Throws<RpcException>(() => f.FrontClient.Search(new SearchRequest { Collection = ShardFixture.Collection, Query = "lava", K = 5 }));
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        var bad = Assert.Throws<RpcException>(() => Search(f.FrontClient, "lava", SearchMode.Bm25, "dss_notakey"));
        Assert.Equal(StatusCode.Unauthenticated, bad.StatusCode);
        Assert.Contains("shard", bad.Status.Detail, StringComparison.Ordinal);
        var write = Assert.Throws<RpcException>(() => f.FrontClient.DeleteDocuments(new DeleteDocumentsRequest { Collection = ShardFixture.Collection, Ids = { "d1" } }, ShardFixture.Bearer(f.ReaderKey)));
        Assert.Equal(StatusCode.PermissionDenied, write.StatusCode);
    }

    [Fact]
    public void Experiments_and_reranking_are_refused_by_name()
    {
        var e = Assert.Throws<RpcException>(() => f.FrontClient.Search(new SearchRequest { Collection = ShardFixture.Collection, Query = "lava", K = 5, ExperimentKey = "u1" }, ShardFixture.Bearer(f.ReaderKey)));
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
        Assert.Contains("experiment_key", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_go_to_the_owning_shard_and_are_searchable_through_the_front()
    {
        var ids = Enumerable.Range(0, 12).Select(i => $"w{i}").ToList();
        using (var call = f.FrontClient.UpsertDocuments(ShardFixture.Bearer(f.WriterKey)))
        {
            var batch = new UpsertRequest { Collection = ShardFixture.Collection, BatchNumber = 1 };
            foreach (var id in ids) batch.Documents.Add(new V1.Document { Id = id, Title = "", Text = $"zyzzyva quokka {id}" });
            await call.RequestStream.WriteAsync(batch);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(12, call.ResponseStream.Current.Upserted);
            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        }
        foreach (var id in ids)
        {
            int owner = StableHash.ShardOf(id, ShardFixture.Shards);
            for (int s = 0; s < ShardFixture.Shards; s++)
            {
                var get = () => f.ShardClients[s].GetDocument(new GetDocumentRequest { Collection = ShardFixture.Collection, Id = id }, ShardFixture.Bearer(f.ReaderKey));
                if (s == owner) Assert.Equal(id, get().Document.Id);
                else Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(get).StatusCode);
            }
        }
        var front = Search(f.FrontClient, "zyzzyva quokka", SearchMode.Hybrid, f.ReaderKey, k: 50);
        var found = front.Hits.Select(h => h.Id).ToHashSet();
        Assert.Superset(ids.ToHashSet(), found);
        // The front's seq is the newest shard's (each shard numbers its own batches): no hit is newer than it, as in one collection.
        Assert.Equal(f.ShardClients.Max(c => Search(c, "zyzzyva quokka", SearchMode.Hybrid, f.ReaderKey, k: 50).Seq), front.Seq);
        Assert.All(front.Hits, h => Assert.True(h.Version > 0 && h.Version <= front.Seq, $"{h.Id}: version {h.Version}, seq {front.Seq}"));
        var deleted = f.FrontClient.DeleteDocuments(new DeleteDocumentsRequest { Collection = ShardFixture.Collection, Ids = { ids } }, ShardFixture.Bearer(f.WriterKey));
        Assert.Equal(12, deleted.Deleted);
        Assert.Empty(Search(f.FrontClient, "zyzzyva quokka", SearchMode.Bm25, f.ReaderKey, k: 50).Hits);
    }

    [Fact]
    public async Task With_dapr_app_ids_the_front_calls_the_shards_through_the_sidecar()
    {
        var apps = Enumerable.Range(0, ShardFixture.Shards).ToDictionary(s => $"dss-shard-{s}", s => f.ShardAddresses[s]);
        await using var sidecar = await FakeDaprGrpcProxy.StartAsync(apps);
        var settings = new ServiceSettings
        {
            IndexRoot = f.Tmp.File("front-dapr-unused"), Port = 0,
            Front = new Front.FrontSettings { Shards = [.. apps.Keys.Select(a => "dapr:" + a)] },
            Dapr = new Jobs.DaprSettings { GrpcEndpoint = sidecar.Address },
        };
        var app = SearchServer.Build(settings);
        await app.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(SearchServer.Address(app));
            var viaDapr = new SearchService.SearchServiceClient(channel);
            foreach (var q in Queries.Take(2))
                Rankings.SameRanking(Hits(Search(viaDapr, q, SearchMode.Hybrid, f.ReaderKey, FusionMethod.Rrf)), Hits(Search(f.WholeClient, q, SearchMode.Hybrid, f.ReaderKey, FusionMethod.Rrf)), $"dapr '{q}'");
            var calls = sidecar.Calls.ToList();
            Assert.Equal(apps.Keys.Order(), calls.Select(c => c.AppId).Distinct().Order());
            Assert.All(calls, c => Assert.True(c.HadCredential, $"{c.Path} to {c.AppId} without the caller's credential"));
            Assert.Contains(calls, c => c.Path == "/deepseek.search.v1.SearchService/GetTermStatistics");
            Assert.Contains(calls, c => c.Path == "/deepseek.search.v1.SearchService/Search");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void Collection_description_sums_the_shards()
    {
        var whole = f.WholeClient.GetCollection(new GetCollectionRequest { Collection = ShardFixture.Collection }, ShardFixture.Bearer(f.AdminKey)).Collection;
        var front = f.FrontClient.GetCollection(new GetCollectionRequest { Collection = ShardFixture.Collection }, ShardFixture.Bearer(f.AdminKey)).Collection;
        Assert.True(front.HasDense);
        Assert.Equal(whole.Encoder, front.Encoder);
        Assert.Equal(whole.Fusion, front.Fusion);
        Assert.Equal(3, front.Snapshot.Split(',').Length);
        // Documents: the write test may run first and leave nothing behind (it deletes what it adds), so the counts match.
        Assert.Equal(whole.Documents, front.Documents);
    }
}
