using DeepSeek.Search.Core;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss shard split` through the real program: the shard folders, the JSON summary, and its bad input (one line, exit 2).</summary>
public class CliShardTests(CliFixture f) : IClassFixture<CliFixture>
{
    [Fact]
    public void Shard_split_writes_one_index_root_per_shard_routes_by_ShardOf_and_reuses_every_vector()
    {
        Dss.Ok("index", "-c", "sh", "--corpus", f.Corpus, "--encoder", f.Encoder, "--index-root", f.IndexRoot, "--chunk-tokens", "16", "--chunk-overlap", "4");
        var outDir = f.PathOf("sh-out");
        var r = Dss.Ok("shard", "split", "-c", "sh", "--index-root", f.IndexRoot, "--shards", "3", "--out", outDir, "--json").Json;
        Assert.Equal("sh", r.GetProperty("collection").GetString());
        Assert.True(r.GetProperty("dense").GetBoolean());
        var shards = r.GetProperty("shards").EnumerateArray().ToList();
        Assert.Equal(3, shards.Count);
        Assert.Equal(CliFixture.Docs.Length, shards.Sum(s => s.GetProperty("documents").GetInt64()));
        Assert.All(shards, s => Assert.Equal(0, s.GetProperty("vectors_encoded").GetInt64()));
        Assert.All(shards, s => Assert.Equal(s.GetProperty("chunks").GetInt64(), s.GetProperty("vectors_reused").GetInt64()));
        Assert.Equal(["shard-0", "shard-1", "shard-2"], Directory.EnumerateDirectories(outDir).Select(Path.GetFileName).Order());
        for (int i = 0; i < 3; i++)
        {
            var store = CollectionStore.At(Path.Combine(outDir, $"shard-{i}"), "sh");
            Assert.True(store.Exists);
            using var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
            var ids = ds.DocumentsAt(ds.LastSeq).Select(d => d.Id).ToList();
            Assert.Equal(shards[i].GetProperty("documents").GetInt64(), ids.Count);
            Assert.All(ids, id => Assert.Equal(i, StableHash.ShardOf(id, 3)));
            // Each shard is an index root a search serves.
            Dss.Ok("search", "-c", "sh", "--index-root", Path.Combine(outDir, $"shard-{i}"), "--mode", "dense", "-q", "lava");
        }

        // The table form, then the errors: an existing target, an unknown collection, a shard count out of range.
        var table = Dss.Ok("shard", "split", "-c", "sh", "--index-root", f.IndexRoot, "--shards", "2", "--out", f.PathOf("sh-out2"));
        Assert.Contains("reused", table.Stdout, StringComparison.Ordinal);
        Dss.Fails("already exists", "shard", "split", "-c", "sh", "--index-root", f.IndexRoot, "--shards", "3", "--out", outDir);
        Dss.Fails("unknown collection 'nope'", "shard", "split", "-c", "nope", "--index-root", f.IndexRoot, "--shards", "2", "--out", f.PathOf("sh-out3"));
        Dss.Fails("--shards must be between 1 and 64", "shard", "split", "-c", "sh", "--index-root", f.IndexRoot, "--shards", "65", "--out", f.PathOf("sh-out3"));
        Dss.Fails("--shards must be between 1 and 64", "shard", "split", "-c", "sh", "--index-root", f.IndexRoot, "--shards", "0", "--out", f.PathOf("sh-out3"));
        Assert.False(Directory.Exists(f.PathOf("sh-out3")));
    }
}
