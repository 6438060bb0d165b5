using System.Collections.Concurrent;
using System.Diagnostics;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.TestKit;
using Xunit.Abstractions;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// A client that is not .NET drives a real server: tests/interop/python/client_test.py (Debian's python3-grpcio and
/// python3-protobuf, stubs compiled at run time from the repository's protos/ by Debian's protoc) creates a dense
/// collection, upserts two batches on one stream, searches as alice and as bob, reads documents, filters, sends bad
/// input and drops the collection, checking health and reflection on the way. Missing Debian packages fail the test
/// with "run make setup".
/// </summary>
[Collection("generator")]
public sealed class InteropClientTests(ITestOutputHelper log)
{
    const string Python = "/usr/bin/python3";

    static string Script => Path.Combine(Repo.Root, "tests", "interop", "python", "client_test.py");

    [Fact]
    public async Task PythonClientPassesEveryCheck()
    {
        if (!File.Exists(Python)) Assert.Fail($"{Python} not found: run make setup");
        Assert.True(File.Exists(Script), $"interop client not found at {Script}");
        using var tmp = new TempDir("dss-interop");
        var root = tmp.File("indexes");
        Directory.CreateDirectory(root);
        var encoder = TinyEncoder.Copy(tmp);
        var keysFile = tmp.File("keys.json");
        var keys = ApiKeyFile.Load(keysFile);
        var admin = keys.Add("admin", [], AccessRight.Admin, []).Key;
        var alice = keys.Add("alice", [], AccessRight.Read, []).Key;
        var bob = keys.Add("bob", ["team-b"], AccessRight.Read, []).Key;

        var app = SearchServer.Build(new ServiceSettings { IndexRoot = root, Port = 0, KeysFile = keysFile, Generator = new GeneratorSettings { Model = TinyGenerator.Folder } });
        await app.StartAsync();
        try
        {
            var (exit, output) = await RunClient(SearchServer.Address(app), encoder, admin, alice, bob);
            log.WriteLine(output);
            if (output.Contains("run make setup", StringComparison.Ordinal))
                Assert.Fail("the Python interop client lacks its Debian packages: run make setup\n" + output);
            Assert.True(exit == 0, $"interop client exited {exit}:\n{output}");
            Assert.Contains("PASS all checks", output, StringComparison.Ordinal);
            foreach (var key in new[] { admin, alice, bob })
                Assert.DoesNotContain(key, output, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    static async Task<(int Exit, string Output)> RunClient(string address, string encoder, string admin, string alice, string bob)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Script, "--address", address, "--encoder", encoder, "--ask", "--protos", Path.Combine(Repo.Root, "protos") })
            psi.ArgumentList.Add(a);
        // Keys through the environment, not the command line.
        psi.Environment["DSS_ADMIN_KEY"] = admin;
        psi.Environment["DSS_ALICE_KEY"] = alice;
        psi.Environment["DSS_BOB_KEY"] = bob;
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        var lines = new ConcurrentQueue<string>();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue("stderr: " + e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            return (-1, "timed out after 3 minutes:\n" + string.Join('\n', lines));
        }
        p.WaitForExit(); // drain the output handlers
        return (p.ExitCode, string.Join('\n', lines));
    }
}
