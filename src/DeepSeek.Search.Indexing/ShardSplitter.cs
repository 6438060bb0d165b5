using DeepSeek.Search.Encode;
using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// Splits a collection into shards by document id (<c>dss shard split</c>): target i receives the live documents with
/// <see cref="StableHash.ShardOf"/>(id, N) == i — the one routing rule of a sharded collection — with their titles, texts,
/// metadata and ACLs, built by <see cref="CollectionBuilder"/> with the source's own build options (its encoder copy, chunk
/// window and overlap, FAISS factory, BM25 options). The source's vectors are reused, not re-encoded: a shard's chunks are
/// the source's chunks (same encoder, same window), so each gets the source's vector for it (reconstructed from the FAISS
/// file, or the pending vector a live upsert left in the store), and a shard's dense scores equal the source's exactly. A
/// chunk whose vector cannot be found that way is encoded with the encoder and counted in
/// <see cref="ShardResult.VectorsEncoded"/>.
/// <para>
/// The source is read at one batch (the store's last at the start) of its current snapshot, which is leased for the whole
/// split, so a live writer may go on writing and a compaction cannot remove it. Every target must not exist yet (checked
/// for all of them before anything is written). All shards are first built as collections under a hidden staging folder
/// (<c>ROOT_i/.shard-split-*</c>) beside their target, so a failure or cancellation in any shard leaves no target
/// written (the staging folders are removed); only when every shard is built are they moved into place, one rename each.
/// A crash during those renames (or a failing rename, which the error reports) may leave the earlier shards in place and a
/// staging folder behind; the split can then be re-run into a fresh output after removing them.
/// </para>
/// <para>
/// Exactness: with an exact factory (the default <c>IDMap2,Flat</c>, or HNSW over flat storage) a shard holds the very
/// vectors of the source. A factory that trains (IVF, PQ) is trained again on each shard's vectors, and a lossy one (PQ,
/// SQ) gives back decoded vectors, so there scores are close, not equal. The source's chunks are matched per document
/// (same count and spans), the vectors handed out per chunk text in chunk order.
/// </para>
/// <para>Progress: each shard's build stages (<see cref="CollectionBuilder"/>'s) prefixed with <c>shard i/N </c>.</para>
/// </summary>
public static class ShardSplitter
{
    /// <summary>The most shards a split makes.</summary>
    public const int MaxShards = 64;

