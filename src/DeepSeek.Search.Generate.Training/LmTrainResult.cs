using System.Text.Json;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Generate.Training;

/// <summary>What a finished <c>dss train-lm</c> run did; also written as <c>train_lm.json</c> in the model folder.</summary>
public sealed record LmTrainResult
{
    public required string OutputPath { get; init; }
    public int Documents { get; init; }

    /// <summary>Tokens of the packed stream, training and validation blocks.</summary>
    public long Tokens { get; init; }
    public int TrainBlocks { get; init; }
    public int ValidationBlocks { get; init; }
    public int SeqLen { get; init; }
    public int VocabSize { get; init; }

    /// <summary>Whether the tokenizer was trained on the corpus (else it came from --tokenizer).</summary>
    public bool TrainedTokenizer { get; init; }

    public long Steps { get; init; }
    public long TotalSteps { get; init; }
    public int StepsPerEpoch { get; init; }
    public long? ResumedFromStep { get; init; }

    public double? FirstLoss { get; init; }
    public double? LastLoss { get; init; }
    public double? InitialValidationLoss { get; init; }
    public double? FinalValidationLoss { get; init; }

    /// <summary>Tokens per expert of each MoE layer in the routing pass over the validation blocks after the last step.</summary>
    public IReadOnlyList<ExpertLoad> FinalValidationLoads { get; init; } = [];

    /// <summary>Training throughput of the steps this process ran (evaluation and checkpoints excluded).</summary>
    public double TokensPerSecond { get; init; }
    public double TrainSeconds { get; init; }
    public string Device { get; init; } = "cpu";
    public string Precision { get; init; } = "fp32";
    public long Parameters { get; init; }
    public string Runtime { get; init; } = "";
}

/// <summary>
/// Where a language-model run stands, as a checkpoint's <c>state.json</c> records it: Training's <see cref="TrainingState"/> (step, data
/// position, fingerprint, seed, time) and the tokens trained on.
/// </summary>
public sealed record LmTrainState() : TrainingState(CurrentFormat)
{
    public const int CurrentFormat = 1;

    public long TokensSeen { get; init; }

    internal static readonly JsonSerializerOptions Json = JsonOptions(namedFloatingPointLiterals: true);
}
