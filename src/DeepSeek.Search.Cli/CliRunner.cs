using System.CommandLine;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Cli;

/// <summary>
/// Runs the parsed command and turns every failure into one line on stderr and a non-zero exit:
/// 2 for bad input or damaged/mismatched indexes (what the user can fix), 1 for anything unexpected.
/// </summary>
static class CliRunner
{
    public const int ExitOk = 0, ExitUnexpected = 1, ExitBadInput = 2, ExitCancelled = 130;

    public static int Invoke(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("dss: cancelled");
            return ExitCancelled;
        }
        catch (SearchException e)
        {
            Console.Error.WriteLine($"dss: error: {OneLine(CliErrors.Describe(e))}");
            return ExitBadInput;
        }
        catch (Grpc.Core.RpcException e)
        {
            // A --server verb: the service's status and detail (its messages never echo a key), or that it cannot be reached.
            Console.Error.WriteLine(e.StatusCode == Grpc.Core.StatusCode.Unavailable
                ? $"dss: error: the server is unreachable (UNAVAILABLE: {OneLine(e.Status.Detail)})"
                : $"dss: error: the server answered {e.StatusCode}: {OneLine(e.Status.Detail)}");
            return ExitBadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dss: error: {OneLine(e.Message)}");
            return ExitBadInput;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"dss: unexpected error: {e.GetType().Name}: {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("DSS_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitUnexpected;
        }
    }

    static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
