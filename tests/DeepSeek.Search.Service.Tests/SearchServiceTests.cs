using DeepSeek.Search.Service.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace DeepSeek.Search.Service.Tests;

/// <summary>Every RPC against a real Kestrel server, over Grpc.Net.Client, with API keys and document ACLs.</summary>
[Collection("server")]
public sealed class SearchServiceTests(ServerFixture f)
{
    static readonly SearchMode[] Modes = [SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid];

    SearchResponse Search(string key, string query, SearchMode mode = SearchMode.Unspecified, int k = 100, string collection = "docs", Filter? filter = null) =>
        f.Client.Search(new SearchRequest { Collection = collection, Query = query, K = k, Mode = mode, Filter = filter }, ServerFixture.Bearer(key));

    static RpcException Fails(Action call) => Assert.Throws<RpcException>(call);

    [Fact]
    public void Search_returns_hits_with_fields_seq_and_timings()
    {
        var r = Search(f.BobKey, "volcano lava", SearchMode.Bm25, k: 3);
        Assert.Equal(3, r.Hits.Count);
        Assert.True(r.Seq >= 1);
        Assert.True(r.Timings.TotalMs > 0);
        var top = r.Hits[0];
        Assert.False(string.IsNullOrEmpty(top.Title));
        Assert.False(string.IsNullOrEmpty(top.Snippet));
        Assert.Equal(1, top.Rank);
        Assert.True(top.Version >= 1);
        Assert.True(r.Hits[0].Score >= r.Hits[1].Score);
        var withMeta = r.Hits.First(h => h.Metadata != null);
        Assert.True(withMeta.Metadata.Fields.ContainsKey("owner"));
    }

