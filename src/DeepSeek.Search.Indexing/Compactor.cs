using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// <see cref="CollectionWriter.Compact"/>: a fresh snapshot from the store. Phase 1 (no lock held but the writer lock every
/// writer already has) copies the live state as of a pinned sequence number into a build folder; phase 2 (under the
/// writer's gate, so writes wait) replays the batches committed meanwhile, commits the snapshot and switches the writer.
/// </summary>
static class Compactor
{
    const int VectorSlice = 4096;

    public static CompactionResult Run(CollectionWriter writer, IProgress<BuildProgress>? progress, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var (old, pinned, nextChunk) = writer.Pin();
        var store = writer.Store;
        var m = old.Manifest;
        var bm25 = LexicalIndexInfo.Read(old.LexicalPath).Options;
        long removedBefore = writer.Reader.CountRemoved();
        using var build = store.BeginSnapshot(writer.WriterLock);
        long documents = 0, vectors = 0;
        using (var reader = DocumentStore.Open(old.DocumentStorePath))
        {
            using var ds = DocumentStoreWriter.Create(build.DocumentStorePath);
            using var lexical = LexicalIndexWriter.Open(build.LexicalPath, bm25, trackIds: false);
            foreach (var d in reader.DocumentsAt(pinned))
            {
                cancellationToken.ThrowIfCancellationRequested();
                ds.Insert(d);
                lexical.Add(d.ToDocument(), d.Version, d.FirstChunk, d.ChunkCount);
                if (++documents % 1000 == 0) progress?.Report(new("copy", documents, 0));
            }
            progress?.Report(new("copy", documents, documents));
            foreach (var c in reader.ChangesSince(0, pinned)) ds.RecordChange(c.Seq, c.DocumentId, c.Kind);
            foreach (var b in reader.BatchesSince(0).Where(b => b.Seq <= pinned)) ds.CopyBatch(b);

            if (m.Dense is { } dense)
            {
                CollectionBuilder.CopyFolder(Path.Combine(old.Directory, CollectionStore.EncoderFolderName), Path.Combine(build.Directory, CollectionStore.EncoderFolderName));
                using var oldIndex = FaissIndex.Read(old.DensePath);
                using var builder = DenseIndexBuilder.Start(null, dense.Dimension, dense.Factory, VectorSlice, BuildOptions.DefaultTrainingSampleVectors, progress);
                var ids = new List<long>(VectorSlice);
                var fromStore = new Dictionary<long, float[]>();
                void Flush()
                {
                    if (ids.Count == 0) return;
                    var inIndex = ids.Where(id => !fromStore.ContainsKey(id)).ToArray();
                    var rebuilt = inIndex.Length > 0 ? oldIndex.Reconstruct(inIndex) : [];
                    var rows = new float[ids.Count * dense.Dimension];
                    int fromIndex = 0;
                    for (int i = 0; i < ids.Count; i++)
                    {
                        var src = fromStore.TryGetValue(ids[i], out var v) ? v : rebuilt.AsSpan(fromIndex++ * dense.Dimension, dense.Dimension).ToArray();
                        src.CopyTo(rows, i * dense.Dimension);
                    }
                    builder.AddVectors(rows, ids.ToArray());
                    vectors += ids.Count;
                    progress?.Report(new("vectors", vectors, 0));
                    ids.Clear();
                    fromStore.Clear();
                }
                foreach (var (chunk, vector) in reader.ChunksAt(pinned))
                {
                    ds.InsertChunk(chunk);
                    ids.Add(chunk.ChunkId);
                    if (vector != null) fromStore[chunk.ChunkId] = vector;
                    if (ids.Count == VectorSlice)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        Flush();
                    }
                }
                Flush();
                builder.Complete(build.DensePath, cancellationToken);
            }
            ds.SetState(pinned, nextChunk);
            ds.Complete();
            lexical.Commit(pinned);
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (writer.Gate)
        {
            // Phase 2: the batches committed since the pin, replayed into the new snapshot (same rows, same vectors).
            var (_, now, nextNow) = writer.Pin();
            if (now > pinned)
            {
                using var reader = DocumentStore.Open(old.DocumentStorePath);
                using var ds = DocumentStoreWriter.OpenLive(build.DocumentStorePath);
                using var lexical = LexicalIndexWriter.OpenLive(build.LexicalPath);
                foreach (var b in reader.BatchesSince(pinned))
                {
                    var pending = reader.PendingVectors(b.Seq - 1, b.Seq).ToDictionary(p => p.ChunkId, p => p.Vector);
                    var effect = reader.EffectOf(b.Seq);
                    ds.BeginBatch();
                    foreach (var d in effect.Written)
                    {
                        if (ds.GetLive(d.Id) is { } live) ds.MarkDeleted(live.Id, live.Version, b.Seq);
                        ds.Insert(d);
                        foreach (var c in reader.ChunksOf(d.Id, d.Version))
                            ds.InsertChunk(c, pending.TryGetValue(c.ChunkId, out var v) ? v : default);
                        lexical.Upsert(d.ToDocument(), d.Version, d.FirstChunk, d.ChunkCount);
                    }
                    foreach (var (id, version) in effect.Deleted)
                    {
                        ds.MarkDeleted(id, version, b.Seq);
                        lexical.Delete(id);
                    }
                    foreach (var c in reader.ChangesSince(b.Seq - 1, b.Seq)) ds.RecordChange(c.Seq, c.DocumentId, c.Kind);
                    ds.CommitBatch(b.Seq, b.Kind, b.Upserts, b.Deletes, nextNow);
                }
                lexical.CommitBatch(now);
            }
            // The registry (re-index sources and runs) as it stands now, under the gate: no write can slip between.
            using (var ds = DocumentStoreWriter.OpenLive(build.DocumentStorePath)) ds.CopyRegistryFrom(old.DocumentStorePath);
            var manifest = m with
            {
                CreatedUtc = DateTime.UtcNow,
                Documents = documents,
                Chunks = vectors,
                BuiltAtSeq = pinned,
                Dense = m.Dense is { } d0 ? d0 with { Vectors = vectors } : null,
            };
            var committed = build.Commit(manifest);
            var lease = store.Lease(committed) ?? throw new IndexCorruptException($"snapshot {committed.Directory} vanished right after its commit");
            writer.SwitchTo(committed, lease);
            store.PruneSnapshots(Path.GetFileName(committed.Directory));
            return new CompactionResult(Path.GetFileName(committed.Directory), pinned, now, documents, removedBefore, vectors, sw.Elapsed);
        }
    }
}
