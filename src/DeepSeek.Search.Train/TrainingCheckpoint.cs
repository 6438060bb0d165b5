using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Training;
using TorchSharp.Modules;

namespace DeepSeek.Search.Train;

/// <summary>
/// Where a dual-encoder run stands, as a checkpoint's <c>state.json</c> records it: Training's <see cref="TrainingState"/> (step, data
/// position, fingerprint, seed, time) and what only this trainer has.
/// </summary>
public sealed record TrainState() : TrainingState(CurrentFormat)
{
    public const int CurrentFormat = 1;

    /// <summary>The learnable log(1/τ) as the hex of its float32 bits (exact), or null with a fixed temperature.</summary>
    public string? LogitScaleBits { get; init; }

    public double? BestMetric { get; init; }
    public long BestStep { get; init; }
    public int EvalsSinceBest { get; init; }
    public bool StoppedEarly { get; init; }
    public long PairsSeen { get; init; }

    /// <summary>The masked-LM pretraining that preceded the run's first step, if any.</summary>
    [JsonPropertyOrder(2)] public Pretraining.MaskedLmSummary? Mlm { get; init; }

    internal static readonly JsonSerializerOptions Json = JsonOptions();
}

/// <summary>
/// Resumable checkpoints of a dual-encoder run (<see cref="Checkpoints"/>'s folders): the towers' weights (float32, Hugging Face layout: the root
/// for tied towers, <c>query/</c> and <c>document/</c> otherwise), <c>optimizer.bin</c> (TorchSharp's AdamW state: moments and step
/// counts), <c>state.json</c> (<see cref="TrainState"/>: step, data position, best dev score, learnable temperature) and the curve so far.
/// A checkpoint is written to a hidden temporary folder and renamed (<see cref="Checkpoints.Save"/>), so the newest complete one is always loadable.
/// </summary>
public static class TrainingCheckpoint
{
    public static string Save(string workDir, DualTowers towers, OptimizerHelper optimizer, TrainState state, TrainingCurve curve, int keep) =>
        Checkpoints.Save(workDir, state.Step, keep, tmp =>
        {
            SaveTowers(towers, tmp);
            Checkpoints.SaveOptimizer(optimizer, tmp);
            Checkpoints.WriteState(tmp, state, TrainState.Json);
            curve.WriteCsv(Path.Combine(tmp, TrainingCurve.CsvFile));
        });

    /// <summary>Writes the towers' weights in the Hugging Face layout (root when tied, else query/ and document/).</summary>
    public static void SaveTowers(DualTowers towers, string dir)
    {
        if (towers.Tied) BertCheckpoint.Save(towers.Query, dir);
        else
        {
            BertCheckpoint.Save(towers.Query, Path.Combine(dir, "query"));
            BertCheckpoint.Save(towers.Document, Path.Combine(dir, "document"));
        }
    }

    /// <summary>Loads the towers' weights saved by <see cref="SaveTowers"/> (onto the CPU).</summary>
    public static (BertModel Query, BertModel? Document) LoadTowers(string dir, bool tied)
    {
        if (tied) return (BertCheckpoint.Load(dir), null);
        var q = BertCheckpoint.Load(Path.Combine(dir, "query"));
        try { return (q, BertCheckpoint.Load(Path.Combine(dir, "document"))); }
        catch { q.Dispose(); throw; }
    }

    public static TrainState ReadState(string checkpointDir) =>
        Checkpoints.ReadState<TrainState>(checkpointDir, TrainState.Json, TrainState.CurrentFormat);
}
