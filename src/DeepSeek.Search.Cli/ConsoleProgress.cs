using DeepSeek.Search.Core.Progress;
using Spectre.Console;

namespace DeepSeek.Search.Cli;

/// <summary>
/// The one progress renderer of every long verb (index: <c>BuildProgress</c>; train: <c>TrainStepProgress</c>, masked-LM steps,
/// dev evaluations, BM25 mining, checkpoints; train-lm: <c>LmStepProgress</c>, validations, checkpoints): live bars (one per counted
/// stage) on an interactive terminal, otherwise lines on stderr, so logs of `make run` and CI stay readable. What it shows follows
/// the event's type (<see cref="ProgressEvent"/>), never a verb: a <see cref="ProgressNote"/> is a line (in a log only, unless
/// <see cref="ProgressNote.Live"/>); a <see cref="ProgressCount"/> a bar, or in a log a line at its first report, every 10% of a
/// known total and each doubling of an unknown one; a <see cref="ProgressStep"/> a bar with its summary, or in a log its line.
/// Stages may interleave (a streaming build reads and encodes at once) and may report from several threads (reports are
/// serialised); a stage is finished when it reports its total, or when the work ends.
/// </summary>
static class ConsoleProgress
{
    public static T Run<T>(Func<IProgress<ProgressEvent>, T> work)
    {
        if (Console.IsErrorRedirected || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return work(new LineProgress());

        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                var result = work(new InlineProgress(e =>
                {
                    switch (e)
                    {
                        case ProgressStep { HasBar: false } s:
                            AnsiConsole.MarkupLine("[grey]" + Markup.Escape(s.Line) + "[/]");
                            break;
                        case ProgressCount c:
                            if (!bars.TryGetValue(c.Stage, out var bar))
                                bars[c.Stage] = bar = ctx.AddTask(Markup.Escape(c.Label), maxValue: Math.Max(1, c.Total));
                            if (c.Total > 0)
                            {
                                bar.IsIndeterminate = false;
                                bar.MaxValue = c.Total;
                                bar.Value = c.Done;
                                bar.Description = Markup.Escape(c is ProgressStep step ? step.Summary : c.Label);
                            }
                            else
                            {
                                bar.IsIndeterminate = true;
                                bar.Description = Markup.Escape($"{c.Label} {c.Done:N0}");
                            }
                            if (c is ProgressStep { Echo: true } echoed) AnsiConsole.MarkupLine("[grey]" + Markup.Escape(echoed.Line) + "[/]");
                            break;
                        case ProgressNote { Live: true } n:
                            AnsiConsole.MarkupLine("[grey]" + Markup.Escape(n.Message) + "[/]");
                            break;
                    }
                }));
                foreach (var t in bars.Values)
                {
                    t.IsIndeterminate = false;
                    t.Value = t.MaxValue;
                }
                return result;
            });
    }

    sealed class InlineProgress(Action<ProgressEvent> report) : IProgress<ProgressEvent>
    {
        readonly Lock _gate = new();

        public void Report(ProgressEvent value)
        {
            lock (_gate) report(value);
        }
    }

    sealed class LineProgress : IProgress<ProgressEvent>
    {
        // per counted stage: the last decile printed (known total), or the count last printed (unknown total)
        readonly Dictionary<string, (int Decile, long Done)> _printed = new();
        readonly Lock _gate = new();

        public void Report(ProgressEvent e)
        {
            lock (_gate) Write(e);
        }

        void Write(ProgressEvent e)
        {
            switch (e)
            {
                case ProgressStep s:
                    Console.Error.WriteLine("  " + s.Line);
                    break;
                case ProgressCount { Logged: true } p:
                    int decile = p.Total > 0 ? (int)(10 * p.Done / p.Total) : -1;
                    bool print = !_printed.TryGetValue(p.Stage, out var last)
                        || (p.Total > 0 ? decile > last.Decile : p.Done >= 2 * Math.Max(1, last.Done));
                    if (!print) return;
                    Console.Error.WriteLine(p.Total > 0 ? $"  {p.Stage,-7} {p.Done,9:N0} / {p.Total:N0}" : $"  {p.Stage,-7} {p.Done,9:N0}");
                    _printed[p.Stage] = (decile, p.Done);
                    break;
                case ProgressNote n:
                    Console.Error.WriteLine("  " + n.Message);
                    break;
            }
        }
    }
}
