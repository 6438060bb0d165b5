using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
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
        var root = CommonOptions.IndexRoot();
        var device = CommonOptions.Device();

        var cmd = new Command("reindex", "Bring a collection up to date with its sources: added and changed documents are embedded and upserted, unchanged ones only read and hashed, documents gone from their source deleted. Resumable: a killed run is continued by the next.")
        { collection, sources, dryRun, report, batch, noCompact, root, device };
        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            int size = pr.GetValue(batch);
            if (size < 1) throw new InvalidInputException($"--batch-size must be at least 1, got {size}");
            var paths = pr.GetValue(sources) ?? [];
            var list = paths.Select(JobSources.Open).ToList();
            var options = new ReindexOptions { BatchSize = size };
            // Never created by a re-index (nor its folder made): an unknown collection is an error.
            if (!store.Exists) throw new CollectionNotFoundException(store.Name, store.Root);
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

    static void Print(ReindexReport r)
    {
        if (r.DryRun)
        {
            Console.WriteLine($"dry run of '{r.Collection}' (nothing written){(r.Resumed ? $": would continue unfinished run {r.RunId}" : "")}: " +
                              $"would add {r.Added:N0}, change {r.Changed:N0}, delete {r.Deleted:N0}, leave {r.Unchanged:N0} unchanged " +
                              $"({r.DocumentsRead:N0} documents read; {r.Unclaimed:N0} documents no source claims are kept)");
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
                          $"({r.DocumentsPerSecond:F1} documents/s) in {s.Total:F1} s; last seq {r.LastSeq}");
        Console.WriteLine($"  stages: read+hash {s.ReadHash:F2} s, diff {s.Diff:F2} s, embed+write {s.EmbedWrite:F2} s, delete {s.Delete:F2} s");
    }

    static void WriteReport(string? path, ReindexReport r)
    {
        if (path is null) return;
        AtomicFile.WriteAllText(path, Json.Serialize(r));
        Console.Error.WriteLine($"dss: report written to {path}");
    }
}
