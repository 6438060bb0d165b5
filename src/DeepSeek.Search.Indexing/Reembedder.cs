using DeepSeek.Search.Encode;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// <see cref="CollectionWriter.Reembed"/>: every live document chunked and embedded again with another encoder into a new
/// snapshot, while the old snapshot serves reads and takes writes; CURRENT switches to the new one when it is complete.
/// <para>
/// Phase 1 (the writer lock only; writes go on): the documents visible at a pinned batch are copied with their versions,
/// chunked with the new encoder's window and embedded into a new FAISS file; their chunk ids are reserved from the writer
/// first (<see cref="CollectionWriter.ReserveChunkIds"/>), so no id is ever given out twice. Phase 2: the batches committed
/// meanwhile are replayed into the new snapshot, their documents chunked and embedded again with the new encoder (their
/// vectors wait in the store, as a live upsert's do) — first outside the writer's gate while batches keep coming, then the
/// last ones under it, where the snapshot is committed and the writer switches to it and to the new encoder.
/// </para>
/// <para>
/// No search mixes the two encoders: a snapshot holds the vectors of one encoder and the copy of that encoder its queries
/// are embedded with (readers reuse a loaded encoder only when its identity is the snapshot's). A crash or an error at any
/// point leaves the old snapshot serving and a build folder the next writer removes.
/// </para>
/// </summary>
static class Reembedder
{
    /// <summary>Rounds of catching up outside the writer's gate before the last one under it.</summary>
    const int CatchUpRounds = 8;

