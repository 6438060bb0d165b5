using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Store;

/// <summary>
/// What one committed snapshot of a collection holds: written last, as manifest.json, so a snapshot
/// without one is incomplete by definition. Readers check <see cref="FormatVersion"/> and the encoder identity
/// against what they are about to use; a mismatch is an error, never a guess.
/// </summary>
public sealed record Manifest
{
    public const int CurrentFormatVersion = 2;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required string Collection { get; init; }
    /// <summary>The snapshot's folder name, <c>gen-ID</c> (the manifest field is <c>generation</c>).</summary>
    [JsonPropertyName("generation")]
    public required string Snapshot { get; init; }
    public required DateTime CreatedUtc { get; init; }
    public string? Source { get; init; }
    /// <summary>Documents and chunks when the snapshot was built; live batches change the counts after that (the store has them).</summary>
    public required long Documents { get; init; }
    public long Chunks { get; init; }
    /// <summary>The sequence number of the batch the snapshot was built at (a bulk build's own batch, or the state a compaction copied).</summary>
    public long BuiltAtSeq { get; init; }
    public LexicalSection? Lexical { get; init; }
    public DenseSection? Dense { get; init; }
    public Dictionary<string, long> FileSizes { get; init; } = new();

    public sealed record LexicalSection(string Analyzer, float K1, float B, string Fields);

    /// <summary>The dense side: which encoder made the vectors, how they were made (<paramref name="Precision"/>: null for
    /// float32, <c>int8</c> for the quantized encoder), and how they are indexed.</summary>
    public sealed record DenseSection(
        string EncoderPath, string EncoderIdentity, int Dimension, string Pooling, bool Normalize,
        int ChunkTokens, int ChunkOverlap, string Factory, string Metric, long Vectors, string? Precision = null);

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads and validates a manifest file; any defect is an <see cref="IndexCorruptException"/> naming the file.</summary>
    public static Manifest Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (FileNotFoundException) { throw new IndexCorruptException($"manifest missing: {path}"); }
        catch (IOException e) { throw new IndexCorruptException($"cannot read manifest {path}: {e.Message}", e); }
        Manifest? m;
        try { m = JsonSerializer.Deserialize<Manifest>(text, Json); }
        catch (JsonException e) { throw new IndexCorruptException($"corrupt manifest {path}: {e.Message}", e); }
        if (m is null) throw new IndexCorruptException($"corrupt manifest {path}: empty");
        if (m.FormatVersion != CurrentFormatVersion)
            throw new IndexMismatchException($"manifest {path} has format version {m.FormatVersion}; this build reads version {CurrentFormatVersion} (rebuild the collection with dss index)");
        if (m.Dense is { Dimension: <= 0 })
            throw new IndexCorruptException($"corrupt manifest {path}: dense dimension {m.Dense.Dimension}");
        return m;
    }
}
