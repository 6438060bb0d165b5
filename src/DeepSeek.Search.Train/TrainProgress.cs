using System.Globalization;

namespace DeepSeek.Search.Train;

// The progress events of Trainer. Besides these, the run narrates with plain ProgressNotes (what it read, built, decided; "wrote OUT").

/// <summary>
/// A contrastive training step: step <paramref name="Done"/> of <paramref name="Total"/> in epoch <paramref name="Epoch"/>
/// (0-based), the loss averaged since the previous report, the learning rate, the temperature (null: triplet loss) and pairs/s.
/// </summary>
public sealed record TrainStepProgress(long Done, long Total, int Epoch, double Loss, double LearningRate, double? Temperature,
    double PairsPerSecond) : ProgressStep("train", Done, Total)
{
    public override string Line
    {
        get
        {
            var inv = CultureInfo.InvariantCulture;
            string temperature = Temperature is double t ? string.Create(inv, $" τ {t:F3}") : "";
            return string.Create(inv, $"step {Done}/{Total} epoch {Epoch + 1} loss {Loss:F4} lr {LearningRate:0.00e+0}{temperature} {PairsPerSecond:F1} pairs/s");
        }
    }

    public override string Summary => string.Create(CultureInfo.InvariantCulture, $"step {Done}/{Total} loss {Loss:F4} {PairsPerSecond:F0} pairs/s");
}

/// <summary>A masked-LM pretraining step: step <paramref name="Done"/> of <paramref name="Total"/>, loss, learning rate and sequences/s.</summary>
public sealed record MaskedLmStepProgress(long Done, long Total, int Epoch, double Loss, double LearningRate, double SequencesPerSecond)
    : ProgressStep("mlm", Done, Total)
{
    public override string Label => "masked LM";

    public override string Line => string.Create(CultureInfo.InvariantCulture,
        $"masked LM step {Done}/{Total} epoch {Epoch + 1} loss {Loss:F4} lr {LearningRate:0.00e+0} {SequencesPerSecond:F1} sequences/s");

    public override string Summary => string.Create(CultureInfo.InvariantCulture,
        $"masked LM step {Done}/{Total} loss {Loss:F4} {SequencesPerSecond:F0} seq/s");
}

/// <summary>
/// A dev evaluation at step <paramref name="Done"/>: its <paramref name="Scores"/>, the --init encoder's default search score when
/// the adaptation gate decides (<paramref name="DefaultSearch"/>), whether it is the best so far, else the best and its step, and
/// <paramref name="StoppedAfter"/> evaluations without improvement when it stops the run early. A line, no bar.
/// </summary>
public sealed record DevEvaluationProgress(long Done, long Total, int Epoch, DevScores Scores, double? DefaultSearch, bool Improved,
    double? Best, long BestStep, int? StoppedAfter) : ProgressStep("eval", Done, Total)
{
    public override bool HasBar => false;

    public override string Line =>
        $"dev nDCG@10 dense {Scores.DenseNdcg:F4}" + (Scores.HybridNdcg is double h ? $", hybrid {h:F4}" : "") +
        (DefaultSearch is double metric ? $", default search {metric:F4}" : "") +
        (Improved ? " (best)" : $" (best {Best:F4} at step {BestStep})") +
        (StoppedAfter is int patience ? $"; stopping early after {patience} evaluation(s) without improvement" : "");
}

/// <summary>A resumable checkpoint written after step <paramref name="Step"/> into <paramref name="Folder"/> (a log line only).</summary>
public sealed record TrainCheckpointProgress(long Step, long Total, int Epoch, string Folder) : ProgressNote($"checkpoint {Folder}")
{
    public override bool Live => false;
}

/// <summary>BM25 hard-negative candidates mined for <paramref name="Done"/> of <paramref name="Total"/> queries (a bar; a log shows <see cref="NegativesMinedProgress"/> at the end).</summary>
public sealed record NegativeMiningProgress(long Done, long Total) : ProgressCount("mine", Done, Total)
{
    public override bool Logged => false;
    public override string Label => "BM25 negatives";
}

/// <summary>The end of BM25 mining, for <paramref name="Queries"/> queries (a log line only; the bar shows it live).</summary>
public sealed record NegativesMinedProgress(long Queries) : ProgressNote($"mined BM25 candidates for {Queries:N0} queries")
{
    public override bool Live => false;
}

/// <summary>The start of re-mining the hard negatives of <paramref name="Queries"/> queries with the model, for epoch <paramref name="Epoch"/> on (restarts the mining bar).</summary>
public sealed record NegativeRefreshProgress(int Epoch, long Queries) : ProgressCount("mine", 0, Queries)
{
    public override bool Logged => false;
    public override string Label => "BM25 negatives";
}
