using System.Collections.Concurrent;
using DeepSeek.Search.Service.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// Upserts racing searches over gRPC: every batch rewrites every document of a collection of its own, moving each
/// document's ACL between alice and group team-b, while alice and bob search in every mode. Each response must be one
/// batch's state, whole: all hits at the version of the latest batch acknowledged at or before the response's seq, and
/// exactly the documents that batch gave the caller.
/// </summary>
[Collection("server")]
public sealed class UpsertRaceTests(ServerFixture f)
{
    const int Docs = 12;
    const string Name = "race";

    static V1.Document Doc(int i, int batch)
    {
        bool alices = (i + batch) % 2 == 0;
        var d = new V1.Document
        {
            Id = $"r{i}",
            Title = $"record {i}",
            Text = $"nebula survey record {i} written by batch {batch}",
            Metadata = new Struct { Fields = { ["batch"] = Value.ForNumber(batch), ["owner"] = Value.ForString(alices ? "alice" : "team-b") } },
            Acl = new V1.Acl(),
        };
        if (alices) d.Acl.Principals.Add("alice");
        else d.Acl.Groups.Add("team-b");
        return d;
    }

    [Fact]
    public async Task Searches_racing_upserts_see_whole_batches_and_only_their_own_documents()
    {
        var admin = ServerFixture.Bearer(f.AdminKey);
        f.Client.CreateCollection(new CreateCollectionRequest { Collection = Name, EncoderPath = f.Encoder, ChunkTokens = 16 }, admin);
        string aliceKey = Auth.ApiKeyFile.Load(f.KeysFile).Add("alice", [], Auth.AccessRight.Read, [Name]).Key;
        try
        {
            var seqOfBatch = new ConcurrentDictionary<long, int>(); // ack seq → batch number
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                using var call = f.Client.UpsertDocuments(ServerFixture.Bearer(f.WriterKey));
                for (int b = 1; b <= 40; b++)
                {
                    var req = new UpsertRequest { Collection = Name, BatchNumber = b };
                    for (int i = 0; i < Docs; i++) req.Documents.Add(Doc(i, b));
                    await call.RequestStream.WriteAsync(req);
                    Assert.True(await call.ResponseStream.MoveNext());
                    Assert.Equal(b, call.ResponseStream.Current.BatchNumber);
                    seqOfBatch[call.ResponseStream.Current.Seq] = b;
                }
                await call.RequestStream.CompleteAsync();
                Assert.False(await call.ResponseStream.MoveNext());
            });
            var seen = new ConcurrentBag<(string Caller, SearchResponse Response)>();
            var readers = new[] { ("alice", aliceKey), ("team-b", f.BobKey) }
                .SelectMany(c => new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid }.Select(m => (c.Item1, c.Item2, m)))
                .Select(r => Task.Run(() =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var resp = f.Client.Search(new SearchRequest { Collection = Name, Query = "nebula survey record", K = 100, Mode = r.m }, ServerFixture.Bearer(r.Item2));
                        if (resp.Hits.Count > 0) seen.Add((r.Item1, resp));
                    }
                })).ToList();
            await writer.WaitAsync(TimeSpan.FromMinutes(3));
            stop.Cancel();
            await Task.WhenAll(readers);

            Assert.True(seen.Count > 20, $"only {seen.Count} searches ran beside the writer");
            var ackSeqs = seqOfBatch.Keys.Order().ToArray();
            int moments = 0;
            foreach (var (caller, r) in seen)
            {
                long latest = ackSeqs.LastOrDefault(s => s <= r.Seq);
                if (latest == 0) continue; // before the first acknowledgement
                int batch = seqOfBatch[latest];
                moments++;
                var expected = Enumerable.Range(0, Docs).Where(i => ((i + batch) % 2 == 0) == (caller == "alice")).Select(i => $"r{i}").Order().ToList();
                Assert.Equal(expected, r.Hits.Select(h => h.Id).Order().ToList());
                foreach (var h in r.Hits)
                {
                    Assert.Equal(latest, h.Version);
                    Assert.Equal(batch, h.Metadata.Fields["batch"].NumberValue);
                    Assert.Equal(caller, h.Metadata.Fields["owner"].StringValue);
                }
            }
            Assert.True(moments > 10, $"{moments} searches fell after the first acknowledgement");
        }
        finally { f.Client.DropCollection(new DropCollectionRequest { Collection = Name }, admin); }
    }
}
