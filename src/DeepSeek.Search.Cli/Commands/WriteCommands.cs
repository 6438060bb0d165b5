using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss upsert`, `dss delete`, `dss compact`: live writes to a collection through its one writer. Each printed
/// "acknowledged" line is a durable batch: it survives kill -9 from then on.
/// </summary>
static class WriteCommands
{
    public static Command Upsert()
    {
        var collection = CommonOptions.Collection();
        var input = new Option<string>("--input", "-i") { Description = "Documents to add or replace: JSONL (id or _id, title, text, metadata, acl) or a folder of .txt/.md/.html files", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Documents per batch (each batch is atomic and acknowledged on its own)", DefaultValueFactory = _ => 256 };
        var encoder = new Option<string>("--encoder")
        {
            Description = $"Only when the collection does not exist yet: its dense encoder, {EncoderArgument.Help}; none for BM25 only",
            DefaultValueFactory = _ => PretrainedEncoders.DefaultName,
        };
        var factory = new Option<string>("--faiss") { Description = "Only when the collection does not exist yet: FAISS index factory string", DefaultValueFactory = _ => "IDMap2,Flat" };
        var noCompact = NoCompact();
        var root = CommonOptions.IndexRoot();
        var device = CommonOptions.Device();
        var server = QueryCommand.Server(required: false);
        var key = QueryCommand.Key();

        var cmd = new Command("upsert", "Add or replace documents in a collection (created if needed), batch by batch; a document equal to its stored version is left as it is. The whole input is checked before anything is written.")
        { collection, input, batch, encoder, factory, noCompact, root, device, server, key };
        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            int size = pr.GetValue(batch);
            if (size < 1) throw new InvalidInputException($"--batch-size must be at least 1, got {size}");
            var path = pr.GetValue(input)!;
            // Checked whole first (strict: the first malformed record stops everything), so bad input writes nothing.
            long total = DocumentSource.Open(path, new IngestOptions { Strict = true }).LongCount();
            if (total == 0) throw new InvalidInputException($"{path} holds no documents");
            if (pr.GetValue(server) is { } address)
                return UpsertRemote(address, pr.GetValue(key), pr.GetValue(collection)!, path, total, size);
            var options = new WriterOptions
            {
                Device = pr.GetValue(device)!,
                MaxBatchDocuments = Math.Max(size, new WriterOptions().MaxBatchDocuments),
                CreateWith = store.Exists ? null : new BuildOptions
                {
                    EncoderPath = EncoderArgument.Resolve(pr.GetValue(encoder)),
                    Factory = pr.GetValue(factory)!,
                    Device = pr.GetValue(device)!,
                    Source = Path.GetFullPath(path),
                },
            };
            using var writer = CollectionWriter.Open(store, options);
            Console.Error.WriteLine($"dss: upserting {total:N0} documents from {path} into '{store.Name}' in batches of {size}");
            long done = 0, upserted = 0, unchanged = 0;
            int n = 0;
            foreach (var part in DocumentSource.Open(path, new IngestOptions { Strict = true }).Chunk(size))
            {
                var r = writer.Upsert(part);
                n++;
                done += part.Length;
                upserted += r.Upserted;
                unchanged += r.Unchanged;
                Console.WriteLine(r.Seq > 0
                    ? $"acknowledged batch {n}: seq {r.Seq}, {r.Upserted} upserted, {r.Unchanged} unchanged, {r.Chunks} chunks, {r.Elapsed.TotalMilliseconds:F0} ms ({done:N0}/{total:N0})"
                    : $"batch {n}: nothing to write ({r.Unchanged} unchanged) ({done:N0}/{total:N0})");
            }
            Console.WriteLine($"upserted {upserted:N0}, unchanged {unchanged:N0} in '{store.Name}'; last seq {writer.LastSeq}");
            MaybeCompact(writer, pr.GetValue(noCompact));
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    public static Command Delete()
    {
        var collection = CommonOptions.Collection();
        var ids = new Option<string[]>("--id") { Description = "A document id to delete (repeat for several)" };
        var idsFile = new Option<string?>("--ids-file") { Description = "A file of document ids to delete, one per line" };
        var noCompact = NoCompact();
        var root = CommonOptions.IndexRoot();
        var server = QueryCommand.Server(required: false);
        var key = QueryCommand.Key();
        var cmd = new Command("delete", "Delete documents from a collection, in one atomic batch; an unknown id deletes nothing.")
        { collection, ids, idsFile, noCompact, root, server, key };
        cmd.SetAction(pr =>
        {
            var list = new List<string>(pr.GetValue(ids) ?? []);
            if (pr.GetValue(idsFile) is { } file)
            {
                if (!File.Exists(file)) throw new InvalidInputException($"ids file not found: {file}");
                list.AddRange(File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0));
            }
            if (list.Count == 0) throw new InvalidInputException("nothing to delete: give --id ID or --ids-file FILE");
            if (pr.GetValue(server) is { } address)
            {
                using var client = QueryCommand.Connect(address, pr.GetValue(key));
                var d = client.DeleteAsync(pr.GetValue(collection)!, list).GetAwaiter().GetResult();
                Console.WriteLine($"acknowledged batch: seq {d.Seq}, {d.Deleted} deleted from '{pr.GetValue(collection)}' at {client.Address}");
                return CliRunner.ExitOk;
            }
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var writer = CollectionWriter.Open(store, new WriterOptions { MaxBatchDocuments = Math.Max(list.Count, new WriterOptions().MaxBatchDocuments) });
            var r = writer.Delete(list);
            Console.WriteLine($"acknowledged batch: seq {r.Seq}, {r.Deleted} deleted from '{store.Name}', {r.Elapsed.TotalMilliseconds:F0} ms");
            MaybeCompact(writer, pr.GetValue(noCompact));
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    public static Command Compact()
    {
        var collection = CommonOptions.Collection();
        var root = CommonOptions.IndexRoot();
        var cmd = new Command("compact", "Rebuild the collection's snapshot from its store: drop deleted and superseded entries, move upserted vectors into the FAISS file. Reads and writes go on meanwhile.")
        { collection, root };
        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var writer = CollectionWriter.Open(store);
            RunCompaction(writer);
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    /// <summary>`dss upsert --server`: the same checked input, streamed batch by batch through the service (which compacts by itself).</summary>
    static int UpsertRemote(string address, string? key, string collection, string path, long total, int size)
    {
        using var client = QueryCommand.Connect(address, key);
        Console.Error.WriteLine($"dss: upserting {total:N0} documents from {path} into '{collection}' at {client.Address} in batches of {size}");
        var batches = DocumentSource.Open(path, new IngestOptions { Strict = true }).Chunk(size)
            .Select(part => (IReadOnlyList<Service.V1.Document>)[.. part.Select(Client.DocumentMessages.From)]);
        var acks = client.UpsertAsync(collection, batches).GetAwaiter().GetResult();
        long done = 0, upserted = 0, unchanged = 0, last = 0;
        foreach (var r in acks)
        {
            done += r.Upserted + r.Unchanged;
            upserted += r.Upserted;
            unchanged += r.Unchanged;
            last = Math.Max(last, r.Seq);
            Console.WriteLine(r.Seq > 0
                ? $"acknowledged batch {r.BatchNumber}: seq {r.Seq}, {r.Upserted} upserted, {r.Unchanged} unchanged, {r.Chunks} chunks, {r.ElapsedMs:F0} ms ({done:N0}/{total:N0})"
                : $"batch {r.BatchNumber}: nothing to write ({r.Unchanged} unchanged) ({done:N0}/{total:N0})");
        }
        Console.WriteLine($"upserted {upserted:N0}, unchanged {unchanged:N0} in '{collection}' at {client.Address}; last seq {last}");
        return CliRunner.ExitOk;
    }

    static Option<bool> NoCompact() => new("--no-compact")
    { Description = "Do not compact afterwards, even when enough entries wait to be reclaimed (10% of the documents, or 50,000 vectors)" };

    /// <summary>Compacts when <see cref="CollectionWriter.CompactionAdvised"/> says it pays (every live write verb ends with this).</summary>
    internal static void MaybeCompact(CollectionWriter writer, bool skip)
    {
        if (skip || !writer.CompactionAdvised()) return;
        RunCompaction(writer);
    }

    static void RunCompaction(CollectionWriter writer)
    {
        var r = ConsoleProgress.Run(progress => writer.Compact(progress));
        Console.WriteLine($"compacted '{writer.Store.Name}' into {r.Snapshot}: {r.Documents:N0} documents, {r.IndexedVectors:N0} vectors, {r.ReclaimedRows:N0} removed rows dropped, at seq {r.CaughtUpToSeq} in {r.Elapsed.TotalSeconds:F1} s");
    }
}
