using System.Text.Json;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss loadtest` against a real `dss serve` child process: searches and upserts side by side, the report's figures and its refusals.</summary>
public class CliLoadtestTests(CliFixture f) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task A_short_load_test_with_upserts_reports_zero_errors_and_the_in_process_ratio_and_leaves_the_collection_as_it_was()
    {
        var keys = f.PathOf("loadtest-keys.json");
        Dss.Ok("index", "-c", "load", "--corpus", f.Corpus, "--encoder", "none", "--index-root", f.IndexRoot);
        var key = Dss.Ok("keys", "add", "--principal", "load", "--right", "write", "--keys", keys).Stdout.Trim();
        var queries = f.PathOf("load-queries.txt");
        File.WriteAllLines(queries, ["insulin glucose", "volcano lava", "p53 apoptosis"]);
        string before = Dss.Ok("info", "-c", "load", "--index-root", f.IndexRoot).Stdout;
        Assert.NotEqual("", System.Text.RegularExpressions.Regex.Match(before, @"documents\s+(\d+) live").Groups[1].Value);
        using var server = await ServeProcess.StartAsync(f.IndexRoot, keys);
        var outDir = f.PathOf("load-results");

        var r = Dss.Ok("loadtest", "--server", server.Address, "-c", "load", "--queries", queries, "--concurrency", "4", "--duration", "3",
            "--upsert-rate", "5", "--mode", "bm25", "--key", key, "--in-process", f.IndexRoot, "--out", outDir, "--name", "clitest");
        Assert.Contains("service QPS / in-process QPS", r.Stdout);
        Assert.DoesNotContain(key, r.Stdout + r.Stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "loadtest-clitest.json")));
        var service = report.RootElement.GetProperty("service");
        Assert.True(service.GetProperty("searches").GetInt32() > 10);
        Assert.Empty(service.GetProperty("errors").EnumerateObject());
        Assert.Equal(0, service.GetProperty("torn_reads").GetInt32());
        Assert.True(service.GetProperty("p99_ms").GetDouble() >= service.GetProperty("p50_ms").GetDouble());
        Assert.True(report.RootElement.GetProperty("upserts_acknowledged").GetInt32() > 0);
        Assert.True(report.RootElement.GetProperty("in_process").GetProperty("searches").GetInt32() > 10);
        Assert.True(report.RootElement.GetProperty("service_to_in_process_qps").GetDouble() > 0);
        Assert.True(File.Exists(Path.Combine(outDir, "loadtest-clitest.md")));

        // the copies it upserted are deleted again: same live document count as before
        static string Documents(string info) => System.Text.RegularExpressions.Regex.Match(info, @"documents\s+(\d+) live").Groups[1].Value;
        Assert.Equal(Documents(before), Documents(Dss.Ok("info", "-c", "load", "--index-root", f.IndexRoot).Stdout));
    }

    [Theory]
    [InlineData("http://10.1.2.3:50051", "--concurrency", "4", "must be a loopback address")]
    [InlineData("http://127.0.0.1:50051", "--concurrency", "5000", "--concurrency must be between 1 and 1024, got 5000")]
    [InlineData("http://127.0.0.1:50051", "--duration", "0", "--duration must be between 1 and 3600 seconds, got 0")]
    public void Out_of_bounds_load_tests_are_refused_naming_the_value(string server, string option, string value, string message)
    {
        var queries = f.PathOf("bounds-queries.txt");
        File.WriteAllLines(queries, ["x"]);
        var r = Dss.Run("loadtest", "--server", server, "-c", "load", "--queries", queries, option, value, "--key", "dss_whatever");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }
}
