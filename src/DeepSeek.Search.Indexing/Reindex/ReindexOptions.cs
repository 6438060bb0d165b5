namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>Settings of a re-index run.</summary>
public sealed record ReindexOptions
{
    /// <summary>Documents (or ids) per acknowledged upsert or delete batch.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Registry entries of unchanged documents (adopted, moved to another source, touched) per registry transaction.</summary>
    public int RegistryBatchSize { get; init; } = 4096;

    /// <summary>How many ids of each class a report lists (a dry run shows them).</summary>
    public int SampleIds { get; init; } = 10;
}
