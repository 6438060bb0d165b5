using System.Text.Json;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss upsert`, `dss delete`, `dss compact` and the access options of `dss search`, through the real program.</summary>
public class CliLiveTests(CliFixture f) : IClassFixture<CliFixture>
{
    string Root => f.IndexRoot;

    string Jsonl(string name, params object[] records)
    {
        var path = f.PathOf(name);
        File.WriteAllLines(path, records.Select(r => r as string ?? JsonSerializer.Serialize(r)));
        return path;
    }

    string[] Ids(string collection, string query, params string[] extra)
    {
        var r = Dss.Ok(["search", "-c", collection, "-q", query, "--index-root", Root, "--json", "-k", "20", .. extra]).Json;
        return r.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).ToArray();
    }

    [Fact]
    public void Upsert_creates_prints_each_acknowledged_batch_and_delete_removes()
    {
        var input = Jsonl("live-a.jsonl",
            new { id = "x1", title = "Lava", text = "Magma rises through the crust." },
            new { id = "x2", title = "Cells", text = "Cells divide by mitosis." },
            new { id = "x3", title = "Trade", text = "Markets set the price of goods." });
        var r = Dss.Ok("upsert", "-c", "livea", "--input", input, "--batch-size", "2", "--encoder", f.Encoder, "--index-root", Root);
        Assert.Contains("acknowledged batch 1: seq 2, 2 upserted", r.Stdout);
        Assert.Contains("acknowledged batch 2: seq 3, 1 upserted", r.Stdout);
        Assert.Equal(["x1"], Ids("livea", "magma crust", "--mode", "bm25"));

        // The same input again changes nothing.
        r = Dss.Ok("upsert", "-c", "livea", "--input", input, "--index-root", Root);
        Assert.Contains("nothing to write (3 unchanged)", r.Stdout);

        r = Dss.Ok("delete", "-c", "livea", "--id", "x1", "--no-compact", "--index-root", Root);
        Assert.Contains("1 deleted", r.Stdout);
        Assert.Empty(Ids("livea", "magma crust", "--mode", "bm25"));
        Assert.Empty(Ids("livea", "magma crust", "--mode", "dense").Where(id => id == "x1"));
        r = Dss.Ok("compact", "-c", "livea", "--index-root", Root);
        Assert.Contains("compacted 'livea'", r.Stdout);
        Assert.Equal(2, Dss.Ok("search", "-c", "livea", "-q", "cells markets", "--index-root", Root, "--json").Json.GetProperty("hits").GetArrayLength());
    }

    [Fact]
    public void Principals_groups_and_filters_restrict_search_in_every_mode()
    {
        var input = Jsonl("live-acl.jsonl",
            new { id = "pub", title = "", text = "quarterly revenue report", metadata = new { year = 2021, lang = "en" } },
            new { id = "al", title = "", text = "quarterly revenue notes", metadata = new { year = 2023, lang = "de" }, acl = new { principals = new[] { "alice" } } },
            new { id = "fi", title = "", text = "quarterly revenue forecast", metadata = new { year = 2024, lang = "en" }, acl = new { groups = new[] { "finance" } } });
        Dss.Ok("upsert", "-c", "liveacl", "--input", input, "--encoder", f.Encoder, "--index-root", Root);
        foreach (var mode in new[] { "bm25", "dense", "hybrid" })
        {
            Assert.Equal(["al", "fi", "pub"], Ids("liveacl", "quarterly revenue", "--mode", mode));
            Assert.Equal(["al", "pub"], Ids("liveacl", "quarterly revenue", "--mode", mode, "--principal", "alice"));
            Assert.Equal(["fi", "pub"], Ids("liveacl", "quarterly revenue", "--mode", mode, "--principal", "bob", "--group", "finance"));
            Assert.Equal(["pub"], Ids("liveacl", "quarterly revenue", "--mode", mode, "--principal", "mallory"));
            Assert.Equal(["fi"], Ids("liveacl", "quarterly revenue", "--mode", mode, "--filter", "year >= 2022 AND lang = \"en\""));
            Assert.Equal(["al", "pub"], Ids("liveacl", "quarterly revenue", "--mode", mode, "--principal", "alice", "--filter", "NOT year = 2024"));
        }
    }

    [Fact]
    public void Bad_writes_get_one_error_line_and_leave_the_collection_as_it_was()
    {
        var good = Jsonl("live-good.jsonl", new { id = "g1", title = "", text = "basalt flows cool into rock" });
        Dss.Ok("upsert", "-c", "livebad", "--input", good, "--encoder", "none", "--index-root", Root);
        var before = Ids("livebad", "basalt rock");

        var malformed = Jsonl("live-malformed.jsonl", new { id = "n1", title = "", text = "new words" }, "{\"id\": \"n2\", \"text\": ");
        Dss.Fails("live-malformed.jsonl:2", "upsert", "-c", "livebad", "--input", malformed, "--index-root", Root);
        var badAcl = Jsonl("live-badacl.jsonl", new { id = "n3", title = "", text = "new words" }, new { id = "n4", title = "", text = "t", acl = new { groups = "finance" } });
        Dss.Fails("acl.groups", "upsert", "-c", "livebad", "--input", badAcl, "--index-root", Root);
        Dss.Fails("filter:", "search", "-c", "livebad", "-q", "basalt", "--filter", "year >= )", "--index-root", Root);
        Dss.Fails("unknown document id 'ghost'", "delete", "-c", "livebad", "--id", "g1", "--id", "ghost", "--index-root", Root);
        Dss.Fails("needs --principal", "search", "-c", "livebad", "-q", "basalt", "--group", "g", "--index-root", Root);

        using (var holder = CollectionWriter.Open(CollectionStore.At(Root, "livebad")))
        {
            var r = Dss.Fails("locked by another writer", "upsert", "-c", "livebad", "--input", good, "--index-root", Root);
            Assert.Contains($"pid {Environment.ProcessId}", r.Stderr);
            Dss.Fails("locked by another writer", "delete", "-c", "livebad", "--id", "g1", "--index-root", Root);
            Dss.Fails("locked by another writer", "index", "-c", "livebad", "--corpus", good, "--encoder", "none", "--index-root", Root);
        }
        Assert.Equal(before, Ids("livebad", "basalt rock"));
        Assert.Empty(Ids("livebad", "new words"));
        Assert.Equal(1, Dss.Ok("search", "-c", "livebad", "-q", "basalt", "--index-root", Root, "--json").Json.GetProperty("hits").GetArrayLength());
    }
}
