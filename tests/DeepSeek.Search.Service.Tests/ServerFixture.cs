using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Acl = DeepSeek.Search.Core.Filtering.Acl;
using Document = DeepSeek.Search.Core.Document;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// A real server on 127.0.0.1 (ephemeral port) over a temp index root with two collections built by CollectionBuilder:
/// <c>docs</c> (dense, the tiny encoder; documents restricted to alice, to group team-b, and public ones) and
/// <c>plain</c> (BM25 only). Keys: alice (read docs), bob (group team-b, read *), writer (write *), admin (admin *),
/// plainOnly (read plain).
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public TempDir Tmp { get; } = new("dss-service");
    public string Root => Tmp.File("indexes");
    public string Encoder { get; private set; } = "";
    public WebApplication App { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    internal SearchService.SearchServiceClient Client { get; private set; } = null!;  // internal: the Service's generated types are (the Client package is their public home)
    public string Address { get; private set; } = "";
    public string AliceKey { get; private set; } = "";
    public string BobKey { get; private set; } = "";
    public string WriterKey { get; private set; } = "";
    public string AdminKey { get; private set; } = "";
    public string PlainOnlyKey { get; private set; } = "";
    public string KeysFile => Tmp.File("keys.json");

    public static readonly string[] AliceDocs = ["a1", "a2", "a3"];
    public static readonly string[] BobDocs = ["b1", "b2", "b3"];
    public static readonly string[] PublicDocs = ["p1", "p2"];

    public static IReadOnlyList<Document> Corpus() =>
    [
        new("a1", "Alice volcano", "Alice's notes on the volcano: lava flows and magma chambers.", """{"owner":"alice","year":2021}""", new Acl(["alice"], [])),
        new("a2", "Alice glaciers", "Alice writes about glaciers, ice and the volcano under them.", """{"owner":"alice","year":2022}""", new Acl(["alice"], [])),
        new("a3", "Alice secret", "Secret plans of alice: the volcano expedition budget.", """{"owner":"alice","year":2023}""", new Acl(["alice"], [])),
        new("b1", "Team B volcano", "Team B measured the volcano's lava temperature.", """{"owner":"bob","year":2021}""", new Acl([], ["team-b"])),
        new("b2", "Team B ocean", "Team B studies ocean currents near the volcano island.", """{"owner":"bob","year":2022}""", new Acl([], ["team-b"])),
        new("b3", "Bob secret", "Bob's secret volcano sensor network.", """{"owner":"bob","year":2024}""", new Acl(["bob"], [])),
        new("p1", "Public volcano", "Volcanoes erupt lava; a public overview for everyone.", """{"owner":"nobody","year":2020}"""),
        new("p2", "Public weather", "Weather near the volcano is windy and wet.", null),
    ];

    public async Task InitializeAsync()
    {
        Encoder = TinyEncoder.Copy(Tmp);
        CollectionBuilder.Build(CollectionStore.At(Root, "docs"), Corpus(), new BuildOptions { EncoderPath = Encoder, ChunkTokens = 16, ChunkOverlap = 4 });
        CollectionBuilder.Build(CollectionStore.At(Root, "plain"), [new Document("x1", "Plain", "A plain lexical volcano document.")], new BuildOptions());
        var keys = ApiKeyFile.Load(KeysFile);
        AliceKey = keys.Add("alice", [], AccessRight.Read, ["docs"]).Key;
        BobKey = keys.Add("bob", ["team-b"], AccessRight.Read, []).Key;
        WriterKey = keys.Add("writer", [], AccessRight.Write, []).Key;
        AdminKey = keys.Add("admin", [], AccessRight.Admin, []).Key;
        PlainOnlyKey = keys.Add("carol", [], AccessRight.Read, ["plain"]).Key;
        App = SearchServer.Build(new ServiceSettings { IndexRoot = Root, Port = 0, KeysFile = KeysFile, MaxK = 1000, MaxQueryChars = 8192 });
        await App.StartAsync();
        Address = SearchServer.Address(App);
        Channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { MaxSendMessageSize = 64 * 1024 * 1024 });
        Client = new SearchService.SearchServiceClient(Channel);
    }

    public static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Tmp.Dispose();
    }
}
