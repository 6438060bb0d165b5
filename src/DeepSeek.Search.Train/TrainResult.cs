namespace DeepSeek.Search.Train;

/// <summary>What a finished run did; also written as <c>train.json</c> in the encoder folder.</summary>
public sealed record TrainResult
{
    public required string OutputPath { get; init; }

    /// <summary>questions+qrels, pairs, or self-supervised:MODE.</summary>
    public required string Supervision { get; init; }
    public int TrainingExamples { get; init; }
    public int TrainingQueries { get; init; }
    public int DevQueries { get; init; }
    public int DevDocuments { get; init; }

    /// <summary>Queries left out of training because evaluation qrels judge them.</summary>
    public int ExcludedQueries { get; init; }
    public IReadOnlyList<string> ExcludedQrels { get; init; } = [];

    public long Steps { get; init; }
    public long TotalSteps { get; init; }
    public int StepsPerEpoch { get; init; }
    public bool StoppedEarly { get; init; }
    public long? ResumedFromStep { get; init; }

    public double? FirstLoss { get; init; }
    public double? LastLoss { get; init; }
    public DevScores? InitialDev { get; init; }
    public DevScores? BestDev { get; init; }
    public long? BestStep { get; init; }

    /// <summary>Whether the saved weights are those of the best dev evaluation (else the last step's).</summary>
    public bool SavedBest { get; init; }

    /// <summary>Label-free adaptation of an --init encoder: true when the adaptation gate kept the --init weights (no evaluation beat
    /// them on the held-out pseudo-queries), false when the adapted weights replaced them; null otherwise.</summary>
    public bool? KeptInit { get; init; }

    /// <summary>Training throughput over the steps this process ran (evaluation and checkpoints excluded).</summary>
    public double PairsPerSecond { get; init; }
    public double TrainSeconds { get; init; }
    public double? FinalTemperature { get; init; }
    public string Device { get; init; } = "cpu";
    public string Precision { get; init; } = "fp32";
    public long Parameters { get; init; }
    public string Runtime { get; init; } = "";

    /// <summary>The masked-LM pretraining before contrastive training (<c>--mlm-epochs</c>); null without it.</summary>
    public Pretraining.MaskedLmSummary? Mlm { get; init; }
}
