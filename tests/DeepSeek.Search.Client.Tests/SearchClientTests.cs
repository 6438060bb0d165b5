using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Service.V1;
using Grpc.Core;
using Struct = Google.Protobuf.WellKnownTypes.Struct;
using Value = Google.Protobuf.WellKnownTypes.Value;

namespace DeepSeek.Search.Client.Tests;

/// <summary>Every client method against a real server, the retry table on the wire, and filter conversion end to end.</summary>
public sealed class SearchClientTests(ClientServer server) : IClassFixture<ClientServer>
{
    static readonly string[] Everything = [.. ClientServer.Corpus().Select(d => d.Id)];

    static SearchRequest Query(string collection, int k = 100, Filter? filter = null, SearchMode mode = SearchMode.Bm25) =>
        new() { Collection = collection, Query = "volcano lava", K = k, Mode = mode, Filter = filter };

    [Fact]
    public async Task Search_and_batch_and_reads_round_trip()
    {
        using var client = server.Reader();
        var r = await client.SearchAsync(Query("docs", k: 5, mode: SearchMode.Hybrid), TimeSpan.FromSeconds(30));
        Assert.Equal(5, r.Hits.Count);
        Assert.Equal([1, 2, 3, 4, 5], r.Hits.Select(h => h.Rank));
        Assert.All(r.Hits, h => Assert.Contains(h.Id, Everything));
        Assert.True(r.Seq > 0);
        Assert.All(r.Hits, h => Assert.InRange(h.Version, 1, r.Seq));

        var batch = await client.SearchBatchAsync([Query("docs", k: 3), Query("plain", k: 3)]);
        Assert.Equal(2, batch.Results.Count);
        Assert.Equal(3, batch.Results[0].Hits.Count);
        Assert.Equal(["x1"], batch.Results[1].Hits.Select(h => h.Id));

        var doc = await client.GetDocumentAsync("docs", "d07");
        Assert.Equal("Volcano report 7", doc.Document.Title);
        Assert.Equal(2007, doc.Document.Metadata.Fields["year"].NumberValue);

        var info = await client.GetCollectionAsync("docs");
        Assert.True(info.HasDense);
        Assert.Equal(["docs", "plain"], (await client.ListCollectionsAsync()).Select(c => c.Name).Order());

        var missing = await Assert.ThrowsAsync<RpcException>(() => client.GetDocumentAsync("docs", "nope"));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Create_upsert_get_delete_drop_round_trip()
    {
        using var admin = server.Admin();
        using var writer = server.Writer();
        var created = await admin.CreateCollectionAsync(new CreateCollectionRequest { Collection = "scratch" });
        Assert.Equal("scratch", created.Name);
        Assert.False(created.HasDense);

        static Document Doc(string id, string text, int n)
        {
            var meta = new Struct();
            meta.Fields["n"] = Value.ForNumber(n);
            return new Document { Id = id, Title = id.ToUpperInvariant(), Text = text, Metadata = meta };
        }
        var acks = await writer.UpsertAsync("scratch",
            [[Doc("s1", "basalt columns by the sea", 1), Doc("s2", "obsidian glass", 2)], [Doc("s3", "pumice floats on water", 3)]]);
        Assert.Equal([1L, 2L], acks.Select(a => a.BatchNumber));
        Assert.Equal([2, 1], acks.Select(a => a.Upserted));
        Assert.True(acks[1].Seq > acks[0].Seq);

        var again = await writer.UpsertAsync("scratch", [[Doc("s3", "pumice floats on water", 3)]]);
        Assert.Equal(1, again.Single().Unchanged);

        using var reader = server.Reader();
        var hits = await reader.SearchAsync(new SearchRequest { Collection = "scratch", Query = "pumice", K = 10 });
        Assert.Equal(["s3"], hits.Hits.Select(h => h.Id));
        Assert.Equal("S1", (await reader.GetDocumentAsync("scratch", "s1")).Document.Title);

        var deleted = await writer.DeleteAsync("scratch", ["s1", "s2"]);
        Assert.Equal(2, deleted.Deleted);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => reader.GetDocumentAsync("scratch", "s1"))).StatusCode);

        var bad = await Assert.ThrowsAsync<RpcException>(() => writer.UpsertAsync("scratch", [[Doc("s4", "ok", 4)], [Doc("", "no id", 5)]]));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);

        await admin.DropCollectionAsync("scratch");
        Assert.DoesNotContain("scratch", (await reader.ListCollectionsAsync()).Select(c => c.Name));
    }

    [Fact]
    public async Task Unavailable_is_retried_for_searches_and_upserts()
    {
        using var client = server.Reader();
        int before = server.Calls("Search");
        server.FailNext("Search", 2);
        var r = await client.SearchAsync(Query("docs", k: 2));
        Assert.Equal(2, r.Hits.Count);
        Assert.Equal(before + 3, server.Calls("Search"));

        using var writer = server.Writer();
        before = server.Calls("UpsertDocuments");
        server.FailNext("UpsertDocuments", 1);
        var acks = await writer.UpsertAsync("plain", [[new Document { Id = "x1", Title = "Plain", Text = "A plain lexical volcano document." }]]);
        Assert.Equal(1, acks.Single().Unchanged);                   // the very document the plain collection was built with
        Assert.Equal(before + 2, server.Calls("UpsertDocuments"));
    }

    [Fact]
    public async Task Retries_stop_after_max_attempts()
    {
        using var client = server.Reader();
        int before = server.Calls("GetCollection");
        server.FailNext("GetCollection", SearchClient.MaxAttempts + 2);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.GetCollectionAsync("docs"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(before + SearchClient.MaxAttempts, server.Calls("GetCollection"));
        server.FailNext("GetCollection", 0);
    }

    [Fact]
    public async Task Deletes_and_invalid_arguments_are_not_retried()
    {
        using var writer = server.Writer();
        int before = server.Calls("DeleteDocuments");
        server.FailNext("DeleteDocuments", 1);
        var e = await Assert.ThrowsAsync<RpcException>(() => writer.DeleteAsync("docs", ["d00"]));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(before + 1, server.Calls("DeleteDocuments"));

        using var reader = server.Reader();
        before = server.Calls("Search");
        var bad = await Assert.ThrowsAsync<RpcException>(() => reader.SearchAsync(Query("docs", k: 0)));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("k", bad.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before + 1, server.Calls("Search"));
    }

    [Theory]
    [InlineData("year >= 2010")]
    [InlineData("year < 2005 OR year > 2020")]
    [InlineData("color = \"red\"")]
    [InlineData("color != \"red\"")]
    [InlineData("color IN (\"green\", \"blue\")")]
    [InlineData("color EXISTS")]
    [InlineData("NOT color EXISTS")]
    [InlineData("draft = true AND year <= 2015")]
    [InlineData("owner.team = \"t1\" OR owner.team = \"t2\"")]
    [InlineData("published >= 2024-05-01")]
    [InlineData("published < 2024-03-01T00:00:00Z AND NOT (draft = false)")]
    [InlineData("year IN (2001, 2003, 2022)")]
    public async Task A_converted_filter_selects_exactly_what_Core_matches(string text)
    {
        var expression = FilterExpression.Parse(text);
        var expected = ClientServer.Corpus().Where(d => expression.Matches(d.MetadataJson)).Select(d => d.Id).Order().ToList();
        Assert.NotEmpty(expected);
        Assert.True(expected.Count < Everything.Length, $"'{text}' matches every document: the case would prove nothing");

        using var client = server.Reader();
        foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense })
        {
            var r = await client.SearchAsync(Query("docs", filter: FilterMessages.From(expression), mode: mode));
            Assert.Equal(expected, r.Hits.Select(h => h.Id).Order().ToList());
        }
    }
}