    /// <summary>
    /// Splits <paramref name="source"/> into <paramref name="targets"/>.Count shards, target i getting the documents of
    /// shard i. Targets are collections of the source's name (each under its own index root); an existing one is an
    /// <see cref="InvalidInputException"/> naming it, with nothing written.
    /// </summary>
    public static ShardSplitResult Split(CollectionStore source, IReadOnlyList<CollectionStore> targets, ShardSplitOptions? options = null,
        IProgress<BuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(targets);
        options ??= new ShardSplitOptions();
        int n = targets.Count;
        if (n < 1 || n > MaxShards) throw new InvalidInputException($"shard count must be between 1 and {MaxShards}, got {n}") { Setting = "shards" };
        for (int i = 0; i < n; i++)
        {
            var t = targets[i] ?? throw new ArgumentException($"target {i} is null", nameof(targets));
            if (t.Exists) throw new InvalidInputException($"target of shard {i} already exists: collection '{t.Name}' under {t.Root}") { Setting = "out" };
            if (Directory.Exists(t.Directory) && Directory.EnumerateFileSystemEntries(t.Directory).Any())
                throw new InvalidInputException($"target of shard {i} is not empty: {t.Directory}") { Setting = "out" };
            for (int j = 0; j < i; j++)
                if (targets[j].Directory == t.Directory) throw new InvalidInputException($"shards {j} and {i} have the same target {t.Directory}") { Setting = "out" };
            if (t.Directory == source.Directory) throw new InvalidInputException($"target of shard {i} is the source collection {t.Directory}") { Setting = "out" };
        }

        var (snapshot, lease) = source.OpenCurrentLeased();
        using var _ = lease;
        var m = snapshot.Manifest;
        var bm25 = LexicalIndexInfo.Read(snapshot.LexicalPath).Options;
        var defaults = new BuildOptions();
        string? encoderFolder = m.Dense != null ? Path.Combine(snapshot.Directory, CollectionStore.EncoderFolderName) : null;

        using var reader = DocumentStore.Open(snapshot.DocumentStorePath);
        long seq = reader.LastSeq;

        // The source's chunks of every live document (ordinal order) and the vectors the store still holds for some of them.
        Dictionary<string, List<StoredChunk>>? chunksOf = null;
        Dictionary<long, float[]>? pending = null;
        if (m.Dense != null)
        {
            chunksOf = new Dictionary<string, List<StoredChunk>>(StringComparer.Ordinal);
            pending = new Dictionary<long, float[]>();
            foreach (var (chunk, vector) in reader.ChunksAt(seq))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!chunksOf.TryGetValue(chunk.DocumentId, out var list)) chunksOf[chunk.DocumentId] = list = [];
                list.Add(chunk);
                if (vector != null) pending[chunk.ChunkId] = vector;
            }
            foreach (var list in chunksOf.Values) list.Sort((a, b) => a.Ordinal.CompareTo(b.Ordinal));
        }

        using var faiss = m.Dense != null && File.Exists(snapshot.DensePath) ? FaissIndex.Read(snapshot.DensePath) : null;
        var staging = new List<string>();
        var built = new List<(CollectionStore Staged, CollectionStore Target)>();
        var results = new List<ShardResult>(n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var target = targets[i];
                Directory.CreateDirectory(target.Root);
                var stagingRoot = Path.Combine(target.Root, $".shard-split-{Environment.ProcessId}-{Guid.NewGuid():N}");
                staging.Add(stagingRoot);
                Directory.CreateDirectory(stagingRoot);
                var staged = CollectionStore.At(stagingRoot, target.Name);
                int shard = i;
                var buildOptions = new BuildOptions
                {
                    EncoderPath = encoderFolder,
                    ChunkTokens = m.Dense?.ChunkTokens ?? defaults.ChunkTokens,
                    ChunkOverlap = m.Dense?.ChunkOverlap ?? defaults.ChunkOverlap,
                    Factory = m.Dense?.Factory ?? defaults.Factory,
                    Bm25 = bm25,
                    Device = options.Device,
                    EncodeBatchSize = options.EncodeBatchSize,
                    EncoderPrecision = EncoderPrecisions.Parse(m.Dense?.Precision),
                    Source = $"split of {source.Name} shard {i}/{n}",
                };
                ReusingEmbedder? reusing = encoderFolder != null
                    ? new ReusingEmbedder(DocumentEmbedder.Load(encoderFolder, buildOptions.ChunkTokens, buildOptions.ChunkOverlap, options.Device, options.EncodeBatchSize, buildOptions.EncoderPrecision),
                        chunksOf!, pending!, faiss)
                    : null;
                var documents = reader.DocumentsAt(seq).Where(d => StableHash.ShardOf(d.Id, n) == shard).Select(d => d.ToDocument());
                var shardProgress = progress is null ? null : new Prefixed(progress, $"shard {i}/{n} ");
                Snapshot result;
                // The builder disposes the embedder it is given (and with it the encoder).
                using (var writerLock = staged.LockWriter("shard split"))
                    result = CollectionBuilder.Build(staged, writerLock, documents, buildOptions, allowEmpty: true, shardProgress, cancellationToken, reusing);
                built.Add((staged, target));
                results.Add(new ShardResult(i, target.Root, Path.GetFileName(result.Directory), result.Manifest.Documents, result.Manifest.Chunks,
                    reusing?.Reused ?? 0, reusing?.Encoded ?? 0));
            }

            cancellationToken.ThrowIfCancellationRequested();
            for (int i = 0; i < built.Count; i++)
            {
                var (staged, target) = built[i];
                try
                {
                    if (target.Exists || (Directory.Exists(target.Directory) && Directory.EnumerateFileSystemEntries(target.Directory).Any()))
                        throw new InvalidInputException($"target of shard {i} appeared while splitting: {target.Directory}") { Setting = "out" };
                    if (Directory.Exists(target.Directory)) Directory.Delete(target.Directory);
                    AtomicFile.FlushTree(staged.Directory);
                    Directory.Move(staged.Directory, target.Directory);
                    AtomicFile.FsyncDirectory(target.Root);
                }
                catch (Exception e) when (i > 0 && e is not OperationCanceledException)
                {
                    throw new IndexCorruptException($"shard split of '{source.Name}': shards 0..{i - 1} were moved into place, shard {i} failed " +
                                                    $"({e.Message}); remove the moved shards and re-run");
                }
            }
        }
        finally
        {
            foreach (var dir in staging)
                try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
                catch (IOException) { } // best effort: a hidden staging folder no reader lists
        }
        return new ShardSplitResult(source.Name, Path.GetFileName(snapshot.Directory), seq, m.Dense != null, results);
    }

    sealed class Prefixed(IProgress<BuildProgress> inner, string prefix) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => inner.Report(new BuildProgress(prefix + value.Stage, value.Done, value.Total));
    }

    /// <summary>
    /// The shard build's embedder: chunks with the source's encoder (so identity, window, pooling and dimension are the
    /// source's) and, for each chunked document, looks up the source's chunks of it; when their number and spans match
    /// (the same chunking) it remembers each chunk text's source vector, and <see cref="Encode"/> returns those, encoding
    /// only texts it has no vector for. Texts are remembered in a queue each, so two equal texts keep their own vectors.
    /// </summary>
    sealed class ReusingEmbedder(DocumentEmbedder inner, Dictionary<string, List<StoredChunk>> chunksOf, Dictionary<long, float[]> pending, FaissIndex? faiss)
        : IChunkEmbedder
    {
        readonly Dictionary<string, Queue<float[]>> _remembered = new(StringComparer.Ordinal);

        public long Reused { get; private set; }
        public long Encoded { get; private set; }
        public int Dimension => inner.Dimension;
        public int Window => inner.Window;
        public int Overlap => inner.Overlap;
        public string Identity => inner.Identity;
        public string Pooling => inner.Pooling;
        public bool Normalize => inner.Normalize;
        public EncoderPrecision Precision => inner.Precision;

        public IReadOnlyList<Chunk> Chunk(Document document, long firstChunkId)
        {
            var chunks = inner.Chunk(document, firstChunkId);
            if (chunks.Count == 0 || !chunksOf.TryGetValue(document.Id, out var old) || old.Count != chunks.Count) return chunks;
            for (int k = 0; k < chunks.Count; k++)
                if (old[k].Start != chunks[k].Start || old[k].End != chunks[k].End) return chunks;
            var inIndex = old.Where(c => !pending.ContainsKey(c.ChunkId)).Select(c => c.ChunkId).ToArray();
            float[] rows;
            try { rows = inIndex.Length > 0 && faiss != null ? faiss.Reconstruct(inIndex) : []; }
            catch (SearchException) { return chunks; } // no stored vector (or none this index type can return): encoded instead
            if (inIndex.Length > 0 && faiss == null) return chunks;
            int d = Dimension, row = 0;
            for (int k = 0; k < chunks.Count; k++)
            {
                var v = pending.TryGetValue(old[k].ChunkId, out var p) ? p : rows.AsSpan(row++ * d, d).ToArray();
                if (v.Length != d) return chunks;
                if (!_remembered.TryGetValue(chunks[k].Text, out var q)) _remembered[chunks[k].Text] = q = new Queue<float[]>(1);
                q.Enqueue(v);
            }
            return chunks;
        }

        public float[] Encode(IReadOnlyList<string> texts)
        {
            int d = Dimension;
            var rows = new float[(long)texts.Count * d];
            var misses = new List<int>();
            for (int i = 0; i < texts.Count; i++)
            {
                if (_remembered.TryGetValue(texts[i], out var q) && q.Count > 0)
                {
                    q.Dequeue().CopyTo(rows, (long)i * d);
                    if (q.Count == 0) _remembered.Remove(texts[i]);
                }
                else misses.Add(i);
            }
            Reused += texts.Count - misses.Count;
            if (misses.Count > 0)
            {
                var encoded = inner.Encode(misses.Select(i => texts[i]).ToList());
                for (int j = 0; j < misses.Count; j++) Array.Copy(encoded, (long)j * d, rows, (long)misses[j] * d, d);
                Encoded += misses.Count;
            }
            return rows;
        }

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>How a shard split runs: the device and batch size the encoder uses for any chunk whose vector is not reused.</summary>
public sealed record ShardSplitOptions
{
    /// <summary>"auto", "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    public int EncodeBatchSize { get; init; } = 64;
}

/// <summary>
/// The outcome of a split: the source collection, the snapshot and batch it was read at, whether it has vectors, and each
/// shard's result in shard order.
/// </summary>
public sealed record ShardSplitResult(string Collection, string SourceSnapshot, long SourceSeq, bool Dense, IReadOnlyList<ShardResult> Shards);

/// <summary>
/// One shard of a split: its number, its index root, the snapshot built there, its documents and chunks, and how many chunk
/// vectors were taken from the source (<see cref="VectorsReused"/>) or encoded again (<see cref="VectorsEncoded"/>: 0 when
/// the source's vectors were all found).
/// </summary>
public sealed record ShardResult(int Shard, string Root, string Snapshot, long Documents, long Chunks, long VectorsReused, long VectorsEncoded);
