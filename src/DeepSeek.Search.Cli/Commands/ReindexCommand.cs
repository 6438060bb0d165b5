using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Indexing.Reindex;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.Jobs;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss reindex`: the nightly incremental re-index (<see cref="ReindexJob"/>): each --source read whole and hashed, only
/// added and changed documents embedded and upserted, documents gone from their source deleted, in acknowledged batches;
/// kill -9 at any point and the next run continues. Sources are read strictly: a malformed record stops the run before
/// anything is written (a skipped record would look deleted).
/// </summary>
static class ReindexCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var sources = new Option<string[]>("--source", "-s")
        { Description = "A source: a JSONL file (id or _id, title, text, metadata, acl) or a folder of .txt/.md/.html files; repeat for several", Required = true, AllowMultipleArgumentsPerToken = false };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what the run would do (counts and the first ids of each class) and write nothing" };
        var report = new Option<string?>("--report") { Description = "Also write the run's report (counts, rates, stage times) to this JSON file" };
        var batch = new Option<int>("--batch-size") { Description = "Documents per acknowledged batch", DefaultValueFactory = _ => 256 };
        var noCompact = new Option<bool>("--no-compact")
        { Description = "Do not compact afterwards, even when enough entries wait to be reclaimed (10% of the documents, or 50,000 vectors)" };
        var encoder = new Option<string?>("--encoder")
        {
            Description = "The encoder the collection's vectors are to be made with: " + EncoderArgument.Help + ". When the collection's vectors " +
                          "come from another encoder (or chunk window), every document is embedded again first (a new snapshot; the old one serves " +
                          "until the switch; a killed re-embed changes nothing and the next run redoes it), then the diff runs with the new encoder. " +
                          "Default: the collection's encoder, nothing re-embedded",
        };
        var chunkTokens = new Option<int?>("--chunk-tokens") { Description = "With --encoder: the chunk window in word pieces (0: as long as the encoder allows) [default: the collection's]" };
        var chunkOverlap = new Option<int?>("--chunk-overlap") { Description = "With --encoder: the chunk overlap in word pieces [default: the collection's]" };
        var precision = new Option<string?>("--encoder-precision")
        {
            Description = "With --encoder: fp32 or int8 (dynamic INT8 linear layers, CPU only); a change of precision alone re-embeds. " +
                          "Upserts always encode as the collection's manifest says [default: the collection's]",
        }.AcceptOnlyFromAmong([.. EncoderPrecisions.DocumentNames]);
        var shard = new Option<string?>("--shard")
        {
            Description = "I/N: the collection is shard I (from 0) of N, as dss shard split made it; of the sources' documents only " +
                          "those the id hash assigns to shard I are written here, the others left to their shards (each shard's " +
                          "re-index reads the sources whole) [default: not a shard]",
        };
        var root = CommonOptions.IndexRoot();
        var device = CommonOptions.Device();

        var cmd = new Command("reindex", "Bring a collection up to date with its sources: added and changed documents are embedded and upserted, unchanged ones only read and hashed, documents gone from their source deleted. Resumable: a killed run is continued by the next.")
        { collection, sources, dryRun, report, batch, noCompact, encoder, chunkTokens, chunkOverlap, precision, shard, root, device };
        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            int size = pr.GetValue(batch);
            if (size < 1) throw new InvalidInputException($"--batch-size must be at least 1, got {size}");
            var paths = pr.GetValue(sources) ?? [];
            var list = paths.Select(JobSources.Open).ToList();
            // Never created by a re-index (nor its folder made): an unknown collection is an error.
            if (!store.Exists) throw new CollectionNotFoundException(store.Name, store.Root);
            var options = new ReindexOptions
            {
                BatchSize = size, Encoder = Reembed(pr.GetValue(encoder), pr.GetValue(chunkTokens), pr.GetValue(chunkOverlap), pr.GetValue(precision)),
                Shard = pr.GetValue(shard) is { } text ? ShardOfCount.Parse(text) : null,
            };
            ReindexReport r;
            if (pr.GetValue(dryRun))
            {
                r = ConsoleProgress.Run(progress => ReindexJob.DryRun(store, list, options, progress));
                Print(r);
                WriteReport(pr.GetValue(report), r);
                return CliRunner.ExitOk;
            }
            using var writer = CollectionWriter.Open(store, new WriterOptions
            {
                Device = pr.GetValue(device)!,
                MaxBatchDocuments = Math.Max(size, new WriterOptions().MaxBatchDocuments),
            });
            Console.Error.WriteLine($"dss: reindexing '{store.Name}' from {string.Join(", ", list.Select(s => s.Id))}");
            // The one job runner of dss reindex and dss serve's Dapr cron route; here with local state (the collection's
            // reindex-job.json: watermark and run state) and the writer.lock just taken as the single-writer rule.
            var runner = new ReindexRunner(LocalJobStateStore.InCollection(store.Directory), NoJobEvents.Instance,
                new RunnerOptions { WriterLockHeld = true });
            var outcome = ConsoleProgress.Run(progress =>
                runner.RunAsync(ReindexRunner.DefaultJobKey(store.Name), writer, list, options, progress).GetAwaiter().GetResult());
            if (outcome.Report is null)
            {
                Console.Error.WriteLine($"dss: {outcome.Message}");
                return CliRunner.ExitOk;
            }
            r = outcome.Report;
            Print(r);
            WriteReport(pr.GetValue(report), r);
            WriteCommands.MaybeCompact(writer, pr.GetValue(noCompact));
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    /// <summary>The re-embed --encoder asks for (null: none), checked before anything is read or written.</summary>
    static ReembedOptions? Reembed(string? encoder, int? chunkTokens, int? chunkOverlap, string? precision)
    {
        if (encoder is null)
        {
            if (chunkTokens is not null || chunkOverlap is not null || precision is not null)
                throw new InvalidInputException("--chunk-tokens, --chunk-overlap and --encoder-precision of dss reindex need --encoder") { Setting = "encoder" };
            return null;
        }
        if (chunkTokens is < 0) throw new InvalidInputException($"--chunk-tokens must be 0 or more, got {chunkTokens}") { Setting = "chunk-tokens" };
        if (chunkOverlap is < 0) throw new InvalidInputException($"--chunk-overlap must be 0 or more, got {chunkOverlap}") { Setting = "chunk-overlap" };
        var path = EncoderArgument.Resolve(encoder)
            ?? throw new InvalidInputException($"--encoder {encoder}: dss reindex cannot drop a collection's vectors; name an encoder folder or a pretrained encoder") { Setting = "encoder" };
        if (!Directory.Exists(path)) throw new InvalidInputException($"--encoder {encoder}: no such encoder folder, and not a pretrained encoder ({EncoderArgument.Help})") { Setting = "encoder" };
        return new ReembedOptions
        {
            EncoderPath = Path.GetFullPath(path), ChunkTokens = chunkTokens, ChunkOverlap = chunkOverlap,
            Precision = precision is null ? null : EncoderPrecisions.Parse(precision),
        };
    }

    static void Print(ReindexReport r)
    {
        if (r.Reembed is { } e)
            Console.WriteLine(e.DryRun
                ? $"would re-embed '{r.Collection}' first: {e.Documents:N0} documents, encoder {e.FromEncoder ?? "(none)"} -> {e.ToEncoder}"
                : $"re-embedded '{r.Collection}': {e.Documents:N0} documents, {e.Chunks:N0} chunks in {e.Seconds:F1} s; encoder {e.FromEncoder ?? "(none)"} -> {e.ToEncoder}; snapshot {e.Snapshot}");
        if (r.DryRun)
        {
            Console.WriteLine($"dry run of '{r.Collection}' (nothing written){(r.Resumed ? $": would continue unfinished run {r.RunId}" : "")}: " +
                              $"would add {r.Added:N0}, change {r.Changed:N0}, delete {r.Deleted:N0}, leave {r.Unchanged:N0} unchanged " +
                              $"({r.DocumentsRead:N0} documents read; {r.Unclaimed:N0} documents no source claims are kept{OtherShards(r)})");
            Console.WriteLine($"  added:     {string.Join(", ", r.FirstIds.Added)}");
            Console.WriteLine($"  changed:   {string.Join(", ", r.FirstIds.Changed)}");
            Console.WriteLine($"  deleted:   {string.Join(", ", r.FirstIds.Deleted)}");
            Console.WriteLine($"  unchanged: {string.Join(", ", r.FirstIds.Unchanged)}");
            return;
        }
        var s = r.Seconds;
        Console.WriteLine($"reindex run {r.RunId} of '{r.Collection}'{(r.Resumed ? $" (resumed: attempt {r.Attempt} of an unfinished run)" : "")}: " +
                          $"{r.Added:N0} added, {r.Changed:N0} changed, {r.Unchanged:N0} unchanged, {r.Deleted:N0} deleted; " +
                          $"{r.ChunksEmbedded:N0} chunks embedded ({r.ChunksPerSecond:F1} chunks/s); {r.DocumentsRead:N0} documents read " +
                          $"({r.DocumentsPerSecond:F1} documents/s) in {s.Total:F1} s; last seq {r.LastSeq}{OtherShards(r)}");
        Console.WriteLine($"  stages: read+hash {s.ReadHash:F2} s, diff {s.Diff:F2} s, embed+write {s.EmbedWrite:F2} s, delete {s.Delete:F2} s");
    }

    static string OtherShards(ReindexReport r) => r.OtherShards > 0 ? $"; {r.OtherShards:N0} documents of other shards left to them" : "";

    static void WriteReport(string? path, ReindexReport r)
    {
        if (path is null) return;
        AtomicFile.WriteAllText(path, Json.Serialize(r));
        Console.Error.WriteLine($"dss: report written to {path}");
    }
}
