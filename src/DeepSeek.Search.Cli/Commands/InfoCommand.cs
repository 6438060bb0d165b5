using System.CommandLine;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss info`: what a collection's current generation holds.</summary>
static class InfoCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var root = CommonOptions.IndexRoot();
        var json = new Option<bool>("--json") { Description = "Print the manifest as JSON" };
        var cmd = new Command("info", "Show a collection: counts, encoder, dimensions, index types, sizes, creation time.") { collection, root, json };
        cmd.SetAction(pr =>
        {
            var gen = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!).OpenCurrent();
            var m = gen.Manifest;
            if (pr.GetValue(json)) { Console.WriteLine(m.ToJson()); return CliRunner.ExitOk; }
            long total = m.FileSizes.Values.Sum();
            Console.WriteLine($"collection   {m.Collection}");
            Console.WriteLine($"generation   {m.Snapshot}  ({gen.Directory})");
            Console.WriteLine($"created      {m.CreatedUtc:yyyy-MM-dd HH:mm:ss} UTC");
            Console.WriteLine($"source       {m.Source}");
            using (var ds = DocumentStore.Open(gen.DocumentStorePath))
            {
                long seq = ds.LastSeq;
                Console.WriteLine($"documents    {ds.CountAt(seq):N0} live at batch {seq} ({m.Documents:N0} when the snapshot was built at batch {m.BuiltAtSeq})");
                Console.WriteLine($"pending      {ds.CountRemoved():N0} removed rows and {ds.CountPendingVectors():N0} vectors outside the FAISS file until the next compaction; next chunk id {ds.NextChunkId:N0}");
                if (ds.ReindexRuns() is [.., var run])
                    Console.WriteLine($"reindex      last run {run.RunId}: " + (run.FinishedUtc is { } done
                        ? $"finished {done:yyyy-MM-dd HH:mm:ss} UTC, {run.Added:N0} added, {run.Changed:N0} changed, {run.Unchanged:N0} unchanged, {run.Deleted:N0} deleted"
                        : $"unfinished (the next dss reindex continues it), {run.Added:N0} added, {run.Changed:N0} changed, {run.Deleted:N0} deleted so far"));
            }
            if (m.Lexical is { } l)
                Console.WriteLine($"lexical      Lucene BM25 (k1={l.K1}, b={l.B}, analyzer={l.Analyzer}, fields={l.Fields})  {Size(m, "lexical/")}");
            if (m.Dense is { } d)
            {
                Console.WriteLine($"dense        FAISS {d.Factory}, {d.Metric}, {d.Vectors:N0} vectors x {d.Dimension}  {Size(m, CollectionStore.DenseFileName)}");
                Console.WriteLine($"encoder      {d.EncoderPath}");
                Console.WriteLine($"             {d.EncoderIdentity}; pooling {d.Pooling}, normalize {d.Normalize}; chunks {d.ChunkTokens} tokens, overlap {d.ChunkOverlap}");
            }
            else Console.WriteLine("dense        none (built with --encoder none)");
            Console.WriteLine($"documents db {Size(m, CollectionStore.DocumentStoreFileName)}");
            Console.WriteLine($"total size   {Human(total)}");
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static string Size(Manifest m, string prefix) => Human(m.FileSizes.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value));

    internal static string Human(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:F1} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):F1} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):F2} GiB",
    };
}
