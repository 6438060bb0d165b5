using DeepSeek.Search.Core;

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

    /// <summary>
    /// The collection is shard <see cref="ShardOfCount.Index"/> of a collection split into <see cref="ShardOfCount.Count"/> (as
    /// <c>dss shard split</c> made it): of the sources' documents only those Core's <see cref="StableHash.ShardOf"/> assigns to this
    /// shard are its own; the rest are counted and left to their shards, and a live document that belongs to another shard is
    /// deleted here (its source is read whole by every shard). Null: the collection is not a shard.
    /// </summary>
    public ShardOfCount? Shard { get; init; }

    /// <summary>How many ids of each class a report lists (a dry run shows them).</summary>
    public int SampleIds { get; init; } = 10;
}

/// <summary>Shard <see cref="Index"/> (0-based) of <see cref="Count"/>; <see cref="Parse"/> reads "I/N".</summary>
public readonly record struct ShardOfCount(int Index, int Count)
{
    /// <summary>"I/N" with 0 ≤ I &lt; N ≤ <see cref="ShardSplitter.MaxShards"/>; anything else is an error naming the value.</summary>
    public static ShardOfCount Parse(string text)
    {
        var parts = (text ?? "").Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
            throw new InvalidInputException($"shard '{text}': expected I/N, e.g. 0/4 for the first of four shards") { Setting = "shard" };
        if (n < 1 || n > ShardSplitter.MaxShards || i >= n)
            throw new InvalidInputException($"shard '{text}': need 0 <= I < N <= {ShardSplitter.MaxShards}") { Setting = "shard" };
        return new ShardOfCount(i, n);
    }

    /// <summary>Whether the document <paramref name="id"/> is this shard's.</summary>
    public bool Owns(string id) => StableHash.ShardOf(id, Count) == Index;
}
