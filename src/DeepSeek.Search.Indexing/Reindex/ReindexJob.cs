using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>
/// <c>dss reindex</c>: brings a collection up to date with its sources, incrementally. The job is a diff between a complete
/// read of each source and the collection's durable state (its live documents, their content hashes, and the registry of
/// which source claims which document), applied through the collection's one writer in acknowledged batches:
/// <list type="bullet">
/// <item><b>added</b>: an id the collection does not hold; <b>changed</b>: its <see cref="ContentHash"/> differs from the live
/// version's — both go through <see cref="CollectionWriter.Upsert(IReadOnlyList{Document}, RegistryUpdate?, CancellationToken)"/>,
/// with their registry entries and the run's counts in the batch's own transaction;</item>
/// <item><b>unchanged</b>: the same hash: read and hashed, nothing else (no chunking, no encoding, no batch); a document
/// written without a source (<c>dss index</c>, <c>dss upsert</c>) is adopted by the first source that holds it, and a
/// document that moved between sources follows it — registry entries only;</item>
/// <item><b>deleted</b>: registered to a source of this run and absent from that run's complete read of every source —
/// <see cref="CollectionWriter.Delete(IReadOnlyList{string}, RegistryUpdate?, CancellationToken)"/>. A document no source of
/// the run claims (unregistered, or registered to a source not given) is never deleted.</item>
/// </list>
/// A document seen in two sources of one run is an error naming both, raised before anything is written.
/// <para>
/// <b>Resumable.</b> The run's record (id, sources, start, the sequence number it started at, counts so far) is in the
/// store, updated with each batch. kill -9 at any point: the next run finds the unfinished record, says so, continues it
/// under the same id, and recomputes the diff — every acknowledged batch is part of the collection's state, so what it wrote
/// is now unchanged (and counted once: a document whose entry names this run and whose version is above the run's start
/// was written by it), and only what is left is done. No document is written twice, none is lost.
/// </para>
/// </summary>
public static class ReindexJob
{
    /// <summary>Runs (or continues) a re-index of the collection <paramref name="writer"/> holds.</summary>
    public static ReindexReport Run(CollectionWriter writer, IReadOnlyList<ReindexSource> sources, ReindexOptions? options = null,
        IProgress<ProgressEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        options ??= new ReindexOptions();
        Validate(sources, options);
        var total = Stopwatch.StartNew();
        ReindexReembed? reembed = null;
        if (options.Encoder is { } encoder && writer.EncoderDiffers(encoder))
        {
            progress?.Report(new ProgressNote($"the collection's vectors were made with another encoder: re-embedding every document with {encoder.EncoderPath} first"));
            var r = writer.Reembed(encoder, progress is null ? null : new ReembedProgress(progress), cancellationToken);
            reembed = new ReindexReembed(false, r.PreviousEncoder, r.Encoder, r.Documents, r.Chunks, r.Elapsed.TotalSeconds, r.Snapshot);
            progress?.Report(new ProgressNote($"re-embedded {r.Documents:N0} documents ({r.Chunks:N0} chunks) in {r.Elapsed.TotalSeconds:F1} s: snapshot {r.Snapshot}"));
        }
        var unfinished = writer.Reader.ReindexRuns().LastOrDefault(r => r.FinishedUtc is null);
        if (unfinished != null)
            progress?.Report(new ProgressNote($"continuing unfinished reindex run {unfinished.RunId} (started {unfinished.StartedUtc:u}, attempt {unfinished.Attempts + 1}: " +
                                              $"{unfinished.Added:N0} added, {unfinished.Changed:N0} changed, {unfinished.Deleted:N0} deleted so far)"));
        var plan = Diff(writer.Reader.LiveDocumentsWithSources(), sources, unfinished, options.Shard, progress, cancellationToken);

        string sourceList = string.Join('\n', sources.Select(s => s.Id));
        var run = unfinished is { } u
            ? u with { Attempts = u.Attempts + 1, Sources = sourceList }
            : new ReindexRunRecord(NewRunId(), sourceList, DateTime.UtcNow, null, writer.LastSeq, 1, 0, 0, 0, 0, 0);
        long chunksBefore = run.Chunks;
        writer.RecordRegistry(new RegistryUpdate([], run));

        var write = Stopwatch.StartNew();
        var writes = plan.Added.Select(w => (w, Added: true)).Concat(plan.Changed.Select(w => (w, Added: false))).ToList();
        long written = 0;
        foreach (var part in writes.Chunk(options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            int added = part.Count(p => p.Added);
            var entries = part.Select(p => new SourceEntry(p.w.Document.Id, p.w.Source, p.w.ModifiedUtc, run.RunId)).ToList();
            var r = writer.Upsert(part.Select(p => p.w.Document).ToList(),
                new RegistryUpdate(entries, run with { Added = run.Added + added, Changed = run.Changed + part.Length - added }), cancellationToken);
            run = run with { Added = run.Added + added, Changed = run.Changed + part.Length - added, Chunks = run.Chunks + r.Chunks };
            written += part.Length;
            progress?.Report(new ReindexProgress("write", written, writes.Count));
        }
        write.Stop();

        var delete = Stopwatch.StartNew();
        long deleted = 0;
        foreach (var part in plan.Deleted.Chunk(options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            run = run with { Deleted = run.Deleted + part.Length };
            writer.Delete(part, new RegistryUpdate([], run), cancellationToken);
            deleted += part.Length;
            progress?.Report(new ReindexProgress("delete", deleted, plan.Deleted.Count));
        }
        delete.Stop();

        foreach (var part in plan.Touched.Chunk(options.RegistryBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            writer.RecordRegistry(new RegistryUpdate(part.Select(e => e with { LastRun = run.RunId }).ToList()));
        }
        run = run with { Unchanged = plan.Unchanged, FinishedUtc = DateTime.UtcNow };
        writer.RecordRegistry(new RegistryUpdate([], run, [.. sources.Select(s => s.Id)]));
        total.Stop();

        long chunksNow = run.Chunks - chunksBefore;
        return Report(writer.Store.Name, run.RunId, dryRun: false, unfinished != null, run.Attempts, sources, plan,
            run.Added, run.Changed, run.Deleted, run.Chunks, chunksNow, write.Elapsed, delete.Elapsed, total.Elapsed, writer.LastSeq, options) with { Reembed = reembed };
    }

    /// <summary>What <see cref="Run"/> would do, read from the committed snapshot; takes no lock and writes nothing.</summary>
    public static ReindexReport DryRun(CollectionStore store, IReadOnlyList<ReindexSource> sources, ReindexOptions? options = null,
        IProgress<ProgressEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ReindexOptions();
        Validate(sources, options);
        var total = Stopwatch.StartNew();
        var (snapshot, lease) = store.OpenCurrentLeased();
        using (lease)
        using (var reader = DocumentStore.Open(snapshot.DocumentStorePath))
        {
            ReindexReembed? reembed = options.Encoder is { } encoder && CollectionWriter.EncoderDiffers(snapshot.Manifest, encoder)
                ? new ReindexReembed(true, snapshot.Manifest.Dense?.EncoderIdentity, Path.GetFullPath(encoder.EncoderPath), reader.CountAt(reader.LastSeq), 0, 0, null)
                : null;
            if (reembed != null) progress?.Report(new ProgressNote($"would re-embed every document with {reembed.ToEncoder} first (the collection's vectors were made with another encoder)"));
            var unfinished = reader.ReindexRuns().LastOrDefault(r => r.FinishedUtc is null);
            if (unfinished != null) progress?.Report(new ProgressNote($"an unfinished reindex run {unfinished.RunId} would be continued"));
            var plan = Diff(reader.LiveDocumentsWithSources(), sources, unfinished, options.Shard, progress, cancellationToken);
            total.Stop();
            return Report(store.Name, unfinished?.RunId ?? "", dryRun: true, unfinished != null, (unfinished?.Attempts ?? 0) + 1, sources, plan,
                (unfinished?.Added ?? 0) + plan.Added.Count, (unfinished?.Changed ?? 0) + plan.Changed.Count, (unfinished?.Deleted ?? 0) + plan.Deleted.Count,
                unfinished?.Chunks ?? 0, 0, TimeSpan.Zero, TimeSpan.Zero, total.Elapsed, reader.LastSeq, options) with { Reembed = reembed };
        }
    }

    static void Validate(IReadOnlyList<ReindexSource> sources, ReindexOptions options)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0) throw new InvalidInputException("reindex of no sources: give at least one source") { Setting = "source" };
        if (options.BatchSize < 1) throw new InvalidInputException($"batch size must be at least 1, got {options.BatchSize}") { Setting = "batch-size" };
        if (options.RegistryBatchSize < 1) throw new InvalidInputException($"registry batch size must be at least 1, got {options.RegistryBatchSize}");
        var twice = sources.GroupBy(s => s.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice != null) throw new InvalidInputException($"source {twice.Key} is given twice") { Setting = "source" };
    }

    static string NewRunId() => $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Random.Shared.Next(0x10000):x4}";

