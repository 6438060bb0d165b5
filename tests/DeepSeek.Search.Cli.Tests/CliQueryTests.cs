namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss query --server` against a real `dss serve` child process: hits printed like `dss search`, errors as one line + exit 2.</summary>
public class CliQueryTests(CliFixture f) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Query_through_the_server_prints_the_same_ranking_as_search()
    {
        var keys = f.PathOf("query-keys.json");
        Dss.Ok("index", "-c", "remote", "--corpus", f.Corpus, "--encoder", "none", "--index-root", f.IndexRoot);
        var key = Dss.Ok("keys", "add", "--principal", "qa", "--right", "read", "--keys", keys).Stdout.Trim();
        using var server = await ServeProcess.StartAsync(f.IndexRoot, keys);

        var local = Dss.Ok("search", "-c", "remote", "-q", "insulin glucose", "--mode", "bm25", "-k", "3", "--index-root", f.IndexRoot).Stdout;
        var remote = Dss.Ok("query", "--server", server.Address, "-c", "remote", "-q", "insulin glucose", "--mode", "bm25", "-k", "3", "--key", key).Stdout;
        Assert.Contains("d6", remote);
        // "  1.    1.2345  d6  Title": the id is the third field
        static string[] Ranked(string output) => [.. output.Split('\n').Where(l => l.Length > 4 && char.IsDigit(l[2]) && l[3] == '.')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2])];
        var ids = Ranked(remote);
        Assert.Equal("d6", ids[0]);
        Assert.Equal(Ranked(local), ids);
        Assert.DoesNotContain(key, remote);

        var env = new Dictionary<string, string> { ["DSS_API_KEY"] = key };
        var json = Dss.Ok(env, "query", "--server", server.Address, "-c", "remote", "-q", "insulin glucose", "--mode", "bm25", "-k", "3", "--json").Stdout;
        Assert.Contains($"\"id\": \"{ids[0]}\"", json.Replace("\":\"", "\": \"", StringComparison.Ordinal));

        var writerKey = Dss.Ok("keys", "add", "--principal", "ingest", "--right", "write", "--keys", keys).Stdout.Trim();
        var input = f.PathOf("remote-upsert.jsonl");
        File.WriteAllText(input, """{"id":"n1","title":"Zeolite","text":"Zeolite catalysts crack hydrocarbons in refineries.","metadata":{"kind":"new"}}""" + "\n");
        var up = Dss.Ok("upsert", "--server", server.Address, "-c", "remote", "-i", input, "--key", writerKey).Stdout;
        Assert.Contains("acknowledged batch 1: seq", up);
        Assert.Contains("1 upserted", up);
        var seen = Dss.Ok("query", "--server", server.Address, "-c", "remote", "-q", "zeolite catalysts", "--mode", "bm25", "-k", "3",
            "--filter", "kind = \"new\"", "--key", key).Stdout;
        Assert.Equal(["n1"], Ranked(seen));
        var del = Dss.Ok("delete", "--server", server.Address, "-c", "remote", "--id", "n1", "--key", writerKey).Stdout;
        Assert.Contains("acknowledged batch: seq", del);
        Assert.Contains("1 deleted", del);
        Assert.Empty(Ranked(Dss.Ok("query", "--server", server.Address, "-c", "remote", "-q", "zeolite", "--mode", "bm25", "--key", key).Stdout));
        var again = Dss.Run("delete", "--server", server.Address, "-c", "remote", "--id", "n1", "--key", writerKey);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("InvalidArgument", again.Stderr);
        Assert.Contains("n1", again.Stderr);

        var denied = Dss.Run("query", "--server", server.Address, "-c", "remote", "-q", "insulin", "--key", "dss_not-a-real-key");
        Assert.Equal(2, denied.ExitCode);
        Assert.Contains("Unauthenticated", denied.Stderr);
        Assert.DoesNotContain("dss_not-a-real-key", denied.Stderr + denied.Stdout);
    }

    [Fact]
    public async Task Eval_through_the_server_reports_the_same_metrics_as_eval_in_process()
    {
        var keys = f.PathOf("eval-keys.json");
        Dss.Ok("index", "-c", "remote-eval", "--corpus", f.Corpus, "--encoder", "none", "--index-root", f.IndexRoot);
        var key = Dss.Ok("keys", "add", "--principal", "qa", "--right", "read", "--keys", keys).Stdout.Trim();
        using var server = await ServeProcess.StartAsync(f.IndexRoot, keys);
        string local = f.PathOf("eval-local.json"), remote = f.PathOf("eval-remote.json");
        Dss.Ok("eval", "-c", "remote-eval", "--queries", f.Queries, "--qrels", f.Qrels, "--mode", "bm25", "--json", local, "--index-root", f.IndexRoot);
        Dss.Ok("eval", "-c", "remote-eval", "--queries", f.Queries, "--qrels", f.Qrels, "--mode", "bm25", "--json", remote, "--server", server.Address, "--key", key);
        var a = System.Text.Json.JsonDocument.Parse(File.ReadAllText(local)).RootElement;
        var b = System.Text.Json.JsonDocument.Parse(File.ReadAllText(remote)).RootElement;
        Assert.True(a.GetProperty("ndcg").GetDouble() > 0, "the fixture's queries find their documents");
        foreach (var metric in new[] { "ndcg", "recall", "mrr" })
            Assert.Equal(a.GetProperty(metric).GetDouble(), b.GetProperty(metric).GetDouble(), 6);
        // the key decides who searches through a server: --principal there is refused, naming the option
        Dss.Fails("--principal / --groups with --server", "eval", "-c", "remote-eval", "--queries", f.Queries, "--qrels", f.Qrels,
            "--server", server.Address, "--key", key, "--principal", "bob");
    }

    [Fact]
    public async Task Query_with_an_experiment_key_prints_the_keys_arm_and_dss_outcome_reports_for_it()
    {
        var keys = f.PathOf("experiment-keys.json");
        Dss.Ok("index", "-c", "abq", "--corpus", f.Corpus, "--encoder", "none", "--index-root", f.IndexRoot);
        var key = Dss.Ok("keys", "add", "--principal", "qa", "--right", "read", "--keys", keys).Stdout.Trim();
        var experiments = f.PathOf("experiments.json");
        File.WriteAllText(experiments, """
            { "Experiments": [ { "Name": "cli-ab", "Collection": "abq",
                "Arms": [ { "Name": "control", "Share": 1 }, { "Name": "bm25", "Share": 1, "Mode": "bm25" } ] } ] }
            """);
        using var server = await ServeProcess.StartAsync(f.IndexRoot, keys, $"--Service:ExperimentsFile={experiments}");
        string[] Query(params string[] extra) => [.. new[] { "query", "--server", server.Address, "-c", "abq", "-q", "insulin glucose", "-k", "3", "--key", key }.Concat(extra)];

        var plain = Dss.Ok(Query()).Stdout;
        Assert.DoesNotContain("experiment", plain, StringComparison.Ordinal);
        var armOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var user in Enumerable.Range(0, 12).Select(i => $"user-{i}"))
        {
            var first = Dss.Ok(Query("--experiment-key", user)).Stdout;
            var m = System.Text.RegularExpressions.Regex.Match(first, "experiment 'cli-ab', arm '(?<arm>[a-z0-9]+)'");
            Assert.True(m.Success, first);
            armOf[user] = m.Groups["arm"].Value;
            Assert.Contains($"experiment 'cli-ab', arm '{armOf[user]}'", Dss.Ok(Query("--experiment-key", user)).Stdout, StringComparison.Ordinal);   // the same arm again
        }
        Assert.Equal(["bm25", "control"], armOf.Values.Distinct().Order(StringComparer.Ordinal));
        var json = Dss.Ok(Query("--experiment-key", "user-0", "--json")).Json;
        Assert.Equal(("cli-ab", armOf["user-0"]), (json.GetProperty("experiment").GetString(), json.GetProperty("arm").GetString()));

        var outcome = Dss.Ok("outcome", "--server", server.Address, "-c", "abq", "--experiment", "cli-ab", "--experiment-key", "user-0", "--key", key).Stdout;
        Assert.Contains($"outcome click counted for experiment 'cli-ab', arm '{armOf["user-0"]}'", outcome, StringComparison.Ordinal);
        var judged = Dss.Ok("outcome", "--server", server.Address, "-c", "abq", "--experiment", "cli-ab", "--arm", "bm25", "--kind", "judgment", "--value", "0.5", "--key", key).Stdout;
        Assert.Contains("outcome judgment counted for experiment 'cli-ab', arm 'bm25'", judged, StringComparison.Ordinal);

        var unknown = Dss.Run("outcome", "--server", server.Address, "-c", "abq", "--experiment", "nosuch", "--arm", "bm25", "--key", key);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'nosuch'", unknown.Stderr, StringComparison.Ordinal);
        var badKind = Dss.Run("outcome", "--server", server.Address, "-c", "abq", "--experiment", "cli-ab", "--arm", "bm25", "--kind", "view", "--key", key);
        Assert.Equal(2, badKind.ExitCode);
        Assert.Contains("--kind must be click or judgment, got 'view'", badKind.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_server_is_one_line_and_exit_2()
    {
        var r = Dss.Run("query", "--server", "http://127.0.0.1:9", "-c", "x", "-q", "anything", "--key", "dss_secret-value");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("the server is unreachable", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain("secret-value", r.Stderr + r.Stdout);
        var noKey = Dss.Run(new Dictionary<string, string> { ["DSS_API_KEY"] = "" }, "query", "--server", "http://127.0.0.1:9", "-c", "x", "-q", "anything");
        Assert.Equal(2, noKey.ExitCode);
        Assert.Contains("DSS_API_KEY", noKey.Stderr);
    }
}
