using System.Diagnostics;
using System.Text.Json;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>Runs the real `dss` program (built next to the tests) as a child process.</summary>
public static class Dss
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    /// <summary>The DSS_HOME of every `dss` these tests start (one per test run, removed when it ends).</summary>
    public static readonly string Home = CreateHome();

    static string CreateHome()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"dss-cli-tests-home-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    }

    public static Result Run(params string[] args) => Run(null, args);

    /// <summary>Runs with extra environment variables (e.g. DSS_HOME, so a test never touches the user's encoder cache).</summary>
    public static Result Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dss.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("DSS_INDEX_ROOT");
        // pretrained encoders pulled by the tests go to a cache of this test run, not the user's
        if (!psi.Environment.ContainsKey("DSS_HOME") || psi.Environment["DSS_HOME"] == Environment.GetEnvironmentVariable("DSS_HOME"))
            psi.Environment["DSS_HOME"] = Home;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("dss did not finish: " + string.Join(' ', args)); }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs and asserts success, returning the result.</summary>
    public static Result Ok(params string[] args) => Ok(null, args);

    public static Result Ok(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var r = Run(environment, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    /// <summary>Runs and asserts a one-line error naming <paramref name="expected"/> with exit code 2.</summary>
    public static Result Fails(string expected, params string[] args) => Fails(expected, null, args);

    public static Result Fails(string expected, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var r = Run(environment, args);
        Assert.True(r.ExitCode == 2, r.ToString());
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("dss: error:")).ToList();
        Assert.True(lines.Count == 1, "expected one 'dss: error:' line\n" + r);
        Assert.Contains(expected, lines[0], StringComparison.OrdinalIgnoreCase);
        return r;
    }
}