    /// <summary>A document to write: its content, the source it came from, that source's time for it.</summary>
    sealed record PlannedWrite(Document Document, string Source, DateTime? ModifiedUtc);

    sealed class Plan
    {
        public List<PlannedWrite> Added { get; } = [];
        public List<PlannedWrite> Changed { get; } = [];
        public List<string> Deleted { get; } = [];
        /// <summary>Registry entries of unchanged documents that are new (adopted) or differ (another source, another time).</summary>
        public List<SourceEntry> Touched { get; } = [];
        public List<string> UnchangedSample { get; } = [];
        public long Unchanged, AlreadyDone, Unclaimed, Read, OtherShards;
        public TimeSpan ReadHash, Diff;
    }

    /// <summary>
    /// Reads every source once, hashing each document, and classifies it against the live documents; with <paramref name="shard"/>,
    /// a document of another shard is counted and skipped, and a live one of another shard is deleted.
    /// </summary>
    static Plan Diff(IEnumerable<RegisteredDocument> liveDocuments, IReadOnlyList<ReindexSource> sources, ReindexRunRecord? resumed,
        ShardOfCount? shard, IProgress<ProgressEvent>? progress, CancellationToken cancellationToken)
    {
        var plan = new Plan();
        var diff = Stopwatch.StartNew();
        var live = liveDocuments.ToDictionary(d => d.Id, StringComparer.Ordinal);
        var seenIn = new Dictionary<string, int>(StringComparer.Ordinal);
        diff.Stop();
        var read = new Stopwatch();
        for (int i = 0; i < sources.Count; i++)
        {
            var source = sources[i];
            read.Start();
            using var e = source.Read().GetEnumerator();
            while (e.MoveNext())
            {
                var (doc, modified) = e.Current;
                if (doc is null || string.IsNullOrEmpty(doc.Id)) throw new InvalidInputException($"source {source.Id} yielded a document without an id");
                var sha = ContentHash.Of(doc);
                read.Stop();
                diff.Start();
                cancellationToken.ThrowIfCancellationRequested();
                if (seenIn.TryGetValue(doc.Id, out int other))
                    throw new InvalidInputException(other == i
                        ? $"document '{doc.Id}' appears twice in source {source.Id}: nothing written"
                        : $"document '{doc.Id}' is in two sources, {sources[other].Id} and {source.Id}: nothing written") { Setting = "source" };
                seenIn[doc.Id] = i;
                if (shard is { } own && !own.Owns(doc.Id)) plan.OtherShards++;
                else if (!live.TryGetValue(doc.Id, out var current)) plan.Added.Add(new PlannedWrite(doc, source.Id, modified));
                else if (current.Sha256 != sha) plan.Changed.Add(new PlannedWrite(doc, source.Id, modified));
                else if (resumed != null && current.LastRun == resumed.RunId && current.Version > resumed.StartSeq) plan.AlreadyDone++;
                else
                {
                    plan.Unchanged++;
                    if (plan.UnchangedSample.Count < 64) plan.UnchangedSample.Add(doc.Id);
                    if (current.Source != source.Id || current.SourceModifiedUtc != modified)
                        plan.Touched.Add(new SourceEntry(doc.Id, source.Id, modified, ""));
                }
                if (++plan.Read % 1000 == 0) progress?.Report(new ReindexProgress("read", plan.Read, 0));
                diff.Stop();
                read.Start();
            }
            read.Stop();
        }
        progress?.Report(new ReindexProgress("read", plan.Read, plan.Read));
        diff.Start();
        var given = sources.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var d in live.Values)
        {
            if (seenIn.ContainsKey(d.Id) && shard?.Owns(d.Id) != false) continue; // seen, and this shard's (or no shards)
            if (d.Source != null && given.Contains(d.Source)) plan.Deleted.Add(d.Id);
            else plan.Unclaimed++;
        }
        plan.Deleted.Sort(StringComparer.Ordinal);
        diff.Stop();
        plan.ReadHash = read.Elapsed;
        plan.Diff = diff.Elapsed;
        return plan;
    }

    static ReindexReport Report(string collection, string runId, bool dryRun, bool resumed, int attempt, IReadOnlyList<ReindexSource> sources, Plan plan,
        long added, long changed, long deleted, long chunks, long chunksNow, TimeSpan write, TimeSpan delete, TimeSpan total, long lastSeq, ReindexOptions options)
    {
        int n = options.SampleIds;
        return new ReindexReport
        {
            Collection = collection,
            RunId = runId,
            DryRun = dryRun,
            Resumed = resumed,
            Attempt = attempt,
            Sources = [.. sources.Select(s => s.Id)],
            Added = added,
            Changed = changed,
            Unchanged = plan.Unchanged,
            Deleted = deleted,
            AlreadyDone = plan.AlreadyDone,
            Unclaimed = plan.Unclaimed,
            DocumentsRead = plan.Read,
            OtherShards = plan.OtherShards,
            ChunksEmbedded = chunks,
            ChunksEmbeddedThisAttempt = chunksNow,
            DocumentsPerSecond = total.TotalSeconds > 0 ? plan.Read / total.TotalSeconds : 0,
            ChunksPerSecond = write.TotalSeconds > 0 ? chunksNow / write.TotalSeconds : 0,
            Seconds = new ReindexTimings(plan.ReadHash.TotalSeconds, plan.Diff.TotalSeconds, write.TotalSeconds, delete.TotalSeconds, total.TotalSeconds),
            LastSeq = lastSeq,
            FirstIds = new ReindexSamples(
                [.. plan.Added.Take(n).Select(w => w.Document.Id)], [.. plan.Changed.Take(n).Select(w => w.Document.Id)],
                [.. plan.UnchangedSample.Take(n)], [.. plan.Deleted.Take(n)]),
        };
    }
}
