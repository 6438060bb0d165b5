using System.Diagnostics;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>A fact that runs only where <c>python3 -c "import faiss"</c> works; skipped (with the reason) elsewhere.</summary>
public sealed class PythonFaissFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Unavailable = new(Probe);

    public PythonFaissFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = reason;
    }

    static string? Probe()
    {
        try
        {
            var (exit, _, error) = PythonRunner.Run("import faiss, numpy", TimeSpan.FromSeconds(30));
            return exit == 0 ? null : "python3 cannot import faiss: " + error.Trim().Split('\n').Last();
        }
        catch (Exception e)
        {
            return "python3 not runnable: " + e.Message;
        }
    }
}

/// <summary>
/// Runs a python -c script and captures its output. The interpreter is $DSS_PYTHON, else Debian's /usr/bin/python3
/// (where `make setup` installs python3-faiss), else python3 on PATH.
/// </summary>
internal static class PythonRunner
{
    static string Interpreter =>
        Environment.GetEnvironmentVariable("DSS_PYTHON") is { Length: > 0 } p ? p
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    public static (int Exit, string Output, string Error) Run(string script, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("python3 did not finish in " + timeout);
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
