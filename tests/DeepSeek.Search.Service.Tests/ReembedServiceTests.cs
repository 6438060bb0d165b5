using DeepSeek.Search.Encode;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Document = DeepSeek.Search.Core.Document;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// <c>Service:Collections:NAME:Encoder</c> on a real server (Kestrel on 127.0.0.1): a collection whose vectors come from another
/// encoder is re-embedded in the background when the server starts; searches succeed throughout (the old snapshot serves until
/// the switch); afterwards GetCollection names the configured encoder and results equal a fresh build's with it; a restart
/// re-embeds nothing; a shutdown in the middle of a re-embed leaves the old snapshot, and the next start completes it.
/// </summary>
public class ReembedServiceTests(ITestOutputHelper output)
{
    static readonly string[] Words = "volcano lava magma ocean river protein cell market price court planet orbit comet bridge steel".Split(' ');

    static string Text(int i)
    {
        var rng = new Random(i * 7919 + 3);
        return $"topic{i % 7} " + string.Join(' ', Enumerable.Range(0, 6 + rng.Next(30)).Select(_ => Words[rng.Next(Words.Length)])) + $" n{i}";
    }

    /// <summary>The tiny encoder with CLS pooling instead of mean: the same 64 dimensions, other vectors, another identity.</summary>
    static string ClsEncoder(TempDir tmp, string tiny)
    {
        var dir = tmp.File("cls-encoder");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(tiny)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        (DualEncoderConfig.Load(tiny) with { Pooling = PoolingMode.Cls, Name = "tiny-cls" }).Save(dir);
        return dir;
    }

