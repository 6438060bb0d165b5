using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// Builds one new generation of a collection from a document stream: document store, Lucene BM25 index, and,
/// with an encoder, chunk embeddings in a FAISS inner-product index. Everything is written inside the
/// generation's build folder and made visible by one atomic commit; any failure (bad input, cancellation,
/// a FAISS or encoder error) throws and leaves the previously committed generation serving.
/// </summary>
public static class CollectionBuilder
{
    public const string EncoderFolderName = "encoder";

    public static Generation Build(CollectionStore store, IEnumerable<Document> documents, BuildOptions options,
        IProgress<BuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        using var writer = store.BeginGeneration();

        var docs = new List<Document>();
        using (var ds = new DocumentStoreWriter(writer.DocumentStorePath))
        {
            foreach (var d in documents)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ds.Add(d);
                docs.Add(d);
                if (docs.Count % 1000 == 0) progress?.Report(new("read", docs.Count, 0));
            }
            if (docs.Count == 0) throw new InvalidInputException("the corpus holds no documents: nothing to index");
            progress?.Report(new("read", docs.Count, docs.Count));

            progress?.Report(new("bm25", 0, docs.Count));
            LexicalIndexWriter.Build(writer.LexicalPath, docs, options.Bm25);
            progress?.Report(new("bm25", docs.Count, docs.Count));

            Manifest.DenseSection? dense = null;
            long chunkCount = 0;
            if (options.EncoderPath != null)
                (dense, chunkCount) = BuildDense(writer, docs, ds, options, progress, cancellationToken);
            ds.Complete();

            var manifest = new Manifest
            {
                Collection = store.Name,
                Generation = writer.GenerationName,
                CreatedUtc = DateTime.UtcNow,
                Source = options.Source,
                Documents = docs.Count,
                Chunks = chunkCount,
                Lexical = new Manifest.LexicalSection(options.Bm25.Analyzer, options.Bm25.K1, options.Bm25.B,
                    options.Bm25.FieldMode.ToString().ToLowerInvariant()),
                Dense = dense,
            };
            cancellationToken.ThrowIfCancellationRequested();
            return writer.Commit(manifest);
        }
    }

    static (Manifest.DenseSection, long) BuildDense(GenerationWriter writer, List<Document> docs, DocumentStoreWriter ds,
        BuildOptions options, IProgress<BuildProgress>? progress, CancellationToken cancellationToken)
    {
        var encoderDir = Path.Combine(writer.Directory, EncoderFolderName);
        CopyFolder(options.EncoderPath!, encoderDir);
        using var encoder = TextEncoder.Load(encoderDir, new EncoderOptions { Device = options.Device, BatchSize = options.EncodeBatchSize });

        int window = options.ChunkTokens > 0 ? options.ChunkTokens : encoder.MaxDocumentLength - 2;
        if (window + 2 > encoder.MaxDocumentLength)
            throw new InvalidInputException($"chunk of {window} tokens does not fit the encoder's document length {encoder.MaxDocumentLength} (2 are taken by [CLS] and [SEP])");
        var chunker = new TextChunker(encoder.Tokenizer, new TextChunkerOptions { WindowTokens = window, OverlapTokens = Math.Min(options.ChunkOverlap, window - 1) });

        var chunks = new List<Chunk>();
        foreach (var d in docs)
        {
            foreach (var c in chunker.ChunkDocument(d, chunks.Count)) { chunks.Add(c); ds.Add(c); }
        }

        int dim = encoder.Dimension;
        var vectors = new float[(long)chunks.Count * dim];
        const int Slice = 1024;
        for (int start = 0; start < chunks.Count; start += Slice)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(Slice, chunks.Count - start);
            var texts = new string[n];
            for (int i = 0; i < n; i++) texts[i] = chunks[start + i].Text;
            var emb = encoder.EncodeDocuments(texts);
            for (int i = 0; i < n; i++)
            {
                if (emb[i].Length != dim) throw new IndexMismatchException($"encoder returned a {emb[i].Length}-d vector, expected {dim}");
                emb[i].CopyTo(vectors, (long)(start + i) * dim);
            }
            progress?.Report(new("encode", start + n, chunks.Count));
        }

        var ids = new long[chunks.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        using (var index = FaissIndex.Create(dim, options.Factory, FaissMetric.InnerProduct))
        {
            if (!index.IsTrained)
            {
                progress?.Report(new("train", 0, chunks.Count));
                index.Train(vectors);
            }
            index.Add(vectors, ids);
            index.Write(writer.DensePath);
        }
        progress?.Report(new("faiss", chunks.Count, chunks.Count));

        var section = new Manifest.DenseSection(
            EncoderPath: Path.GetFullPath(options.EncoderPath!), EncoderIdentity: encoder.Identity, Dimension: dim,
            Pooling: encoder.Pooling.ToString().ToLowerInvariant(), Normalize: encoder.Normalize,
            ChunkTokens: window, ChunkOverlap: chunker.Options.OverlapTokens, Factory: options.Factory, Metric: "inner_product",
            Vectors: chunks.Count);
        return (section, chunks.Count);
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, f);
            var dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }
    }
}
