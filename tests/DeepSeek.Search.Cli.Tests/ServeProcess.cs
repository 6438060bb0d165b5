using System.Collections.Concurrent;
using System.Diagnostics;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss serve --port 0` as a child process (stdout and stderr drained), its address read from the "serving" line; killed on dispose.</summary>
public sealed class ServeProcess : IDisposable
{
    readonly Process _process;
    readonly ConcurrentQueue<string> _output = new();

    ServeProcess(Process process, string address) { _process = process; Address = address; }

    /// <summary>The address it listens on, e.g. http://127.0.0.1:41234.</summary>
    public string Address { get; }

    /// <summary>Starts `dss serve` over <paramref name="indexRoot"/> with <paramref name="keys"/> (and <paramref name="settings"/>, e.g.
    /// <c>--Service:ExperimentsFile=PATH</c>) and waits until it serves.</summary>
    public static async Task<ServeProcess> StartAsync(string indexRoot, string keys, params string[] settings)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dss.dll"));
        foreach (var a in new[] { "serve", "--index-root", indexRoot, "--port", "0", "--keys", keys }.Concat(settings)) psi.ArgumentList.Add(a);
        psi.Environment["DSS_HOME"] = Dss.Home;
        var process = new Process { StartInfo = psi };
        var output = new ConcurrentQueue<string>();
        var serving = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } l) return;
            output.Enqueue(l);
            if (l.StartsWith("dss: serving", StringComparison.Ordinal)) serving.TrySetResult(l.Split(" on ")[1].Split(' ')[0]);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) output.Enqueue(l); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = await Task.WhenAny(serving.Task, Task.Delay(TimeSpan.FromMinutes(2)));
        if (started != serving.Task)
        {
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException("dss serve printed no address:\n" + string.Join('\n', output));
        }
        var s = new ServeProcess(process, await serving.Task);
        foreach (var l in output) s._output.Enqueue(l);
        return s;
    }

    public void Dispose()
    {
        if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(); }
        _process.Dispose();
    }
}
