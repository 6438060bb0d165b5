using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeepSeek.Search.Service.Tests;

/// <summary>Servers with small limits: message size, batch size, and admission (running + queued calls).</summary>
public sealed class LimitsTests
{
    static async Task WithServer(ServiceSettings settings, Func<SearchService.SearchServiceClient, Metadata, Task> body)
    {
        using var tmp = new TempDir("dss-limits");
        var root = tmp.File("indexes");
        CollectionBuilder.Build(CollectionStore.At(root, "c"), [new Core.Document("d1", "t", "comet tail dust")], new BuildOptions());
        var keys = ApiKeyFile.Load(tmp.File("keys.json"));
        var key = keys.Add("p", [], AccessRight.Write, []).Key;
        var app = SearchServer.Build(settings with { IndexRoot = root, Port = 0, KeysFile = keys.Path });
        await app.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(SearchServer.Address(app));
            await body(new SearchService.SearchServiceClient(channel), ServerFixture.Bearer(key));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        // a graceful stop released the collection's writer (and its lock): another writer can open it now
        using var after = CollectionWriter.Open(CollectionStore.At(root, "c"));
        Assert.True(after.LastSeq >= 1);
    }

    [Fact]
    public Task A_message_over_MaxMessageBytes_is_invalid_argument_naming_the_size() =>
        WithServer(new ServiceSettings { MaxMessageBytes = 4096, MaxQueryChars = 100_000 }, async (client, auth) =>
        {
            var e = Assert.Throws<RpcException>(() => client.Search(new SearchRequest { Collection = "c", Query = new string('q', 6000), K = 1 }, auth));
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Contains("exceeds the limit of 4096 bytes", e.Status.Detail, StringComparison.Ordinal);
            Assert.Single(client.Search(new SearchRequest { Collection = "c", Query = "comet", K = 1 }, auth).Hits);
            await Task.CompletedTask;
        });

    [Fact]
    public Task Batches_over_MaxBatchDocuments_are_invalid_argument() =>
        WithServer(new ServiceSettings { MaxBatchDocuments = 2 }, async (client, auth) =>
        {
            var e = Assert.Throws<RpcException>(() => client.DeleteDocuments(new DeleteDocumentsRequest { Collection = "c", Ids = { "a", "b", "c" } }, auth));
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Contains("delete of 3 ids exceeds the batch limit of 2", e.Status.Detail, StringComparison.Ordinal);
            using var call = client.UpsertDocuments(auth);
            await call.RequestStream.WriteAsync(new UpsertRequest
            {
                Collection = "c",
                BatchNumber = 1,
                Documents = { new V1.Document { Id = "1", Text = "x" }, new V1.Document { Id = "2", Text = "x" }, new V1.Document { Id = "3", Text = "x" } },
            });
            var u = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.InvalidArgument, u.StatusCode);
            Assert.Contains("batch 1 of 3 documents exceeds the batch limit of 2", u.Status.Detail, StringComparison.Ordinal);
        });

    [Fact]
    public Task Calls_beyond_the_running_and_queued_limits_are_resource_exhausted() =>
        WithServer(new ServiceSettings { MaxConcurrentCalls = 1, MaxQueuedCalls = 0 }, async (client, auth) =>
        {
            // an open upsert stream holds the one slot until it ends
            using (var stream = client.UpsertDocuments(auth))
            {
                await stream.RequestStream.WriteAsync(new UpsertRequest { Collection = "c", BatchNumber = 1, Documents = { new V1.Document { Id = "s", Text = "slot holder" } } });
                Assert.True(await stream.ResponseStream.MoveNext());
                var e = Assert.Throws<RpcException>(() => client.Search(new SearchRequest { Collection = "c", Query = "comet", K = 1 }, auth));
                Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
                Assert.Contains("server busy", e.Status.Detail, StringComparison.Ordinal);
                await stream.RequestStream.CompleteAsync();
                Assert.False(await stream.ResponseStream.MoveNext());
            }
            // the slot is free again
            Assert.Single(client.Search(new SearchRequest { Collection = "c", Query = "comet", K = 1 }, auth).Hits);
        });

    [Fact]
    public Task A_deadline_that_passes_is_deadline_exceeded() =>
        WithServer(new ServiceSettings(), async (client, auth) =>
        {
            var e = Assert.Throws<RpcException>(() => client.Search(new SearchRequest { Collection = "c", Query = "comet", K = 1 }, auth, DateTime.UtcNow.AddMilliseconds(-1)));
            Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
            await Task.CompletedTask;
        });
}
