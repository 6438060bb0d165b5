using DeepSeek.Search.Train.Data;

namespace DeepSeek.Search.Train;

/// <summary>
/// One training batch laid out for <see cref="Losses.IContrastiveLoss"/>: the queries; the documents (the B positives in row order, then
/// every row's hard negatives); and the [B, D] exclusion mask (document j is excluded for row i when j ≠ i and it is relevant to row i's
/// query — a duplicate of its positive or another of its positives).
/// </summary>
public sealed class ContrastiveBatch
{
    ContrastiveBatch(IReadOnlyList<string> queries, IReadOnlyList<string> documents, bool[] exclude)
    {
        Queries = queries;
        Documents = documents;
        Exclude = exclude;
    }

    public IReadOnlyList<string> Queries { get; }
    public IReadOnlyList<string> Documents { get; }

    /// <summary>Row-major [Queries.Count, Documents.Count].</summary>
    public bool[] Exclude { get; }

    public int ExcludedCount => Exclude.Count(x => x);

    public static ContrastiveBatch From(IReadOnlyList<TrainingExample> examples)
    {
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example", nameof(examples));
        var docs = new List<TrainingText>(examples.Count * 2);
        foreach (var e in examples) docs.Add(e.Positive);
        foreach (var e in examples) docs.AddRange(e.Negatives);
        int b = examples.Count, d = docs.Count;
        var exclude = new bool[b * d];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < d; j++)
                exclude[i * d + j] = j != i && examples[i].Relevant.Contains(docs[j].Key);
        return new ContrastiveBatch(examples.Select(e => e.Query).ToList(), docs.Select(x => x.Text).ToList(), exclude);
    }
}
