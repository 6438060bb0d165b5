namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>
/// What a re-index run did (or, for a dry run, would do). <see cref="Added"/>, <see cref="Changed"/> and
/// <see cref="Deleted"/> count the whole run, earlier attempts of a resumed run included; <see cref="Unchanged"/> counts the
/// documents of the sources that needed no write (not those an earlier attempt of the run already wrote). Rates and stage
/// times are this attempt's: documents read per second over the whole attempt, chunks embedded per second of embed+write.
/// </summary>
public sealed record ReindexReport
{
    public required string Collection { get; init; }
    public required string RunId { get; init; }
    public bool DryRun { get; init; }
    /// <summary>The run continued an unfinished earlier one (same run id).</summary>
    public bool Resumed { get; init; }
    public int Attempt { get; init; } = 1;
    public required IReadOnlyList<string> Sources { get; init; }
    public long Added { get; init; }
    public long Changed { get; init; }
    public long Unchanged { get; init; }
    public long Deleted { get; init; }
    /// <summary>Documents of this run's sources left alone because an earlier attempt of the run wrote them.</summary>
    public long AlreadyDone { get; init; }
    /// <summary>Live documents no source of this run claims (kept as they are).</summary>
    public long Unclaimed { get; init; }
    public long DocumentsRead { get; init; }
    /// <summary>Documents of the sources that belong to other shards (<see cref="ReindexOptions.Shard"/>), left to them.</summary>
    public long OtherShards { get; init; }
    /// <summary>Chunks embedded by the run (all attempts; 0 for a dry run or a BM25-only collection).</summary>
    public long ChunksEmbedded { get; init; }
    public long ChunksEmbeddedThisAttempt { get; init; }
    public double DocumentsPerSecond { get; init; }
    public double ChunksPerSecond { get; init; }
    public required ReindexTimings Seconds { get; init; }
    public long LastSeq { get; init; }
    /// <summary>The first ids of each class (up to <see cref="ReindexOptions.SampleIds"/>).</summary>
    public required ReindexSamples FirstIds { get; init; }
    /// <summary>The encoder change this run made (or, for a dry run, would make) before its diff; null when none was needed or asked for.</summary>
    public ReindexReembed? Reembed { get; init; }
}

/// <summary>
/// A re-embed before the diff (<see cref="ReindexOptions.Encoder"/>): the encoder identities before and after (a dry run names the
/// new encoder by its folder), the documents and chunks embedded again, its seconds; <see cref="DryRun"/>: not done, only planned.
/// </summary>
public sealed record ReindexReembed(bool DryRun, string? FromEncoder, string ToEncoder, long Documents, long Chunks, double Seconds, string? Snapshot);

/// <summary>Seconds per stage: reading and hashing the sources, the diff against the collection, embedding and writing, deleting.</summary>
public sealed record ReindexTimings(double ReadHash, double Diff, double EmbedWrite, double Delete, double Total);

/// <summary>The first ids of each class.</summary>
public sealed record ReindexSamples(IReadOnlyList<string> Added, IReadOnlyList<string> Changed, IReadOnlyList<string> Unchanged, IReadOnlyList<string> Deleted);
