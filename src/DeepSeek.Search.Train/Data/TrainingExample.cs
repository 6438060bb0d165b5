namespace DeepSeek.Search.Train.Data;

/// <summary>A document-side text. <see cref="Id"/> is the corpus id, or null for free text (then the text itself identifies it).</summary>
public sealed record TrainingText(string? Id, string Text)
{
    /// <summary>What identifies the text when deciding whether it is a false negative for a query.</summary>
    public string Key => Id ?? "\u0001text:" + Text;
}

/// <summary>
/// One supervised pair as read from the data: a query, one positive, and explicit negatives (from a pairs file).
/// <see cref="QueryKey"/> groups the pairs of one query (its id, or its text).
/// </summary>
public sealed record PairSpec(string QueryKey, string Query, TrainingText Positive, IReadOnlyList<TrainingText> Negatives);

/// <summary>
/// One row of a training batch: the query, its positive, its hard negatives, and the keys of every document that is relevant to the
/// query (those are masked out wherever they appear as another row's candidate, so a known positive never counts as a negative).
/// </summary>
public sealed record TrainingExample(string Query, TrainingText Positive, IReadOnlyList<TrainingText> Negatives, IReadOnlySet<string> Relevant);