/// <summary>The client's part in online experiments against a real server: an experiment key in, the arm out, outcomes reported.</summary>
public sealed class ExperimentClientTests(ClientServer server) : IClassFixture<ClientServer>
{
    /// <summary>The sum of the samples of <paramref name="name"/> on /metrics whose labels include every pair of <paramref name="labels"/>.</summary>
    async Task<double> Metric(string name, params (string Key, string Value)[] labels)
    {
        string text = await server.Metrics.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal)) continue;
            int close = line.LastIndexOf('}');
            string labelText = line[(name.Length + 1)..close];
            if (!labels.All(l => labelText.Contains($"{l.Key}=\"{l.Value}\"", StringComparison.Ordinal))) continue;
            sum += double.Parse(line[(close + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }

    [Fact]
    public async Task A_search_with_an_experiment_key_names_its_arm_and_ReportOutcomeAsync_counts_an_outcome_for_it_once()
    {
        using var client = server.Reader();
        var plain = await client.SearchAsync(new SearchRequest { Collection = "docs", Query = "volcano lava", K = 3 });
        Assert.Equal(("", ""), (plain.Experiment, plain.Arm));
        var arms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in Enumerable.Range(0, 20).Select(i => $"user-{i}"))
        {
            var r = await client.SearchAsync(new SearchRequest { Collection = "docs", Query = "volcano lava", K = 3, ExperimentKey = key }, TimeSpan.FromSeconds(30));
            Assert.Equal(ClientServer.ExperimentName, r.Experiment);
            Assert.Equal(r.Arm, (await client.SearchAsync(new SearchRequest { Collection = "docs", Query = "volcano lava", K = 3, ExperimentKey = key })).Arm);
            arms.Add(r.Arm);
        }
        Assert.Equal(["bm25", "hybrid"], arms.Order(StringComparer.Ordinal));

        var search = await client.SearchAsync(new SearchRequest { Collection = "docs", Query = "volcano lava", K = 3, ExperimentKey = "user-3" });
        (string, string)[] click = [("experiment", ClientServer.ExperimentName), ("arm", search.Arm), ("kind", "click")];
        double before = await Metric("dss_experiment_outcomes_total", click);
        var ack = await client.ReportOutcomeAsync("docs", search.Experiment, OutcomeKind.Click, experimentKey: "user-3", timeout: TimeSpan.FromSeconds(30));
        Assert.Equal((ClientServer.ExperimentName, search.Arm), (ack.Experiment, ack.Arm));
        Assert.Equal(before + 1, await Metric("dss_experiment_outcomes_total", click));

        // A judgment naming the arm, with a value: counted with it.
        (string, string)[] judged = [("experiment", ClientServer.ExperimentName), ("arm", search.Arm), ("kind", "judgment")];
        double sumBefore = await Metric("dss_experiment_outcome_value_sum", judged);
        await client.ReportOutcomeAsync("docs", search.Experiment, OutcomeKind.Judgment, arm: search.Arm, value: 0.25);
        Assert.Equal(sumBefore + 0.25, await Metric("dss_experiment_outcome_value_sum", judged), 9);

        // Never retried: an UNAVAILABLE answer reaches the caller after one call, and nothing more is counted.
        int calls = server.Calls("ReportOutcome");
        double clicks = await Metric("dss_experiment_outcomes_total", click);
        server.FailNext("ReportOutcome", 1);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ReportOutcomeAsync("docs", search.Experiment, OutcomeKind.Click, experimentKey: "user-3"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(calls + 1, server.Calls("ReportOutcome"));
        Assert.Equal(clicks, await Metric("dss_experiment_outcomes_total", click));

        // The server's refusals come through as they are.
        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.ReportOutcomeAsync("docs", "nosuch", OutcomeKind.Click, experimentKey: "user-3"));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("'nosuch'", unknown.Status.Detail, StringComparison.Ordinal);
    }
}
