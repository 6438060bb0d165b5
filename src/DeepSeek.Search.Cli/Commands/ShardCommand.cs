using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss shard split`: a collection split into N shards by document id (<see cref="ShardSplitter"/>, routing by
/// <see cref="StableHash.ShardOf"/>), each shard a collection of the same name under its own index root OUT/shard-i, built
/// with the source's options and reusing its vectors.
/// </summary>
static class ShardCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var root = CommonOptions.IndexRoot();
        var shards = new Option<int>("--shards", "-n") { Description = $"Number of shards, 1 to {ShardSplitter.MaxShards}", Required = true };
        var output = new Option<string>("--out", "-o")
        { Description = "Folder to write the shards to: OUT/shard-0/COLLECTION … OUT/shard-(N-1)/COLLECTION, each OUT/shard-i an index root (no shard may exist yet)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print a machine-readable summary (JSON) instead of the table" };
        var device = CommonOptions.Device("the encoder (only for a chunk whose vector cannot be reused)");

        var split = new Command("split",
            "Split a collection into N shards by document id: document D goes to shard StableHash.ShardOf(D, N), with its metadata and ACL. " +
            "Each shard is built with the source's options (encoder copy, chunk window and overlap, FAISS factory, BM25 settings) and reuses the " +
            "source's vectors instead of encoding again, so a shard's dense scores equal the source's. Serve shard i with " +
            "`dss serve --index-root OUT/shard-i`. The source is read at one snapshot and batch and is not changed. All shards are built in " +
            "hidden staging folders first and moved into place only when every one is built: a failure writes no shard.")
        { collection, root, shards, output, json, device };
        split.SetAction(pr =>
        {
            int n = pr.GetValue(shards);
            if (n < 1 || n > ShardSplitter.MaxShards)
                throw new InvalidInputException($"--shards must be between 1 and {ShardSplitter.MaxShards}, got {n}") { Setting = "shards" };
            var source = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            if (!source.Exists) throw new CollectionNotFoundException(source.Name, source.Root);
            var outDir = Path.GetFullPath(pr.GetValue(output)!);
            var targets = Enumerable.Range(0, n).Select(i => CollectionStore.At(Path.Combine(outDir, $"shard-{i}"), source.Name)).ToList();
            var options = new ShardSplitOptions { Device = pr.GetValue(device)! };
            if (!pr.GetValue(json)) Console.Error.WriteLine($"dss: splitting '{source.Name}' into {n} shards under {outDir}");
            var result = ConsoleProgress.Run(progress => ShardSplitter.Split(source, targets, options, progress));
            if (pr.GetValue(json))
            {
                Console.WriteLine(Json.Serialize(result));
                return CliRunner.ExitOk;
            }
            Console.WriteLine($"split '{result.Collection}' (snapshot {result.SourceSnapshot}, batch {result.SourceSeq}) into {n} shards under {outDir}:");
            Console.WriteLine($"  {"shard",-6} {"documents",10} {"chunks",10} {"reused",10} {"encoded",10}  index root");
            foreach (var s in result.Shards)
                Console.WriteLine($"  {s.Shard,-6} {s.Documents,10:N0} {s.Chunks,10:N0} {s.VectorsReused,10:N0} {s.VectorsEncoded,10:N0}  {s.Root}");
            if (!result.Dense) Console.WriteLine("  (lexical-only collection: no vectors)");
            return CliRunner.ExitOk;
        });
        return new Command("shard", "Sharded collections: `dss shard split` splits a collection into N shards by document id.") { split };
    }
}
