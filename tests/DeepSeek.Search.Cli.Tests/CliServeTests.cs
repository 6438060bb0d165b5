using System.Diagnostics;
using DeepSeek.Search.Service.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss keys` and `dss serve` as a user runs them: a key printed once, a server process answering over gRPC, SIGTERM stopping it.</summary>
public class CliServeTests(CliFixture f) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Keys_then_serve_then_search_then_sigterm()
    {
        var keys = f.PathOf("serve-keys.json");
        Dss.Ok("index", "-c", "served", "--corpus", f.Corpus, "--encoder", "none", "--index-root", f.IndexRoot);
        var key = Dss.Ok("keys", "add", "--principal", "alice", "--right", "read", "--keys", keys).Stdout.Trim();
        Assert.StartsWith("dss_", key);
        var list = Dss.Ok("keys", "list", "--keys", keys).Stdout;
        Assert.Contains("principal alice", list);
        Assert.DoesNotContain(key[4..], list); // the secret is never shown again

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dss.dll"));
        foreach (var a in new[] { "serve", "--index-root", f.IndexRoot, "--port", "0", "--keys", keys }) psi.ArgumentList.Add(a);
        psi.Environment["DSS_HOME"] = Dss.Home;
        using var server = new Process { StartInfo = psi };
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var serving = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } l) return;
            output.Enqueue(l);
            if (l.StartsWith("dss: serving", StringComparison.Ordinal)) serving.TrySetResult(l.Split(" on ")[1].Split(' ')[0]);
        };
        server.ErrorDataReceived += (_, e) => { if (e.Data is { } l) output.Enqueue(l); };
        server.Start();
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var started = await Task.WhenAny(serving.Task, Task.Delay(TimeSpan.FromMinutes(2)));
            Assert.True(started == serving.Task, "dss serve printed no address:\n" + string.Join('\n', output));
            var address = await serving.Task;

            using var channel = GrpcChannel.ForAddress(address!);
            var client = new SearchService.SearchServiceClient(channel);
            var auth = new Metadata { { "authorization", "Bearer " + key } };
            var r = await client.SearchAsync(new SearchRequest { Collection = "served", Query = "insulin glucose", K = 3, Mode = SearchMode.Bm25 }, auth,
                deadline: DateTime.UtcNow.AddSeconds(60));
            Assert.Equal("d6", r.Hits[0].Id);
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.SearchAsync(new SearchRequest { Collection = "served", Query = "x", K = 3 },
                deadline: DateTime.UtcNow.AddSeconds(60)));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);

            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            Assert.True(server.WaitForExit(TimeSpan.FromSeconds(30)), "dss serve did not stop on SIGTERM");
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited) server.Kill();
        }
    }
}
