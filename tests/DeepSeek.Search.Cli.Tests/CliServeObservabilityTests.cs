using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DeepSeek.Search.Service.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss serve --metrics-port 0 --log-format json` as a child process: a scrape of /metrics and the JSON call log on stderr.</summary>
public class CliServeObservabilityTests(CliFixture f) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Serve_exposes_metrics_and_logs_one_json_line_per_call()
    {
        var keys = f.PathOf("obs-keys.json");
        Dss.Ok("index", "-c", "observed", "--corpus", f.Corpus, "--encoder", "none", "--index-root", f.IndexRoot);
        var key = Dss.Ok("keys", "add", "--principal", "alice", "--right", "read", "--keys", keys).Stdout.Trim();

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dss.dll"));
        foreach (var a in new[] { "serve", "--index-root", f.IndexRoot, "--port", "0", "--keys", keys, "--metrics-port", "0", "--log-format", "json" })
            psi.ArgumentList.Add(a);
        psi.Environment["DSS_HOME"] = Dss.Home;
        using var server = new Process { StartInfo = psi };
        var stdout = new ConcurrentQueue<string>();
        var stderr = new ConcurrentQueue<string>();
        var metrics = new TaskCompletionSource<(string Grpc, string Metrics)>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? grpcAddress = null;
        server.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } l) return;
            stdout.Enqueue(l);
            if (l.StartsWith("dss: serving", StringComparison.Ordinal)) grpcAddress = l.Split(" on ")[1].Split(' ')[0];
            if (l.StartsWith("dss: metrics on ", StringComparison.Ordinal)) metrics.TrySetResult((grpcAddress!, l["dss: metrics on ".Length..]));
        };
        server.ErrorDataReceived += (_, e) => { if (e.Data is { } l) stderr.Enqueue(l); };
        server.Start();
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var started = await Task.WhenAny(metrics.Task, Task.Delay(TimeSpan.FromMinutes(2)));
            Assert.True(started == metrics.Task, "dss serve printed no metrics address:\n" + string.Join('\n', stdout.Concat(stderr)));
            var (grpc, scrape) = await metrics.Task;

            using var channel = GrpcChannel.ForAddress(grpc);
            var client = new SearchService.SearchServiceClient(channel);
            var auth = new Metadata { { "authorization", "Bearer " + key } };
            await client.SearchAsync(new SearchRequest { Collection = "observed", Query = "insulin glucose", K = 3, Mode = SearchMode.Bm25 }, auth,
                deadline: DateTime.UtcNow.AddSeconds(60));
            var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.SearchAsync(
                new SearchRequest { Collection = "observed", Query = "insulin glucose", K = 3 }, deadline: DateTime.UtcNow.AddSeconds(60)));
            Assert.Equal(StatusCode.Unauthenticated, denied.StatusCode);

            using var http = new HttpClient();
            var text = await http.GetStringAsync(new Uri(scrape));
            Assert.Contains(text.Split('\n'), l => l.StartsWith("dss_rpc_requests_total{", StringComparison.Ordinal)
                && l.Contains("method=\"Search\"", StringComparison.Ordinal) && l.Contains("status=\"OK\"", StringComparison.Ordinal)
                && double.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture) == 1);
            Assert.Contains(text.Split('\n'), l => l.StartsWith("dss_collection_documents{", StringComparison.Ordinal) && l.Contains("collection=\"observed\"", StringComparison.Ordinal));

            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
            Assert.True(server.WaitForExit(TimeSpan.FromSeconds(30)), "dss serve did not stop on SIGTERM");
            server.WaitForExit(); // the redirected streams are drained

            var calls = stderr.Where(l => l.StartsWith('{'))
                .Select(l => JsonDocument.Parse(l).RootElement)
                .Where(j => j.GetProperty("Category").GetString() == "DeepSeek.Search.Service.Calls")
                .ToList();
            Assert.Equal(["OK", "Unauthenticated"], calls.Select(c => c.GetProperty("State").GetProperty("Status").GetString()));
            Assert.All(calls, c => Assert.Equal("Search", c.GetProperty("State").GetProperty("Method").GetString()));
            Assert.All(calls, c => Assert.Equal("observed", c.GetProperty("State").GetProperty("Collection").GetString()));
            Assert.All(calls, c => Assert.True(DateTime.TryParse(c.GetProperty("Timestamp").GetString(), CultureInfo.InvariantCulture, out _)));
            Assert.All(stdout.Concat(stderr), l => Assert.DoesNotContain(key, l, StringComparison.Ordinal));
            Assert.All(stdout.Concat(stderr), l => Assert.DoesNotContain("insulin", l, StringComparison.Ordinal));
        }
        finally
        {
            if (!server.HasExited) server.Kill();
        }
    }
}
