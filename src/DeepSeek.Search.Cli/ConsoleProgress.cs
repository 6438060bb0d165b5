using DeepSeek.Search.Retrieve.Collections;
using Spectre.Console;

namespace DeepSeek.Search.Cli;

/// <summary>
/// Shows build progress: live bars (one per stage) on an interactive terminal, otherwise lines on stderr (a stage's first
/// report, every 10% of a known total, and each doubling of a count whose total is not known yet), so logs of `make run`
/// and CI stay readable. Stages may interleave (a streaming build reads and encodes at once); a stage is finished when it
/// reports its total, or when the work ends.
/// </summary>
static class ConsoleProgress
{
    public static T Run<T>(Func<IProgress<BuildProgress>, T> work)
    {
        if (Console.IsErrorRedirected || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return work(new LineProgress());

        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var result = work(new InlineProgress(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var t))
                        tasks[p.Stage] = t = ctx.AddTask(p.Stage, maxValue: Math.Max(1, p.Total));
                    if (p.Total > 0)
                    {
                        t.IsIndeterminate = false;
                        t.Description = p.Stage;
                        t.MaxValue = p.Total;
                        t.Value = p.Done;
                    }
                    else
                    {
                        t.IsIndeterminate = true;
                        t.Description = $"{p.Stage} {p.Done:N0}";
                    }
                }));
                foreach (var t in tasks.Values)
                {
                    t.IsIndeterminate = false;
                    t.Value = t.MaxValue;
                }
                return result;
            });
    }

    sealed class InlineProgress(Action<BuildProgress> report) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => report(value);
    }

    sealed class LineProgress : IProgress<BuildProgress>
    {
        // per stage: the last decile printed (known total), or the count last printed (unknown total)
        readonly Dictionary<string, (int Decile, long Done)> _printed = new();

        public void Report(BuildProgress p)
        {
            int decile = p.Total > 0 ? (int)(10 * p.Done / p.Total) : -1;
            bool print = !_printed.TryGetValue(p.Stage, out var last)
                || (p.Total > 0 ? decile > last.Decile : p.Done >= 2 * Math.Max(1, last.Done));
            if (!print) return;
            Console.Error.WriteLine(p.Total > 0 ? $"  {p.Stage,-7} {p.Done,9:N0} / {p.Total:N0}" : $"  {p.Stage,-7} {p.Done,9:N0}");
            _printed[p.Stage] = (decile, p.Done);
        }
    }
}
