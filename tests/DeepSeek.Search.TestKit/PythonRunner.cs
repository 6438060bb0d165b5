using System.Diagnostics;

namespace DeepSeek.Search.TestKit;

/// <summary>
/// Runs a python -c script and captures its output, for tests that check us against a Python reference (FAISS, SciPy). The
/// interpreter is $DSS_PYTHON, else Debian's /usr/bin/python3 (where `make setup` installs python3-faiss and python3-scipy), else
/// python3 on PATH.
/// </summary>
public static class PythonRunner
{
    public static string Interpreter =>
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

    /// <summary>
    /// Null when <c>import <paramref name="modules"/></c> works, else why not (the reason a fact attribute skips with, e.g.
    /// "python3 cannot import scipy: ModuleNotFoundError: ... (make setup installs it)").
    /// </summary>
    public static string? Missing(string modules)
    {
        try
        {
            var (exit, _, error) = Run("import " + modules, TimeSpan.FromSeconds(30));
            return exit == 0 ? null : $"{Interpreter} cannot import {modules}: {error.Trim().Split('\n').Last()} (make setup installs it)";
        }
        catch (Exception e)
        {
            return "python3 not runnable: " + e.Message;
        }
    }
}
