using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// What turns documents into chunks and chunk texts into vectors on the write side. The product's one implementation is
/// <see cref="DocumentEmbedder"/>; benchmarks substitute random vectors to measure a build without the encoder's cost.
/// </summary>
interface IChunkEmbedder : IDisposable
{
    int Dimension { get; }
    int Window { get; }
    int Overlap { get; }
    string Identity { get; }
    string Pooling { get; }
    bool Normalize { get; }
    EncoderPrecision Precision { get; }
    IReadOnlyList<Chunk> Chunk(Document document, long firstChunkId);
    float[] Encode(IReadOnlyList<string> texts);
}

/// <summary>
/// Chunks documents and embeds chunk texts with a collection's encoder: the one place the write side turns text into
/// vectors (bulk builds, live upserts). The chunk window and overlap are fixed per collection (the manifest records them).
/// </summary>
sealed class DocumentEmbedder : IChunkEmbedder
{
    readonly TextChunker _chunker;

    DocumentEmbedder(TextEncoder encoder, TextChunker chunker, int window)
    {
        Encoder = encoder;
        _chunker = chunker;
        Window = window;
    }

    public TextEncoder Encoder { get; }
    public int Window { get; }
    public int Overlap => _chunker.Options.OverlapTokens;
    public int Dimension => Encoder.Dimension;
    public string Identity => Encoder.Identity;
    public string Pooling => Encoder.Pooling.ToString().ToLowerInvariant();
    public bool Normalize => Encoder.Normalize;
    public EncoderPrecision Precision => Encoder.Precision;

    /// <summary>
    /// Loads the encoder folder <paramref name="encoderDirectory"/>; <paramref name="chunkTokens"/> 0 = as many word pieces
    /// as the encoder's document length allows. A window that does not fit the encoder is an <see cref="InvalidInputException"/>.
    /// </summary>
    /// <summary>
    /// The <see cref="Identity"/>, <see cref="Window"/> and <see cref="Overlap"/> that <see cref="Load"/> would give, from the
    /// folder's files (<see cref="TextEncoder.Describe"/>) without loading the model.
    /// </summary>
    public static (string Identity, int Window, int Overlap) Describe(string encoderDirectory, int chunkTokens, int chunkOverlap)
    {
        var (identity, maxDocumentLength) = TextEncoder.Describe(encoderDirectory);
        int window = WindowFor(chunkTokens, maxDocumentLength);
        return (identity, window, OverlapFor(chunkOverlap, window));
    }

    static int WindowFor(int chunkTokens, int maxDocumentLength)
    {
        int window = chunkTokens > 0 ? chunkTokens : maxDocumentLength - 2;
        if (window + 2 > maxDocumentLength)
            throw new InvalidInputException($"chunk of {window} tokens does not fit the encoder's document length {maxDocumentLength} (2 are taken by [CLS] and [SEP])");
        return window;
    }

    static int OverlapFor(int chunkOverlap, int window) => Math.Min(chunkOverlap, window - 1);

    public static DocumentEmbedder Load(string encoderDirectory, int chunkTokens, int chunkOverlap, string device, int batchSize,
        EncoderPrecision precision = EncoderPrecision.Float32)
    {
        var encoder = TextEncoder.Load(encoderDirectory, new EncoderOptions { Device = device, BatchSize = batchSize, Precision = precision });
        try
        {
            int window = WindowFor(chunkTokens, encoder.MaxDocumentLength);
            var chunker = new TextChunker(encoder.Tokenizer, new TextChunkerOptions { WindowTokens = window, OverlapTokens = OverlapFor(chunkOverlap, window) });
            return new DocumentEmbedder(encoder, chunker, window);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>The document's chunks, numbered from <paramref name="firstChunkId"/>.</summary>
    public IReadOnlyList<Chunk> Chunk(Document document, long firstChunkId) => _chunker.ChunkDocument(document, firstChunkId).ToList();

    /// <summary>Embeds <paramref name="texts"/> (document tower) into one row-major array of texts.Count × Dimension floats.</summary>
    public float[] Encode(IReadOnlyList<string> texts)
    {
        var rows = new float[(long)texts.Count * Dimension];
        if (texts.Count == 0) return rows;
        var emb = Encoder.EncodeDocuments(texts);
        for (int i = 0; i < emb.Length; i++)
        {
            if (emb[i].Length != Dimension) throw new IndexMismatchException($"encoder returned a {emb[i].Length}-d vector, expected {Dimension}");
            emb[i].CopyTo(rows, (long)i * Dimension);
        }
        return rows;
    }

    public void Dispose() => Encoder.Dispose();
}
