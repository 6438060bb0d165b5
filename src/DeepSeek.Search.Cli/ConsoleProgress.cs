using DeepSeek.Search.Retrieve.Collections;
using Spectre.Console;

namespace DeepSeek.Search.Cli;

/// <summary>
/// Shows build progress: live bars (one per stage) on an interactive terminal, otherwise one line per stage
/// change and every 10% on stderr, so logs of `make run` and CI stay readable.
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
                return work(new InlineProgress(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var t))
                    {
                        foreach (var other in tasks.Values) if (!other.IsFinished) other.Value = other.MaxValue;
                        tasks[p.Stage] = t = ctx.AddTask(p.Stage, maxValue: Math.Max(1, p.Total));
                    }
                    if (p.Total > 0) { t.MaxValue = p.Total; t.Value = p.Done; }
                    else t.IsIndeterminate = true;
                }));
            });
    }

    sealed class InlineProgress(Action<BuildProgress> report) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => report(value);
    }

    sealed class LineProgress : IProgress<BuildProgress>
    {
        string? _stage;
        int _lastDecile = -1;

        public void Report(BuildProgress p)
        {
            int decile = p.Total > 0 ? (int)(10 * p.Done / p.Total) : -1;
            if (p.Stage == _stage && decile == _lastDecile) return;
            if (p.Stage != _stage || decile > _lastDecile)
                Console.Error.WriteLine(p.Total > 0 ? $"  {p.Stage,-7} {p.Done,9:N0} / {p.Total:N0}" : $"  {p.Stage,-7} {p.Done,9:N0}");
            _stage = p.Stage;
            _lastDecile = decile;
        }
    }
}
