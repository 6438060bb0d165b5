using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Encode;

namespace DeepSeek.Search.Indexing;

/// <summary>How a collection is built. Without <see cref="EncoderPath"/> the collection is lexical only.</summary>
public sealed record BuildOptions
{
    /// <summary>A Hugging Face BERT folder (config.json + model.safetensors + vocab); copied into the snapshot.</summary>
    public string? EncoderPath { get; init; }
    /// <summary>Word-piece tokens per chunk; 0 = as many as the encoder's document length allows.</summary>
    public int ChunkTokens { get; init; }
    public int ChunkOverlap { get; init; } = 32;
    /// <summary>FAISS index factory string; always inner product.</summary>
    public string Factory { get; init; } = "IDMap2,Flat";
    public Bm25Options Bm25 { get; init; } = Bm25Options.Default;
    public int EncodeBatchSize { get; init; } = 64;
    /// <summary>
    /// Chunks encoded (and added to the FAISS index) at a time while the documents stream in: the build holds one slice's
    /// chunk texts and vectors, never the collection's. The encoder batches each slice by <see cref="EncodeBatchSize"/>,
    /// longest first, so the vectors do not depend on the slice size beyond float rounding of the padding.
    /// </summary>
    public int EncodeSliceChunks { get; init; } = 1024;
    /// <summary>
    /// For a FAISS factory that needs training (IVF, PQ, ...): the index is trained on the vectors of the first this many
    /// chunks (corpus order), which are held until then; later vectors are added as they are encoded. A collection with
    /// fewer chunks trains on all of them. 65,536 is FAISS's own cap for IVF256 (256 points per centroid).
    /// </summary>
    public int TrainingSampleVectors { get; init; } = DefaultTrainingSampleVectors;

    /// <summary>The default of <see cref="TrainingSampleVectors"/>.</summary>
    public const int DefaultTrainingSampleVectors = 65_536;
    /// <summary>"auto", "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>
    /// The encoder's precision for this build: float32, or <see cref="EncoderPrecision.Int8"/> (dynamic INT8 linear layers, CPU
    /// only: faster, the vectors within quantization error of the float ones; queries are still encoded in float32).
    /// </summary>
    public EncoderPrecision EncoderPrecision { get; init; } = EncoderPrecision.Float32;
    /// <summary>Where the documents came from (recorded in the manifest).</summary>
    public string? Source { get; init; }

    public void Validate()
    {
        if (ChunkTokens < 0) throw new InvalidInputException($"chunk tokens must be >= 0, got {ChunkTokens}");
        if (ChunkOverlap < 0) throw new InvalidInputException($"chunk overlap must be >= 0, got {ChunkOverlap}");
        if (ChunkTokens > 0 && ChunkOverlap >= ChunkTokens)
            throw new InvalidInputException($"chunk overlap ({ChunkOverlap}) must be smaller than chunk tokens ({ChunkTokens})");
        if (string.IsNullOrWhiteSpace(Factory)) throw new InvalidInputException("empty FAISS factory string");
        if (EncodeBatchSize < 1) throw new InvalidInputException($"batch size must be >= 1, got {EncodeBatchSize}");
        if (EncodeSliceChunks < 1) throw new InvalidInputException($"encode slice must be >= 1 chunk, got {EncodeSliceChunks}");
        if (TrainingSampleVectors < 1) throw new InvalidInputException($"training sample must be >= 1 vector, got {TrainingSampleVectors}");
        if (EncoderPath != null && !Directory.Exists(EncoderPath))
            throw new InvalidInputException($"encoder folder not found: {EncoderPath}");
        Bm25.Validate();
    }
}
