namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>Settings of a re-index run.</summary>
public sealed record ReindexOptions
{
    /// <summary>Documents (or ids) per acknowledged upsert or delete batch.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Registry entries of unchanged documents (adopted, moved to another source, touched) per registry transaction.</summary>
    public int RegistryBatchSize { get; init; } = 4096;

    /// <summary>
    /// The encoder the collection's vectors are to be made with (null: the collection's, nothing re-embedded). When the collection's
    /// vectors come from another encoder (or chunk window), the run first re-embeds the collection (<see cref="CollectionWriter.Reembed"/>:
    /// a new snapshot while the old one serves; cancelled or killed, the old one stays and the next run redoes it), then diffs and
    /// writes with the new encoder. A dry run only says it would.
    /// </summary>
    public ReembedOptions? Encoder { get; init; }

    /// <summary>How many ids of each class a report lists (a dry run shows them).</summary>
    public int SampleIds { get; init; } = 10;
}
