using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;

namespace DeepSeek.Search.Service.Tests;

/// <summary>CreateCollection, the upsert stream's acknowledgements, deletes and DropCollection, on a collection of their own.</summary>
[Collection("server")]
public sealed class LiveWriteTests(ServerFixture f)
{
    static V1.Document Doc(string id, string text, string? principal = null, string? group = null)
    {
        var d = new V1.Document { Id = id, Title = id, Text = text, Metadata = new Struct { Fields = { ["tag"] = Value.ForString("live") } } };
        if (principal != null || group != null)
        {
            d.Acl = new V1.Acl();
            if (principal != null) d.Acl.Principals.Add(principal);
            if (group != null) d.Acl.Groups.Add(group);
        }
        return d;
    }

    [Fact]
    public async Task Create_upsert_stream_search_delete_and_drop()
    {
        var admin = ServerFixture.Bearer(f.AdminKey);
        var created = f.Client.CreateCollection(new CreateCollectionRequest { Collection = "live", EncoderPath = f.Encoder, ChunkTokens = 16 }, admin).Collection;
        Assert.Equal("live", created.Name);
        Assert.True(created.HasDense);
        Assert.Equal(StatusCode.InvalidArgument, Assert.Throws<RpcException>(() => f.Client.CreateCollection(new CreateCollectionRequest { Collection = "live" }, admin)).StatusCode);
        var health = new Health.HealthClient(f.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Check(new HealthCheckRequest { Service = SearchServer.HealthName("live") }).Status);

        using (var call = f.Client.UpsertDocuments(ServerFixture.Bearer(f.WriterKey)))
        {
            await call.RequestStream.WriteAsync(new UpsertRequest { Collection = "live", BatchNumber = 7, Documents = { Doc("l1", "quasar radio telescope", principal: "alice"), Doc("l2", "quasar jets and black holes", group: "team-b") } });
            Assert.True(await call.ResponseStream.MoveNext());
            var ack = call.ResponseStream.Current;
            Assert.Equal(7, ack.BatchNumber);
            Assert.Equal(2, ack.Upserted);
            Assert.True(ack.Seq >= 1);
            Assert.True(ack.Chunks >= 2);

            // acknowledged means visible: the next search sees it
            var seen = f.Client.Search(new SearchRequest { Collection = "live", Query = "quasar", K = 10, Mode = SearchMode.Bm25 }, ServerFixture.Bearer(f.BobKey));
            Assert.Equal(["l2"], seen.Hits.Select(h => h.Id));
            Assert.True(seen.Seq >= ack.Seq);

            await call.RequestStream.WriteAsync(new UpsertRequest { Collection = "live", BatchNumber = 8, Documents = { Doc("l3", "public quasar catalogue"), Doc("l1", "quasar radio telescope", principal: "alice") } });
            Assert.True(await call.ResponseStream.MoveNext());
            var second = call.ResponseStream.Current;
            Assert.Equal(8, second.BatchNumber);
            Assert.Equal(1, second.Upserted);
            Assert.Equal(1, second.Unchanged);
            Assert.True(second.Seq > ack.Seq);

            // a bad batch ends the stream with INVALID_ARGUMENT; the acknowledged batches stay
            await call.RequestStream.WriteAsync(new UpsertRequest { Collection = "live", BatchNumber = 9 });
            var bad = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
            Assert.Contains("batch 9 holds no documents", bad.Status.Detail, StringComparison.Ordinal);
        }

        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
        {
            var bob = f.Client.Search(new SearchRequest { Collection = "live", Query = "quasar", K = 10, Mode = mode }, ServerFixture.Bearer(f.BobKey));
            Assert.Equal(["l2", "l3"], bob.Hits.Select(h => h.Id).Order());
        }
        Assert.Equal("live", f.Client.GetDocument(new GetDocumentRequest { Collection = "live", Id = "l3" }, ServerFixture.Bearer(f.BobKey)).Document.Metadata.Fields["tag"].StringValue);

        var del = f.Client.DeleteDocuments(new DeleteDocumentsRequest { Collection = "live", Ids = { "l2" } }, ServerFixture.Bearer(f.WriterKey));
        Assert.Equal(1, del.Deleted);
        Assert.Equal(["l3"], f.Client.Search(new SearchRequest { Collection = "live", Query = "quasar", K = 10, Mode = SearchMode.Hybrid }, ServerFixture.Bearer(f.BobKey)).Hits.Select(h => h.Id));
        var unknown = Assert.Throws<RpcException>(() => f.Client.DeleteDocuments(new DeleteDocumentsRequest { Collection = "live", Ids = { "nope" } }, ServerFixture.Bearer(f.WriterKey)));
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Contains("unknown document id 'nope'", unknown.Status.Detail, StringComparison.Ordinal);

        f.Client.DropCollection(new DropCollectionRequest { Collection = "live" }, admin);
        Assert.False(Directory.Exists(Path.Combine(f.Root, "live")));
        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => f.Client.Search(new SearchRequest { Collection = "live", Query = "quasar", K = 1 }, ServerFixture.Bearer(f.BobKey))).StatusCode);
        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => health.Check(new HealthCheckRequest { Service = SearchServer.HealthName("live") })).StatusCode);
        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => f.Client.DropCollection(new DropCollectionRequest { Collection = "live" }, admin)).StatusCode);
    }

    [Fact]
    public async Task A_collection_locked_by_another_writer_is_failed_precondition_naming_the_holder()
    {
        var admin = ServerFixture.Bearer(f.AdminKey);
        f.Client.CreateCollection(new CreateCollectionRequest { Collection = "locked" }, admin);
        f.Client.DropCollection(new DropCollectionRequest { Collection = "locked" }, admin);
        // built outside the server, then locked as another writer would
        DeepSeek.Search.Indexing.CollectionBuilder.Build(CollectionStore.At(f.Root, "locked2"), [new Core.Document("d", "t", "locked text")], new DeepSeek.Search.Indexing.BuildOptions());
        using var held = CollectionStore.At(f.Root, "locked2").LockWriter("test holder");
        var e = Assert.Throws<RpcException>(() => f.Client.DeleteDocuments(new DeleteDocumentsRequest { Collection = "locked2", Ids = { "d" } }, ServerFixture.Bearer(f.WriterKey)));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("locked by another writer", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("test holder", e.Status.Detail, StringComparison.Ordinal);
        // reads still work
        Assert.Equal("d", f.Client.Search(new SearchRequest { Collection = "locked2", Query = "locked", K = 1 }, ServerFixture.Bearer(f.BobKey)).Hits.Single().Id);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Deletes_past_the_threshold_compact_the_collection_in_the_background_while_searches_go_on()
    {
        const string name = "autocompact";
        var admin = ServerFixture.Bearer(f.AdminKey);
        var writer = ServerFixture.Bearer(f.WriterKey);
        var reader = ServerFixture.Bearer(f.BobKey);
        var before = f.Client.CreateCollection(new CreateCollectionRequest { Collection = name, EncoderPath = f.Encoder, ChunkTokens = 16 }, admin).Collection;
        using (var call = f.Client.UpsertDocuments(writer))
        {
            var batch = new UpsertRequest { Collection = name, BatchNumber = 1 };
            for (int i = 0; i < 20; i++) batch.Documents.Add(Doc($"c{i}", $"comet number {i} has a tail of dust and ice"));
            await call.RequestStream.WriteAsync(batch);
            Assert.True(await call.ResponseStream.MoveNext());
            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext());
        }
        var registry = f.App.Services.GetRequiredService<CollectionRegistry>();
        var compacted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnCompacted(object? _, (string Collection, Indexing.CompactionResult Result) e) { if (e.Collection == name) compacted.TrySetResult(e.Result.Snapshot); }
        registry.Compacted += OnCompacted;
        try
        {
            // 5 of 20 removed: past the 10% threshold, so the server compacts on its own.
            f.Client.DeleteDocuments(new DeleteDocumentsRequest { Collection = name, Ids = { "c0", "c1", "c2", "c3", "c4" } }, writer);
            using var stop = new CancellationTokenSource();
            var searches = Task.Run(() =>
            {
                int n = 0;
                while (!stop.IsCancellationRequested)
                {
                    var r = f.Client.Search(new SearchRequest { Collection = name, Query = "comet tail", K = 50, Mode = SearchMode.Hybrid }, reader);
                    Assert.Equal(15, r.Hits.Count);
                    Assert.DoesNotContain(r.Hits, h => h.Id is "c0" or "c1" or "c2" or "c3" or "c4");
                    n++;
                }
                return n;
            });
            var snapshot = await compacted.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await Task.Delay(200);
            stop.Cancel();
            Assert.True(await searches > 0);
            var after = f.Client.GetCollection(new GetCollectionRequest { Collection = name }, admin).Collection;
            Assert.Equal(snapshot, after.Snapshot);
            Assert.NotEqual(before.Snapshot, after.Snapshot);
            Assert.Equal(15, after.Documents);
            Assert.Empty(registry.Searcher(name).Audit().Problems);
        }
        finally
        {
            registry.Compacted -= OnCompacted;
            f.Client.DropCollection(new DropCollectionRequest { Collection = name }, admin);
        }
    }

    [Fact]
    public async Task Metadata_keys_in_another_wire_order_are_the_same_document()
    {
        const string name = "keyorder";
        var admin = ServerFixture.Bearer(f.AdminKey);
        f.Client.CreateCollection(new CreateCollectionRequest { Collection = name }, admin);
        try
        {
            static V1.Document WithMeta(params (string Key, Value Value)[] fields)
            {
                var d = new V1.Document { Id = "k1", Title = "t", Text = "metadata order" , Metadata = new Struct() };
                foreach (var (k, v) in fields) d.Metadata.Fields.Add(k, v);
                return d;
            }
            var nested = new Struct { Fields = { ["y"] = Value.ForNumber(1), ["x"] = Value.ForNumber(2) } };
            var nestedReordered = new Struct { Fields = { ["x"] = Value.ForNumber(2), ["y"] = Value.ForNumber(1) } };
            using var call = f.Client.UpsertDocuments(ServerFixture.Bearer(f.WriterKey));
            async Task<UpsertAck> Send(long n, V1.Document d)
            {
                await call.RequestStream.WriteAsync(new UpsertRequest { Collection = name, BatchNumber = n, Documents = { d } });
                Assert.True(await call.ResponseStream.MoveNext());
                return call.ResponseStream.Current;
            }
            Assert.Equal(1, (await Send(1, WithMeta(("a", Value.ForString("1")), ("b", Value.ForStruct(nested))))).Upserted);
            var same = await Send(2, WithMeta(("b", Value.ForStruct(nestedReordered)), ("a", Value.ForString("1"))));
            Assert.Equal((0, 1), (same.Upserted, same.Unchanged));
            var changed = await Send(3, WithMeta(("b", Value.ForStruct(nestedReordered)), ("a", Value.ForString("2"))));
            Assert.Equal((1, 0), (changed.Upserted, changed.Unchanged));
            await call.RequestStream.CompleteAsync();
        }
        finally { f.Client.DropCollection(new DropCollectionRequest { Collection = name }, admin); }
    }
}