    [Fact]
    public async Task A_configured_encoder_change_re_embeds_in_the_background_while_searches_succeed_and_then_equals_a_fresh_build()
    {
        using var tmp = new TempDir("dss-reembed-service");
        var tiny = TinyEncoder.Copy(tmp);
        var cls = ClsEncoder(tmp, tiny);
        var root = tmp.File("indexes");
        var docs = Enumerable.Range(0, 1500).Select(i => new Document($"d{i}", "", Text(i))).ToList();
        var build = new BuildOptions { EncoderPath = tiny, ChunkTokens = 16, ChunkOverlap = 4 };
        var store = CollectionStore.At(root, "col");
        CollectionBuilder.Build(store, docs, build);
        CollectionBuilder.Build(CollectionStore.At(root, "fresh"), docs, build with { EncoderPath = cls });
        string before = store.OpenCurrent().Manifest.Dense!.EncoderIdentity;
        string wanted = CollectionStore.At(root, "fresh").OpenCurrent().Manifest.Dense!.EncoderIdentity;
        Assert.NotEqual(before, wanted);
        var keysFile = tmp.File("keys.json");
        string admin = ApiKeyFile.Load(keysFile).Add("admin", [], AccessRight.Admin, []).Key;
        var settings = new ServiceSettings
        {
            IndexRoot = root, Port = 0, KeysFile = keysFile,
            Collections = new Dictionary<string, CollectionSettings>(StringComparer.Ordinal) { ["col"] = new() { Encoder = cls } },
        };
        var auth = ServerFixture.Bearer(admin);

        // 1. Shut down while the re-embed runs: the old snapshot still serves and names the old encoder; no build folder is left
        //    once a writer opens the collection again.
        var first = SearchServer.Build(settings);
        var registry1 = first.Services.GetRequiredService<CollectionRegistry>();
        await first.StartAsync();
        while (registry1.RunningCompactions().Count == 0 && store.OpenCurrent().Manifest.Dense!.EncoderIdentity == before) await Task.Delay(1);
        await first.StopAsync();
        await first.DisposeAsync();
        string afterStop = store.OpenCurrent().Manifest.Dense!.EncoderIdentity;
        output.WriteLine($"after a shutdown during the re-embed the collection's encoder is {(afterStop == before ? "the old one (cancelled)" : "the new one (it had finished)")}");
        Assert.True(afterStop == before || afterStop == wanted);

        // 2. Start again: it re-embeds (or finds it done); searches succeed throughout.
        var app = SearchServer.Build(settings);
        var registry = app.Services.GetRequiredService<CollectionRegistry>();
        var done = new TaskCompletionSource<ReembedResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        registry.Reembedded += (_, e) => { if (e.Collection == "col") done.TrySetResult(e.Result); };
        await app.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(SearchServer.Address(app));
            var client = new SearchService.SearchServiceClient(channel);
            using var stop = new CancellationTokenSource();
            var searches = Task.Run(() =>
            {
                int n = 0;
                while (!stop.IsCancellationRequested)
                {
                    foreach (var mode in new[] { SearchMode.Dense, SearchMode.Hybrid })
                    {
                        var r = client.Search(new SearchRequest { Collection = "col", Query = "volcano lava", K = 10, Mode = mode }, auth);
                        Assert.Equal(10, r.Hits.Count);
                    }
                    n++;
                }
                return n;
            });
            if (afterStop == before)
            {
                var result = await done.Task.WaitAsync(TimeSpan.FromMinutes(3));
                Assert.True(result.Reembedded);
                Assert.Equal(before, result.PreviousEncoder);
                Assert.Equal(wanted, result.Encoder);
                Assert.Equal(docs.Count, result.Documents);
            }
            await Task.Delay(300);
            stop.Cancel();
            output.WriteLine($"{await searches} search rounds while the server re-embedded and after");
            Assert.True(await searches > 0);
            while (registry.RunningCompactions().Count > 0) await Task.Delay(10);

            var info = client.GetCollection(new GetCollectionRequest { Collection = "col" }, auth).Collection;
            Assert.Equal(wanted, info.Encoder);
            Assert.Equal(docs.Count, info.Documents);
            foreach (var q in new[] { "volcano lava", "market price court", "topic3 comet", "protein cell orbit" })
                foreach (var mode in new[] { SearchMode.Dense, SearchMode.Hybrid, SearchMode.Bm25 })
                {
                    var a = client.Search(new SearchRequest { Collection = "col", Query = q, K = 10, Mode = mode }, auth).Hits;
                    var b = client.Search(new SearchRequest { Collection = "fresh", Query = q, K = 10, Mode = mode }, auth).Hits;
                    Assert.Equal(b.Count, a.Count);
                    for (int i = 0; i < a.Count; i++)
                    {
                        Assert.True(Math.Abs(a[i].Score - b[i].Score) <= 1e-4f * Math.Max(1f, Math.Abs(b[i].Score)), $"{mode} '{q}' rank {i + 1}: {a[i].Id} {a[i].Score} vs {b[i].Id} {b[i].Score}");
                        bool tied = (i > 0 && Math.Abs(b[i].Score - b[i - 1].Score) <= 1e-4f * Math.Max(1f, Math.Abs(b[i].Score)))
                                    || (i + 1 < b.Count && Math.Abs(b[i].Score - b[i + 1].Score) <= 1e-4f * Math.Max(1f, Math.Abs(b[i].Score)));
                        if (!tied) Assert.Equal(b[i].Id, a[i].Id);
                    }
                }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Assert.Empty(Directory.EnumerateDirectories(store.Directory, ".building-*"));

        // 3. A restart with the collection already on the configured encoder re-embeds nothing.
        var again = SearchServer.Build(settings);
        var reembeds = 0;
        again.Services.GetRequiredService<CollectionRegistry>().Reembedded += (_, _) => Interlocked.Increment(ref reembeds);
        string snapshot = File.ReadAllText(Path.Combine(store.Directory, CollectionStore.CurrentFileName));
        await again.StartAsync();
        while (again.Services.GetRequiredService<CollectionRegistry>().RunningCompactions().Count > 0) await Task.Delay(10);
        await again.StopAsync();
        await again.DisposeAsync();
        Assert.Equal(0, reembeds);
        Assert.Equal(snapshot, File.ReadAllText(Path.Combine(store.Directory, CollectionStore.CurrentFileName)));
    }
}