    [Fact]
    public void Hybrid_hits_carry_score_parts_chunk_highlights_and_stage_timings()
    {
        var r = Search(f.BobKey, "volcano lava temperature", SearchMode.Hybrid, k: 5);
        Assert.NotEmpty(r.Hits);
        Assert.True(r.Timings.EncodeMs > 0 && r.Timings.Bm25Ms > 0 && r.Timings.DenseMs > 0 && r.Timings.FuseMs > 0 && r.Timings.FetchMs > 0, r.Timings.ToString());
        Assert.True(r.Timings.SearchMs >= r.Timings.EncodeMs + r.Timings.Bm25Ms + r.Timings.DenseMs);
        foreach (var h in r.Hits)
        {
            Assert.True(h.HasDenseScore, h.Id); // every document of the tiny collection is within the dense side's depth
            Assert.NotNull(h.Chunk);
            Assert.InRange(h.Chunk.Start, 0, h.Chunk.End);
            foreach (var span in h.Highlights)
                Assert.Contains(h.Snippet[span.Start..span.End].ToLowerInvariant(), new[] { "volcano", "volcano's", "volcanoes", "lava", "temperature" });
        }
        var b1 = r.Hits.Single(h => h.Id == "b1"); // "Team B measured the volcano's lava temperature."
        Assert.True(b1.HasBm25Score && b1.Bm25Score > 0);
        Assert.Equal(3, b1.Highlights.Count);

        var bm25 = Search(f.BobKey, "volcano lava temperature", SearchMode.Bm25, k: 5);
        Assert.All(bm25.Hits, h => { Assert.False(h.HasDenseScore); Assert.Equal(h.Score, h.Bm25Score); });
        Assert.Equal(0, bm25.Timings.EncodeMs);

        var bare = f.Client.Search(new SearchRequest { Collection = "docs", Query = "volcano", K = 2, SnippetChars = 0 }, ServerFixture.Bearer(f.BobKey));
        Assert.All(bare.Hits, h => { Assert.Equal("", h.Snippet); Assert.Empty(h.Highlights); });
        var e = Fails(() => f.Client.Search(new SearchRequest { Collection = "docs", Query = "volcano", K = 2, SnippetChars = 20_000 }, ServerFixture.Bearer(f.BobKey)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("snippet_chars", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("20000", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_principals_never_see_each_others_documents_in_any_mode()
    {
        foreach (var mode in Modes)
        {
            var alice = Search(f.AliceKey, "volcano secret lava", mode).Hits.Select(h => h.Id).ToList();
            var bob = Search(f.BobKey, "volcano secret lava", mode).Hits.Select(h => h.Id).ToList();
            Assert.Equal(ServerFixture.AliceDocs.Concat(ServerFixture.PublicDocs).Order(), alice.Order());
            Assert.Equal(ServerFixture.BobDocs.Concat(ServerFixture.PublicDocs).Order(), bob.Order());
        }
        // admin rights do not bypass document ACLs: admin is neither alice nor in team-b
        foreach (var mode in Modes)
            Assert.Equal(ServerFixture.PublicDocs.Order(), Search(f.AdminKey, "volcano secret lava", mode).Hits.Select(h => h.Id).Order());
    }

    [Fact]
    public void GetDocument_of_a_hidden_document_reads_exactly_like_an_unknown_one()
    {
        var own = f.Client.GetDocument(new GetDocumentRequest { Collection = "docs", Id = "a1" }, ServerFixture.Bearer(f.AliceKey));
        Assert.Equal("a1", own.Document.Id);
        Assert.Equal("alice", own.Document.Acl.Principals.Single());
        Assert.Equal("alice", own.Document.Metadata.Fields["owner"].StringValue);
        Assert.True(own.Version >= 1 && own.Seq >= own.Version);

        var hidden = Fails(() => f.Client.GetDocument(new GetDocumentRequest { Collection = "docs", Id = "b1" }, ServerFixture.Bearer(f.AliceKey)));
        var unknown = Fails(() => f.Client.GetDocument(new GetDocumentRequest { Collection = "docs", Id = "zz" }, ServerFixture.Bearer(f.AliceKey)));
        Assert.Equal(StatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("document 'b1' not found in collection 'docs'", hidden.Status.Detail);
        Assert.Equal(unknown.Status.Detail.Replace("'zz'", "'b1'", StringComparison.Ordinal), hidden.Status.Detail);
        // and the other way round
        var fromBob = Fails(() => f.Client.GetDocument(new GetDocumentRequest { Collection = "docs", Id = "a3" }, ServerFixture.Bearer(f.BobKey)));
        Assert.Equal("document 'a3' not found in collection 'docs'", fromBob.Status.Detail);
    }

    [Fact]
    public void Filters_are_translated_and_applied_before_ranking()
    {
        var filter = new Filter
        {
            And = new FilterList
            {
                Operands =
                {
                    new Filter { Compare = new FilterCompare { Field = new FieldPath { Keys = { "year" } }, Op = CompareOp.GreaterOrEqual, Value = new FilterValue { NumberValue = 2022 } } },
                    new Filter { Not = new Filter { In = new FilterIn { Field = new FieldPath { Keys = { "owner" } }, Values = { new FilterValue { StringValue = "bob" } } } } },
                },
            },
        };
        foreach (var mode in Modes)
        {
            var ids = Search(f.AliceKey, "volcano", mode, filter: filter).Hits.Select(h => h.Id).Order().ToList();
            Assert.Equal(["a2", "a3"], ids);
        }
        var exists = new Filter { Exists = new FilterExists { Field = new FieldPath { Keys = { "owner" } } } };
        Assert.DoesNotContain("p2", Search(f.BobKey, "volcano weather", SearchMode.Bm25, filter: exists).Hits.Select(h => h.Id));
    }

    [Fact]
    public void SearchBatch_answers_each_search_in_order()
    {
        var r = f.Client.SearchBatch(new SearchBatchRequest
        {
            Searches =
            {
                new SearchRequest { Collection = "docs", Query = "glaciers ice", K = 1, Mode = SearchMode.Bm25 },
                new SearchRequest { Collection = "docs", Query = "ocean currents", K = 1, Mode = SearchMode.Bm25 },
            },
        }, ServerFixture.Bearer(f.BobKey));
        Assert.Equal(2, r.Results.Count);
        Assert.DoesNotContain(r.Results[0].Hits, h => ServerFixture.AliceDocs.Contains(h.Id));
        Assert.Equal("b2", r.Results[1].Hits.Single().Id);
        Assert.True(r.Timings.TotalMs > 0);
    }

    [Fact]
    public void GetCollection_and_ListCollections_describe_what_the_key_may_read()
    {
        var docs = f.Client.GetCollection(new GetCollectionRequest { Collection = "docs" }, ServerFixture.Bearer(f.AdminKey)).Collection;
        Assert.Equal("docs", docs.Name);
        Assert.True(docs.HasDense);
        Assert.True(docs.Dimension > 0);
        Assert.True(docs.Documents >= 8);
        Assert.StartsWith("gen-", docs.Snapshot, StringComparison.Ordinal);
        // a reader is not told how many documents there are (it would count hidden ones)
        Assert.Equal(0, f.Client.GetCollection(new GetCollectionRequest { Collection = "docs" }, ServerFixture.Bearer(f.AliceKey)).Collection.Documents);

        var plain = f.Client.ListCollections(new ListCollectionsRequest(), ServerFixture.Bearer(f.PlainOnlyKey)).Collections.Select(c => c.Name).ToList();
        Assert.Equal(["plain"], plain);
        var all = f.Client.ListCollections(new ListCollectionsRequest(), ServerFixture.Bearer(f.BobKey)).Collections.Select(c => c.Name).ToList();
        Assert.Contains("docs", all);
        Assert.Contains("plain", all);
    }

    [Fact]
    public void Calls_without_a_valid_key_are_unauthenticated_and_never_echo_the_key()
    {
        var none = Fails(() => f.Client.Search(new SearchRequest { Collection = "docs", Query = "volcano", K = 1 }));
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        string wrongKey = "dss_" + new string('A', 43);
        var wrong = Fails(() => Search(wrongKey, "volcano"));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.DoesNotContain(wrongKey, wrong.Status.Detail, StringComparison.Ordinal);
        var viaHeader = Fails(() => f.Client.ListCollections(new ListCollectionsRequest(), new Metadata { { "x-api-key", "not-a-key" } }));
        Assert.Equal(StatusCode.Unauthenticated, viaHeader.StatusCode);
        Assert.DoesNotContain("not-a-key", viaHeader.Status.Detail, StringComparison.Ordinal);
        // x-api-key works as well as the bearer form
        Assert.NotEmpty(f.Client.ListCollections(new ListCollectionsRequest(), new Metadata { { "x-api-key", f.BobKey } }).Collections);
    }

    [Fact]
    public void Keys_lacking_the_right_are_permission_denied()
    {
        var readWrites = Fails(() => f.Client.DeleteDocuments(new DeleteDocumentsRequest { Collection = "docs", Ids = { "a1" } }, ServerFixture.Bearer(f.AliceKey)));
        Assert.Equal(StatusCode.PermissionDenied, readWrites.StatusCode);
        Assert.Contains("write", readWrites.Status.Detail, StringComparison.Ordinal);
        var otherCollection = Fails(() => Search(f.PlainOnlyKey, "volcano", SearchMode.Bm25));
        Assert.Equal(StatusCode.PermissionDenied, otherCollection.StatusCode);
        Assert.Contains("'docs'", otherCollection.Status.Detail, StringComparison.Ordinal);
        var writerCreates = Fails(() => f.Client.CreateCollection(new CreateCollectionRequest { Collection = "nope" }, ServerFixture.Bearer(f.WriterKey)));
        Assert.Equal(StatusCode.PermissionDenied, writerCreates.StatusCode);
        var upsert = f.Client.UpsertDocuments(ServerFixture.Bearer(f.BobKey));
        var streamed = Assert.ThrowsAsync<RpcException>(async () =>
        {
            await upsert.RequestStream.WriteAsync(new UpsertRequest { Collection = "docs", BatchNumber = 1, Documents = { new V1.Document { Id = "x", Text = "x" } } });
            await upsert.RequestStream.CompleteAsync();
            await upsert.ResponseStream.MoveNext();
        }).GetAwaiter().GetResult();
        Assert.Equal(StatusCode.PermissionDenied, streamed.StatusCode);
        // nothing was written
        Assert.Equal(StatusCode.NotFound, Fails(() => f.Client.GetDocument(new GetDocumentRequest { Collection = "docs", Id = "x" }, ServerFixture.Bearer(f.BobKey))).StatusCode);
    }

    public static TheoryData<string, string, int, StatusCode, string> BadInputs() => new()
    {
        { "docs", "", 10, StatusCode.InvalidArgument, "empty query" },
        { "docs", "   ", 10, StatusCode.InvalidArgument, "empty query" },
        { "docs", new string('q', 100_000), 10, StatusCode.InvalidArgument, "query of 100000 characters is longer than the limit of 8192" },
        { "docs", "volcano", 0, StatusCode.InvalidArgument, "k must be between 1 and 1000, got 0" },
        { "docs", "volcano", -1, StatusCode.InvalidArgument, "k must be between 1 and 1000, got -1" },
        { "docs", "volcano", 1_000_000, StatusCode.InvalidArgument, "k must be between 1 and 1000, got 1000000" },
        { "nosuch", "volcano", 10, StatusCode.NotFound, "unknown collection 'nosuch'" },
        { "bad/name", "volcano", 10, StatusCode.InvalidArgument, "invalid collection name 'bad/name'" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_inputs_get_their_status_naming_the_value_and_the_server_keeps_serving(string collection, string query, int k, StatusCode code, string message)
    {
        var e = Fails(() => Search(f.BobKey, query, SearchMode.Bm25, k, collection));
        Assert.Equal(code, e.StatusCode);
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(f.Root, e.Status.Detail, StringComparison.Ordinal); // no server paths over the wire
        Assert.NotEmpty(Search(f.BobKey, "volcano", SearchMode.Bm25, 3).Hits);
    }

    public static TheoryData<string, string> BadFilters() => new()
    {
        { """{ "compare": { "field": { "keys": ["year"] }, "op": "COMPARE_OP_LESS", "value": { "stringValue": "soon" } } }""", "operator '<' needs a number or a date, got the string \"soon\"" },
        { """{ "compare": { "field": { "keys": ["year"] }, "value": { "numberValue": 1 } } }""", "filter.compare.op: an operator is required" },
        { """{ "compare": { "field": { "keys": [] }, "op": "COMPARE_OP_EQUAL", "value": { "numberValue": 1 } } }""", "filter.compare.field: a field path needs at least one key" },
        { """{ "compare": { "field": { "keys": ["year"] }, "op": "COMPARE_OP_EQUAL" } }""", "filter.compare.value: a value is required" },
        { """{ "and": { "operands": [ { "exists": { "field": { "keys": ["a"] } } }, { } ] } }""", "filter.and[1]: an empty filter node" },
        { """{ "in": { "field": { "keys": ["owner"] } } }""", "filter.in.values: needs at least one value" },
        { """{ "or": { } }""", "filter.or: needs at least one operand" },
    };

    [Theory]
    [MemberData(nameof(BadFilters))]
    public void Malformed_filters_are_invalid_argument_naming_the_node(string filterJson, string message)
    {
        var filter = Google.Protobuf.JsonParser.Default.Parse<Filter>(filterJson);
        var e = Fails(() => Search(f.BobKey, "volcano", SearchMode.Bm25, filter: filter));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dense_search_of_a_bm25_collection_is_invalid_argument_from_the_engine()
    {
        var e = Fails(() => Search(f.BobKey, "volcano", SearchMode.Dense, collection: "plain"));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("has no dense index", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Health_reports_overall_and_per_collection_and_reflection_lists_the_service()
    {
        var health = new Health.HealthClient(f.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Check(new HealthCheckRequest { Service = "" }).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Check(new HealthCheckRequest { Service = SearchServer.HealthName("docs") }).Status);
        Assert.Equal("deepseek.search.v1.SearchService/plain", SearchServer.HealthName("plain"));
        Assert.Equal(StatusCode.NotFound, Fails(() => health.Check(new HealthCheckRequest { Service = SearchServer.HealthName("nosuch") })).StatusCode);

        var reflection = new ServerReflection.ServerReflectionClient(f.Channel);
        using var call = reflection.ServerReflectionInfo();
        call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }).GetAwaiter().GetResult();
        call.RequestStream.CompleteAsync().GetAwaiter().GetResult();
        Assert.True(call.ResponseStream.MoveNext().GetAwaiter().GetResult());
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("deepseek.search.v1.SearchService", names);
        Assert.Contains("grpc.health.v1.Health", names);
    }
}
