using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Training;
using TorchSharp.Modules;

namespace DeepSeek.Search.Train;

/// <summary>Where a run stands, as a checkpoint's <c>state.json</c> records it.</summary>
public sealed record TrainState
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    /// <summary>Optimizer steps done.</summary>
    public long Step { get; init; }

    /// <summary>The epoch and the batch within it that come next.</summary>
    public int Epoch { get; init; }
    public int BatchInEpoch { get; init; }
    public long TotalSteps { get; init; }

    /// <summary>Hash of every setting that shapes the trajectory (model, data, loss, optimizer, seed); resume requires the same.</summary>
    public string Fingerprint { get; init; } = "";
    public long Seed { get; init; }

    /// <summary>The learnable log(1/τ) as the hex of its float32 bits (exact), or null with a fixed temperature.</summary>
    public string? LogitScaleBits { get; init; }

    public double? BestMetric { get; init; }
    public long BestStep { get; init; }
    public int EvalsSinceBest { get; init; }
    public bool StoppedEarly { get; init; }
    public long PairsSeen { get; init; }
    public double TrainSeconds { get; init; }

    /// <summary>The masked-LM pretraining that preceded the run's first step, if any.</summary>
    public Pretraining.MaskedLmSummary? Mlm { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string FloatBits(float value) => BitConverter.SingleToUInt32Bits(value).ToString("x8", CultureInfo.InvariantCulture);
    public static float FromBits(string hex) => BitConverter.UInt32BitsToSingle(uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
}

/// <summary>
/// Resumable checkpoints of a dual-encoder run (<see cref="Checkpoints"/>'s folders): the towers' weights (float32, Hugging Face layout: the root
/// for tied towers, <c>query/</c> and <c>document/</c> otherwise), <c>optimizer.bin</c> (TorchSharp's AdamW state: moments and step
/// counts), <c>state.json</c> (<see cref="TrainState"/>: step, data position, best dev score, learnable temperature) and the curve so far.
/// A checkpoint is written to a <c>.tmp</c> folder and renamed, so the newest complete one is always loadable.
/// </summary>
public static class TrainingCheckpoint
{
    public static string Save(string workDir, DualTowers towers, OptimizerHelper optimizer, TrainState state, TrainingCurve curve, int keep) =>
        Checkpoints.Save(workDir, state.Step, keep, tmp =>
        {
            SaveTowers(towers, tmp);
            optimizer.save_state_dict(Path.Combine(tmp, Checkpoints.OptimizerFile));
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
        Checkpoints.ReadState<TrainState>(checkpointDir, TrainState.Json, s => s.Format, TrainState.CurrentFormat);
}