    public static ReembedResult Run(CollectionWriter writer, ReembedOptions options, IProgress<BuildProgress>? progress, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(options.EncoderPath)) throw new InvalidInputException($"encoder folder not found: {options.EncoderPath}") { Setting = "encoder" };
        var sw = Stopwatch.StartNew();
        var store = writer.Store;
        var (old, pinned, _) = writer.Pin();
        var m = old.Manifest;
        var bm25 = LexicalIndexInfo.Read(old.LexicalPath).Options;
        var defaults = new BuildOptions();
        using var build = store.BeginSnapshot(writer.WriterLock);
        string encoderCopy = Path.Combine(build.Directory, CollectionStore.EncoderFolderName);
        CollectionBuilder.CopyFolder(options.EncoderPath, encoderCopy);
        var embedder = DocumentEmbedder.Load(encoderCopy, options.ChunkTokens ?? m.Dense?.ChunkTokens ?? defaults.ChunkTokens, options.ChunkOverlap ?? m.Dense?.ChunkOverlap ?? defaults.ChunkOverlap,
            writer.Options.Device, writer.Options.EncodeBatchSize, options.Precision ?? EncoderPrecisions.Parse(m.Dense?.Precision));
        bool handedOver = false;
        try
        {
            if (m.Dense is { } current && current.EncoderIdentity == embedder.Identity && current.ChunkTokens == embedder.Window
                && current.ChunkOverlap == embedder.Overlap && current.Precision == EncoderPrecisions.ManifestName(embedder.Precision))
                return new ReembedResult(Path.GetFileName(old.Directory), false, current.EncoderIdentity, embedder.Identity, pinned, pinned, 0, 0, 0, sw.Elapsed);

            long documents = 0, copied = 0, chunks = 0, replayed = 0;
            Manifest.DenseSection section;
            using (var reader = DocumentStore.Open(old.DocumentStorePath))
            {
                // The chunks the pinned documents will take, so their ids can be reserved before the first is written.
                long needed = 0;
                foreach (var d in reader.DocumentsAt(pinned))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    needed += embedder.Chunk(d.ToDocument(), 0).Count;
                    if (++documents % 1000 == 0) progress?.Report(new("count", documents, 0));
                }
                long next = writer.ReserveChunkIds(needed), end = next + needed;
                using var ds = DocumentStoreWriter.Create(build.DocumentStorePath);
                using var lexical = LexicalIndexWriter.Open(build.LexicalPath, bm25, trackIds: false);
                using var dense = DenseIndexBuilder.Start(embedder, embedder.Dimension, m.Dense?.Factory ?? defaults.Factory, defaults.EncodeSliceChunks,
                    defaults.TrainingSampleVectors, progress);
                foreach (var d in reader.DocumentsAt(pinned))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var pieces = embedder.Chunk(d.ToDocument(), next);
                    if (next + pieces.Count > end)
                        throw new IndexCorruptException($"re-embedding '{d.Id}' gave more chunks than counted: the documents changed under a pinned read");
                    ds.Insert(d with { FirstChunk = next, ChunkCount = pieces.Count });
                    foreach (var c in pieces) ds.InsertChunk(new StoredChunk(c.ChunkId, d.Id, d.Version, c.Ordinal, c.Start, c.End));
                    lexical.Add(d.ToDocument(), d.Version, next, pieces.Count);
                    dense.AddChunks(pieces, cancellationToken);
                    next += pieces.Count;
                    if (++copied % 1000 == 0) progress?.Report(new("read", copied, documents));
                }
                progress?.Report(new("read", copied, documents));
                chunks = next - (end - needed);
                foreach (var c in reader.ChangesSince(0, pinned)) ds.RecordChange(c.Seq, c.DocumentId, c.Kind);
                foreach (var b in reader.BatchesSince(0).Where(b => b.Seq <= pinned)) ds.CopyBatch(b);
                dense.Complete(build.DensePath, cancellationToken);
                ds.SetState(pinned, end);
                ds.Complete();
                lexical.Commit(pinned);
                section = dense.Describe(Path.GetFullPath(options.EncoderPath), embedder);
            }

            // Phase 2a: catch up with the batches written meanwhile, outside the gate (writes go on).
            long done = pinned;
            for (int round = 0; round < CatchUpRounds; round++)
            {
                long head = writer.LastSeq;
                if (head == done) break;
                replayed += Replay(writer, old.DocumentStorePath, build, embedder, done, head, cancellationToken);
                done = head;
            }

            // Phase 2b: the last batches under the gate, then the switch.
            cancellationToken.ThrowIfCancellationRequested();
            lock (writer.Gate)
            {
                var (_, now, _) = writer.Pin();
                if (now > done) replayed += Replay(writer, old.DocumentStorePath, build, embedder, done, now, CancellationToken.None);
                using (var live = DocumentStoreWriter.OpenLive(build.DocumentStorePath))
                {
                    live.CopyRegistryFrom(old.DocumentStorePath);
                    // Every id the old snapshot gave out stays given out: the new one continues after the writer's counter.
                    live.BeginBatch();
                    live.SetState(now, writer.NextChunk);
                    live.CommitWithoutBatch();
                }
                var manifest = m with
                {
                    CreatedUtc = DateTime.UtcNow,
                    Documents = copied,
                    Chunks = chunks,
                    BuiltAtSeq = pinned,
                    Dense = section,
                };
                var committed = build.Commit(manifest);
                var lease = store.Lease(committed) ?? throw new IndexCorruptException($"snapshot {committed.Directory} vanished right after its commit");
                writer.SwitchTo(committed, lease, embedder);
                handedOver = true;
                store.PruneSnapshots(Path.GetFileName(committed.Directory));
                return new ReembedResult(Path.GetFileName(committed.Directory), true, m.Dense?.EncoderIdentity, embedder.Identity, pinned, now,
                    copied, chunks, replayed, sw.Elapsed);
            }
        }
        finally
        {
            if (!handedOver) embedder.Dispose();
        }
    }

    /// <summary>
    /// Replays the batches in (<paramref name="after"/>, <paramref name="upto"/>] of the old store into the new snapshot, each
    /// written document chunked and embedded with the new encoder under chunk ids reserved from the writer; returns the
    /// number of batches.
    /// </summary>
    static int Replay(CollectionWriter writer, string oldStorePath, SnapshotWriter build, DocumentEmbedder embedder, long after, long upto,
        CancellationToken cancellationToken)
    {
        using var reader = DocumentStore.Open(oldStorePath);
        using var ds = DocumentStoreWriter.OpenLive(build.DocumentStorePath);
        using var lexical = LexicalIndexWriter.OpenLive(build.LexicalPath);
        int batches = 0;
        foreach (var b in reader.BatchesSince(after).Where(b => b.Seq <= upto))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var effect = reader.EffectOf(b.Seq);
            long count = effect.Written.Sum(d => (long)embedder.Chunk(d.ToDocument(), 0).Count);
            long next = writer.ReserveChunkIds(count);
            var pieces = new List<IReadOnlyList<Chunk>>(effect.Written.Count);
            foreach (var d in effect.Written)
            {
                var c = embedder.Chunk(d.ToDocument(), next);
                pieces.Add(c);
                next += c.Count;
            }
            var vectors = embedder.Encode(pieces.SelectMany(c => c).Select(c => c.Text).ToList());
            int dim = embedder.Dimension;
            long row = 0;
            ds.BeginBatch();
            for (int i = 0; i < effect.Written.Count; i++)
            {
                var d = effect.Written[i];
                long first = pieces[i].Count > 0 ? pieces[i][0].ChunkId : 0;
                if (ds.GetLive(d.Id) is { } live) ds.MarkDeleted(live.Id, live.Version, b.Seq);
                ds.Insert(d with { FirstChunk = first, ChunkCount = pieces[i].Count });
                foreach (var c in pieces[i])
                {
                    ds.InsertChunk(new StoredChunk(c.ChunkId, d.Id, d.Version, c.Ordinal, c.Start, c.End), vectors.AsSpan((int)(row * dim), dim));
                    row++;
                }
                lexical.Upsert(d.ToDocument(), d.Version, first, pieces[i].Count);
            }
            foreach (var (id, version) in effect.Deleted)
            {
                ds.MarkDeleted(id, version, b.Seq);
                lexical.Delete(id);
            }
            foreach (var c in reader.ChangesSince(b.Seq - 1, b.Seq)) ds.RecordChange(c.Seq, c.DocumentId, c.Kind);
            ds.CommitBatch(b.Seq, b.Kind, b.Upserts, b.Deletes, next);
            batches++;
        }
        lexical.CommitBatch(upto);
        return batches;
    }
}

/// <summary>What <see cref="CollectionWriter.Reembed"/> is to embed with.</summary>
public sealed record ReembedOptions
{
    /// <summary>The encoder folder the collection's vectors are to be made with.</summary>
    public required string EncoderPath { get; init; }
    /// <summary>Chunk window in word pieces; 0: as many as the encoder's document length allows; null (the default): the collection's.</summary>
    public int? ChunkTokens { get; init; }
    /// <summary>Chunk overlap in word pieces; null: the collection's.</summary>
    public int? ChunkOverlap { get; init; }
    /// <summary>The encoder's precision (fp32 or int8); null: the collection's. A change of precision alone re-embeds.</summary>
    public EncoderPrecision? Precision { get; init; }
}

/// <summary>
/// The outcome of a re-embed: the snapshot now serving, whether it is new (false: the collection already had this encoder
/// and window), the encoder identities before and after, the batch the documents were read at and the last one replayed,
/// documents and chunks embedded in the copy, batches replayed, and the time taken.
/// </summary>
public sealed record ReembedResult(string Snapshot, bool Reembedded, string? PreviousEncoder, string Encoder, long CopiedAtSeq, long CaughtUpToSeq,
    long Documents, long Chunks, long ReplayedBatches, TimeSpan Elapsed);
