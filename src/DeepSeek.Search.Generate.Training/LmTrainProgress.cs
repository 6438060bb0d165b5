using System.Globalization;

namespace DeepSeek.Search.Generate.Training;

// The progress events of LmTrainer. Besides these, the run narrates with plain ProgressNotes (what it read, built, decided; "wrote OUT").

/// <summary>
/// A training step: step <paramref name="Done"/> of <paramref name="Total"/>, with the cross-entropy averaged since the previous
/// report, the balance loss (null: off), learning rate, tokens/s and each MoE layer's expert load over those steps. A terminal
/// echoes its line every 100 steps and at the last.
/// </summary>
public sealed record LmStepProgress(long Done, long Total, double Loss, double? AuxLoss, double LearningRate, double TokensPerSecond,
    IReadOnlyList<ExpertLoad> Loads) : ProgressStep("train", Done, Total)
{
    public override string Line
    {
        get
        {
            var inv = CultureInfo.InvariantCulture;
            string aux = AuxLoss is double a ? string.Create(inv, $" aux {a:F5}") : "";
            return string.Create(inv, $"step {Done}/{Total} loss {Loss:F4}{aux} lr {LearningRate:0.00e+0} {TokensPerSecond:N0} tok/s") + LoadsText(Loads);
        }
    }

    public override string Summary => string.Create(CultureInfo.InvariantCulture, $"step {Done}/{Total} loss {Loss:F4} {TokensPerSecond:N0} tok/s");

    public override bool Echo => Done % 100 == 0 || Done == Total;

    /// <summary>One layer's load in words: <c>layer L: share min … max …, idle N</c>.</summary>
    public static string LoadText(ExpertLoad load)
    {
        ArgumentNullException.ThrowIfNull(load);
        return string.Create(CultureInfo.InvariantCulture, $"layer {load.Layer}: share min {load.MinShare:P1} max {load.MaxShare:P1}, idle {load.Idle}");
    }

    internal static string LoadsText(IReadOnlyList<ExpertLoad> loads) => loads.Count > 0 ? " | " + string.Join("; ", loads.Select(LoadText)) : "";
}

/// <summary>The validation loss at step <paramref name="Done"/> and the expert load of its routing pass. A line, no bar.</summary>
public sealed record LmValidationProgress(long Done, long Total, double Loss, IReadOnlyList<ExpertLoad> Loads) : ProgressStep("eval", Done, Total)
{
    public override bool HasBar => false;

    public override string Line => string.Create(CultureInfo.InvariantCulture, $"step {Done}: validation loss {Loss:F4}") + LmStepProgress.LoadsText(Loads);
}

/// <summary>A resumable checkpoint written after step <paramref name="Step"/> into <paramref name="Folder"/> (a log line only).</summary>
public sealed record LmCheckpointProgress(long Step, long Total, string Folder) : ProgressNote($"checkpoint {Folder}")
{
    public override bool Live => false;
}
