using DeepSeek.Search.Train;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>What `dss train` and `dss train-lm` share around a run: Ctrl-C stops it after the current step, and says how to resume.</summary>
static class TrainingRuns
{
    /// <summary>
    /// Runs <paramref name="run"/> with a token that Ctrl-C cancels (the process is not killed: the trainer finishes its step and
    /// OUT.partial keeps the last checkpoint). When it was interrupted and <paramref name="resumable"/> finds state in the work folder,
    /// one line on stderr says so before the cancellation propagates.
    /// </summary>
    public static T Interruptible<T>(string outputPath, Func<string, bool> resumable, Func<CancellationToken, T> run)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return run(cts.Token);
        }
        catch (OperationCanceledException)
        {
            string work = RunFolders.Of(outputPath).Work;
            if (resumable(work))
                Console.Error.WriteLine($"dss: training interrupted; its last checkpoint is in {work}: run the same command with --resume to continue");
            throw;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    /// <summary>The lines every pairs fine-tune prints (dss train-reranker, dss train-reader): steps, loss, validation, throughput.</summary>
    public static void PrintPairsTraining(Generate.Training.LmTrainResult t, int seqLen, string modelPath, bool lora)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine($"trained    {t.Steps:N0} step(s) over {t.TrainBlocks:N0} pairs of at most {seqLen} tokens from {modelPath}{(lora ? " (LoRA)" : "")}");
        if (t.FirstLoss is double first && t.LastLoss is double last) Console.WriteLine(string.Create(inv, $"loss       {first:F4} → {last:F4}"));
        if (t.FinalValidationLoss is double fv) Console.WriteLine(string.Create(inv, $"validation {t.InitialValidationLoss:F4} → {fv:F4} ({t.ValidationBlocks:N0} held-out pairs)"));
        Console.WriteLine(string.Create(inv, $"throughput {t.TokensPerSecond:N0} tokens/s on {t.Device} ({t.Precision})"));
    }
}
