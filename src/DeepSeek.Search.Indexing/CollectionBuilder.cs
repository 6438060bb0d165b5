using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// Builds one new snapshot of a collection from a document stream: document store, Lucene BM25 index, and,
/// with an encoder, chunk embeddings in a FAISS inner-product index. The stream is read once and nothing is held per
/// document: each document goes to the store, the Lucene writer and the chunker as it is read, and chunks are encoded
/// and indexed a slice at a time (<see cref="DenseIndexBuilder"/>), so memory does not grow with the collection.
/// Everything is written inside the snapshot's build folder and made visible by one atomic commit; any failure (bad
/// input, cancellation, a FAISS or encoder error) throws and leaves the previously committed snapshot serving.
/// <para>
/// Progress stages: <c>read</c> (documents; total 0 until the stream ends), <c>encode</c> (chunks, likewise),
/// <c>bm25</c> (the Lucene commit), <c>train</c> (only for a factory that needs it), <c>faiss</c> (the index written).
/// </para>
/// </summary>
public static class CollectionBuilder
{
    public static Snapshot Build(CollectionStore store, IEnumerable<Document> documents, BuildOptions options,
        IProgress<BuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        options.Validate();
        using var writer = store.BeginSnapshot();
        using var ds = new DocumentStoreWriter(writer.DocumentStorePath);
        using var lexical = LexicalIndexWriter.Open(writer.LexicalPath, options.Bm25);
        using var dense = options.EncoderPath != null
            ? DenseIndexBuilder.Start(Path.Combine(writer.Directory, CollectionStore.EncoderFolderName), options, ds, progress)
            : null;

        long count = 0;
        foreach (var d in documents)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lexical.Add(d); // first: rejects a null document, an empty id or a duplicate id
            ds.Add(d);
            dense?.Add(d, cancellationToken);
            if (++count % 1000 == 0) progress?.Report(new("read", count, 0));
        }
        if (count == 0) throw new InvalidInputException("the corpus holds no documents: nothing to index");
        progress?.Report(new("read", count, count));

        progress?.Report(new("bm25", 0, count));
        lexical.Commit();
        progress?.Report(new("bm25", count, count));

        var denseSection = dense?.Complete(writer.DensePath, cancellationToken);
        ds.Complete();

        var manifest = new Manifest
        {
            Collection = store.Name,
            Snapshot = writer.SnapshotName,
            CreatedUtc = DateTime.UtcNow,
            Source = options.Source,
            Documents = count,
            Chunks = denseSection?.Vectors ?? 0,
            Lexical = new Manifest.LexicalSection(options.Bm25.Analyzer, options.Bm25.K1, options.Bm25.B,
                options.Bm25.FieldMode.ToString().ToLowerInvariant()),
            Dense = denseSection,
        };
        cancellationToken.ThrowIfCancellationRequested();
        return writer.Commit(manifest);
    }
}
