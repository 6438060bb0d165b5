using System.Diagnostics;
using System.Text.Json;

namespace DeepSeek.Search.Benchmarks;

/// <summary>
/// A peer implementation run in a long-lived Python process (a script under bench/baselines/), asked one JSON line at a
/// time and answering one JSON line, so a suite can time it and ours alternately in the same run. The first line the
/// script prints describes it (versions, threads). Null from <see cref="TryStart"/> (with the reason) when python3 or the
/// script's imports are missing: the suite then reports our side alone and says so.
/// </summary>
public sealed class PythonPeer : IDisposable
{
    readonly Process _process;

    PythonPeer(Process process, JsonElement hello)
    {
        _process = process;
        Hello = hello;
    }

    /// <summary>
    /// $DSS_PYTHON, else Debian's /usr/bin/python3 (where `make setup` installs python3-faiss), else python3 on PATH: the
    /// same choice as the tests' PythonRunner.
    /// </summary>
    public static string Interpreter { get; } = Environment.GetEnvironmentVariable("DSS_PYTHON") is { Length: > 0 } p ? p
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>What the script printed first (e.g. {"faiss": "1.7.3", "threads": 2}).</summary>
    public JsonElement Hello { get; }

    public static PythonPeer? TryStart(string script, string arguments, out string why)
    {
        string? path = FindScript(script);
        if (path is null) { why = $"bench/baselines/{script} not found (run from the repository)"; return null; }
        var start = new ProcessStartInfo(Interpreter, $"-u \"{path}\" {arguments}")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        Process process;
        try { process = Process.Start(start)!; }
        catch (Exception e) { why = $"{Interpreter} could not start ({e.Message})"; return null; }
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        string? first = process.StandardOutput.ReadLine();
        if (first is null)
        {
            process.WaitForExit();
            lock (stderr) why = $"{script} exited at start: {stderr.ToString().Trim().Split('\n').LastOrDefault()}";
            return null;
        }
        why = "";
        return new PythonPeer(process, JsonDocument.Parse(first).RootElement.Clone());
    }

    /// <summary>Sends one command (serialized as JSON) and returns the reply; a reply with "error" throws.</summary>
    public JsonElement Ask(object command)
    {
        _process.StandardInput.WriteLine(JsonSerializer.Serialize(command));
        _process.StandardInput.Flush();
        string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the Python peer exited");
        var reply = JsonDocument.Parse(line).RootElement.Clone();
        if (reply.TryGetProperty("error", out var error)) throw new InvalidOperationException($"Python peer: {error.GetString()}");
        return reply;
    }

    public void Dispose()
    {
        try { _process.StandardInput.Close(); if (!_process.WaitForExit(10_000)) _process.Kill(); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    static string? FindScript(string script)
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "bench", "baselines", script);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }
}
