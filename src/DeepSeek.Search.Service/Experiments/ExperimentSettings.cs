namespace DeepSeek.Search.Service.Experiments;

/// <summary>
/// One online experiment as configured (section <c>Service:Experiments</c>, an array, or the <c>Experiments</c> array of
/// <see cref="ServiceSettings.ExperimentsFile"/>): the searches of <see cref="Collection"/> that carry an experiment key are
/// split between <see cref="Arms"/> by a stable hash of <see cref="Salt"/> and the key. <see cref="Experiment.From"/>
/// checks it.
/// </summary>
public sealed record ExperimentSettings
{
    /// <summary>The experiment's name: reported in responses and metrics (letters, digits, <c>._-</c>).</summary>
    public string? Name { get; init; }
    /// <summary>The collection whose searches it splits.</summary>
    public string? Collection { get; init; }
    /// <summary>False: stopped — every caller gets the request as sent and no arm.</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>What the key is hashed with; null: the name. A new salt reshuffles the callers between the arms.</summary>
    public string? Salt { get; init; }
    /// <summary>The arms, at least two, with distinct names.</summary>
    public IReadOnlyList<ArmSettings>? Arms { get; init; }
}

/// <summary>
/// One arm: its share of the traffic and what it changes in a search. A setting left out keeps the caller's value; a setting
/// given replaces it. An arm that changes nothing is the control.
/// </summary>
public sealed record ArmSettings
{
    /// <summary>The arm's name: reported in responses and metrics (letters, digits, <c>._-</c>).</summary>
    public string? Name { get; init; }
    /// <summary>Its weight, &gt; 0; the shares of an experiment are normalised to sum to 1.</summary>
    public double? Share { get; init; }
    /// <summary>Another collection to search instead (e.g. the same documents indexed with another encoder); the caller needs read on it too.</summary>
    public string? Collection { get; init; }
    /// <summary><c>bm25</c>, <c>dense</c> or <c>hybrid</c>.</summary>
    public string? Mode { get; init; }
    /// <summary>Hybrid fusion: <c>rrf</c> or <c>minmax</c>.</summary>
    public string? Fusion { get; init; }
    /// <summary>The dense weight of min-max fusion, in [0, 1].</summary>
    public float? Alpha { get; init; }
    /// <summary>Re-ranking by the generator: on (with its depth, weight, model) or off.</summary>
    public ArmRerankSettings? Rerank { get; init; }
}

/// <summary>An arm's re-ranking.</summary>
public sealed record ArmRerankSettings
{
    /// <summary>False: no re-ranking, even when the caller asks for it; true: re-rank, with the settings below else the caller's else the defaults.</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>How many first-stage hits are re-scored, 1..1000.</summary>
    public int? Depth { get; init; }
    /// <summary>The re-ranker's share of the final score, [0, 1].</summary>
    public float? Weight { get; init; }
    /// <summary>A model folder to re-rank with instead of the collection's (a <c>dss train-reranker</c> folder, or a generator).</summary>
    public string? Model { get; init; }
}
