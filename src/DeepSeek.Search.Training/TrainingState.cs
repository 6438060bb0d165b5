using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Training;

/// <summary>
/// What every trainer's checkpoint <c>state.json</c> records about where the run stands; each trainer derives its own record with the
/// fields only it has (dss train's best dev score and temperature, dss train-lm's tokens seen). The shared fields keep their place in
/// the file: the position first, the trainer's own fields, then <see cref="TrainSeconds"/> (and anything a trainer orders after it).
/// </summary>
public abstract record TrainingState
{
    protected TrainingState(int format) => Format = format;

    [JsonPropertyOrder(-7)] public int Format { get; init; }

    /// <summary>Optimizer steps done.</summary>
    [JsonPropertyOrder(-6)] public long Step { get; init; }

    /// <summary>The epoch and the batch within it that come next.</summary>
    [JsonPropertyOrder(-5)] public int Epoch { get; init; }
    [JsonPropertyOrder(-4)] public int BatchInEpoch { get; init; }
    [JsonPropertyOrder(-3)] public long TotalSteps { get; init; }

    /// <summary>Hash of every setting and input that shapes the trajectory (<see cref="RunFingerprint"/>); resume requires the same.</summary>
    [JsonPropertyOrder(-2)] public string Fingerprint { get; init; } = "";
    [JsonPropertyOrder(-1)] public long Seed { get; init; }

    /// <summary>Seconds spent in training steps over every session of the run.</summary>
    [JsonPropertyOrder(1)] public double TrainSeconds { get; init; }

    /// <summary>
    /// Checks that the checkpoint in <paramref name="checkpointDir"/> can continue a run of <paramref name="fingerprint"/> planned for
    /// <paramref name="totalSteps"/> steps, and says what resuming it means. <paramref name="differs"/> lists, in the error, what other
    /// settings or data may have changed; <paramref name="stoppedEarly"/>: the run stopped early and is only finished.
    /// </summary>
    public void CheckResumable(string checkpointDir, string fingerprint, long totalSteps, bool extending, string differs, Action<string> say,
        bool stoppedEarly = false)
    {
        if (Fingerprint != fingerprint)
            throw new InvalidInputException($"cannot resume from {checkpointDir}: it was made with other settings or data ({differs})");
        if (stoppedEarly) say($"the run stopped early at step {Step}; finishing it");
        else if (Step >= totalSteps && extending)
            throw new InvalidInputException($"nothing left to train: the checkpoint is at step {Step} of {totalSteps}; raise --epochs or --max-steps to train further");
        else if (Step >= totalSteps) say($"the run reached step {Step} before it was interrupted; writing its output");
        if (TotalSteps != totalSteps)
            say($"note: the schedule now has {totalSteps} steps (the checkpoint's run planned {TotalSteps}); the learning rate follows the new length");
    }

    /// <summary>
    /// The JSON of state records and run summaries: indented, snake_case names and enums, nulls written;
    /// <paramref name="namedFloatingPointLiterals"/> writes NaN and ±Infinity as strings instead of failing.
    /// </summary>
    public static JsonSerializerOptions JsonOptions(bool namedFloatingPointLiterals = false)
    {
        var json = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        if (namedFloatingPointLiterals) json.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        return json;
    }

    /// <summary>A float's exact value as the hex of its 32 bits.</summary>
    public static string FloatBits(float value) => BitConverter.SingleToUInt32Bits(value).ToString("x8", CultureInfo.InvariantCulture);
    public static float FromBits(string hex) => BitConverter.UInt32BitsToSingle(uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
}

/// <summary>
/// Where a run stands while it trains: the step and data position (saved in <see cref="TrainingState"/>), the schedule's length, the
/// time spent, and the first and last training loss. Restored from a checkpoint in one call (<see cref="Restore"/>) and stamped into
/// the next one (<see cref="Stamp"/>).
/// </summary>
public sealed class RunPosition
{
    /// <summary>Optimizer steps done.</summary>
    public long Step { get; private set; }

    /// <summary>The epoch and the batch within it that come next.</summary>
    public int Epoch { get; private set; }
    public int BatchInEpoch { get; private set; }
    public int StepsPerEpoch { get; private set; }
    public long TotalSteps { get; private set; }

    /// <summary>Seconds of training steps over all sessions; of this session; and the items (pairs, tokens) this session trained on.</summary>
    public double TrainSeconds { get; private set; }
    public double SessionSeconds { get; private set; }
    public long SessionItems { get; private set; }

    /// <summary>The checkpoint step this session resumed from, if it did.</summary>
    public long? ResumedFrom { get; private set; }
    public double? FirstLoss { get; private set; }
    public double? LastLoss { get; private set; }

    /// <summary>Steps per epoch (one at least, when there are fewer examples than a batch) and the schedule's length.</summary>
    public static RunPosition Plan(int examples, int batchSize, long maxSteps, int epochs)
    {
        int perEpoch = examples >= batchSize ? examples / batchSize : 1;
        return new RunPosition { StepsPerEpoch = perEpoch, TotalSteps = maxSteps > 0 ? maxSteps : (long)epochs * perEpoch };
    }

    public bool Finished => Step >= TotalSteps;
    public bool AtLast => Step == TotalSteps;

    /// <summary>Items per second of this session's training steps (0 before any).</summary>
    public double SessionRate => SessionSeconds > 0 ? SessionItems / SessionSeconds : 0;

    /// <summary>Counts one finished step of <paramref name="seconds"/> over <paramref name="items"/>; returns whether it ended an epoch.</summary>
    public bool Advance(double seconds, long items, double loss)
    {
        Step++;
        TrainSeconds += seconds;
        SessionSeconds += seconds;
        SessionItems += items;
        FirstLoss ??= loss;
        LastLoss = loss;
        bool epochEnd = BatchInEpoch + 1 >= StepsPerEpoch;
        if (epochEnd) { Epoch++; BatchInEpoch = 0; }
        else BatchInEpoch++;
        return epochEnd;
    }

    /// <summary>Continues from a checkpoint's state; the first and last loss come from its curve's training rows.</summary>
    public void Restore(TrainingState state, IEnumerable<double?> curveLosses)
    {
        Step = state.Step;
        Epoch = state.Epoch;
        BatchInEpoch = state.BatchInEpoch;
        TrainSeconds = state.TrainSeconds;
        ResumedFrom = state.Step;
        var losses = curveLosses.Where(l => l is not null).ToList();
        if (losses.Count > 0) { FirstLoss = losses[0]; LastLoss = losses[^1]; }
    }

    /// <summary>The trainer's state record with the position, fingerprint and seed of the run filled in.</summary>
    public T Stamp<T>(T state, string fingerprint, long seed) where T : TrainingState => (T)((TrainingState)state with
    {
        Step = Step,
        Epoch = Epoch,
        BatchInEpoch = BatchInEpoch,
        TotalSteps = TotalSteps,
        Fingerprint = fingerprint,
        Seed = seed,
        TrainSeconds = TrainSeconds,
    });
}
