using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// Bad input gets one `dss: error:` line naming the problem and exit code 2; a failed build leaves no partial
/// generation and the previous one keeps serving.
/// </summary>
public class CliBadInputTests(CliFixture f) : IClassFixture<CliFixture>
{
    string Root => f.IndexRoot;

    string IndexGood(string name, bool dense = false)
    {
        var args = new List<string> { "index", "-c", name, "--corpus", f.Corpus, "--index-root", Root };
        args.AddRange(["--encoder", dense ? f.Encoder : "none"]);
        Dss.Ok([.. args]);
        return Path.Combine(Root, name);
    }

    static string CurrentGeneration(string collectionDir) =>
        Path.Combine(collectionDir, File.ReadAllText(Path.Combine(collectionDir, "CURRENT")).Trim());

    void AssertStillServes(string name)
    {
        var r = Dss.Ok("search", "-c", name, "-q", "insulin glucose", "--mode", "bm25", "--index-root", Root, "--json").Json;
        Assert.Equal("d6", r.GetProperty("hits")[0].GetProperty("id").GetString());
        Assert.Empty(Directory.GetDirectories(Path.Combine(Root, name), ".building-*"));
    }

    [Fact]
    public void Missing_corpus_file()
    {
        Dss.Fails("not found", "index", "-c", "x", "--corpus", f.PathOf("nope.jsonl"), "--index-root", Root, "--encoder", "none");
        Assert.False(Directory.Exists(Path.Combine(Root, "x", "CURRENT")));
    }

    [Fact]
    public void Unknown_collection()
    {
        Dss.Fails("unknown collection 'ghost'", "search", "-c", "ghost", "-q", "x", "--index-root", Root);
        Dss.Fails("unknown collection 'ghost'", "info", "-c", "ghost", "--index-root", Root);
        Dss.Fails("unknown collection 'ghost'", "eval", "-c", "ghost", "--queries", f.Queries, "--qrels", f.Qrels, "--index-root", Root);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_query(string query)
    {
        IndexGood("emptyq");
        Dss.Fails("empty query", "search", "-c", "emptyq", "-q", query, "--index-root", Root);
    }

    [Fact]
    public void Huge_query_is_rejected()
    {
        IndexGood("hugeq");
        Dss.Fails("longer than the limit", "search", "-c", "hugeq", "-q", new string('a', 9000), "--index-root", Root);
    }

    [Fact]
    public void Malformed_jsonl_strict_fails_with_line_and_keeps_previous_generation()
    {
        var dir = IndexGood("strict");
        var before = CurrentGeneration(dir);
        var bad = f.PathOf("bad-strict.jsonl");
        File.WriteAllLines(bad, ["{\"_id\": \"a\", \"title\": \"t\", \"text\": \"ok\"}", "{\"_id\": \"b\", \"text\": ", "{\"_id\": \"c\", \"text\": \"ok\"}"]);
        Dss.Fails("bad-strict.jsonl:2", "index", "-c", "strict", "--corpus", bad, "--strict", "--index-root", Root, "--encoder", "none");
        Assert.Equal(before, CurrentGeneration(dir));
        AssertStillServes("strict");
    }

    [Fact]
    public void Malformed_jsonl_lenient_skips_and_reports_the_line()
    {
        var bad = f.PathOf("bad-lenient.jsonl");
        File.WriteAllLines(bad, ["{\"_id\": \"a\", \"title\": \"t\", \"text\": \"insulin\"}", "not json at all", "{\"_id\": \"c\", \"text\": \"lava\"}"]);
        var r = Dss.Ok("index", "-c", "lenient", "--corpus", bad, "--index-root", Root, "--encoder", "none");
        Assert.Contains("bad-lenient.jsonl:2", r.Stderr);
        Assert.Contains("indexed 2 documents", r.Stdout);
        Assert.Contains("skipped 1", r.Stdout);
    }

    [Fact]
    public void Corpus_with_no_documents_fails_and_keeps_previous_generation()
    {
        var dir = IndexGood("emptycorpus");
        var before = CurrentGeneration(dir);
        var empty = f.PathOf("empty.jsonl");
        File.WriteAllText(empty, "\n");
        Dss.Fails("no documents", "index", "-c", "emptycorpus", "--corpus", empty, "--index-root", Root, "--encoder", "none");
        Assert.Equal(before, CurrentGeneration(dir));
        AssertStillServes("emptycorpus");
    }

    [Fact]
    public void Corrupt_faiss_file_is_reported()
    {
        var gen = CurrentGeneration(IndexGood("badfaiss", dense: true));
        var faiss = Path.Combine(gen, "dense.faiss");
        var bytes = File.ReadAllBytes(faiss);
        File.WriteAllBytes(faiss, bytes[..(bytes.Length / 2)]);
        Dss.Fails("dense.faiss", "search", "-c", "badfaiss", "-q", "p53", "--index-root", Root);
        File.WriteAllText(faiss, "garbage, not a FAISS index");
        Dss.Fails("dense.faiss", "search", "-c", "badfaiss", "-q", "p53", "--index-root", Root);
    }

    [Fact]
    public void Corrupt_manifest_is_reported()
    {
        var gen = CurrentGeneration(IndexGood("badmanifest"));
        File.WriteAllText(Path.Combine(gen, "manifest.json"), "{ \"format_version\": 1, \"documents\": ");
        Dss.Fails("manifest", "search", "-c", "badmanifest", "-q", "insulin", "--index-root", Root);
        Dss.Fails("manifest", "info", "-c", "badmanifest", "--index-root", Root);
    }

    [Fact]
    public void Encoder_with_another_dimension_is_a_mismatch()
    {
        IndexGood("dimmismatch", dense: true);
        var other = f.PathOf("enc32");
        Dss.Ok("encoder", "init", "--out", other, "--layers", "1", "--hidden", "32", "--heads", "2", "--ffn", "64");
        Dss.Fails("32-d", "search", "-c", "dimmismatch", "-q", "p53", "--encoder", other, "--index-root", Root);
    }

    [Fact]
    public void Encoder_with_same_dimension_but_other_weights_is_a_mismatch()
    {
        IndexGood("idmismatch", dense: true);
        var other = f.PathOf("gelu-new");
        CliFixture.CopyTinyEncoder(other, "tiny-gelu-new");
        Dss.Fails("is not the one", "search", "-c", "idmismatch", "-q", "p53", "--encoder", other, "--index-root", Root);
    }

    [Fact]
    public void Dense_search_on_a_lexical_collection_is_explained()
    {
        IndexGood("lexonly");
        Dss.Fails("no dense index", "search", "-c", "lexonly", "-q", "p53", "--mode", "dense", "--index-root", Root);
    }

    [Fact]
    public void Dense_search_on_a_lexical_collection_names_the_flags()
    {
        IndexGood("lexflags");
        var r = Dss.Fails("no dense index", "search", "-c", "lexflags", "-q", "p53", "--mode", "hybrid", "--index-root", Root);
        Assert.Contains("dss: error: collection 'lexflags' has no dense index (it was built without --encoder); use --mode bm25\n",
            r.Stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Bad_option_values()
    {
        IndexGood("badopts");
        Dss.Fails("alpha", "search", "-c", "badopts", "-q", "p53", "--alpha", "2", "--fusion", "minmax", "--index-root", Root);
        Dss.Fails("k must be", "search", "-c", "badopts", "-q", "p53", "-k", "0", "--index-root", Root);
        Dss.Fails("invalid collection name", "index", "-c", "../evil", "--corpus", f.Corpus, "--index-root", Root, "--encoder", "none");
        Dss.Fails("FAISS", "index", "-c", "badfactory", "--corpus", f.Corpus, "--encoder", f.Encoder, "--faiss", "Bogus99", "--index-root", Root);
        Assert.False(File.Exists(Path.Combine(Root, "badfactory", "CURRENT")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(Root, "badfactory"), ".building-*"));
    }

    [Fact]
    public void Malformed_qrels_names_file_and_line()
    {
        IndexGood("badqrels");
        var q = f.PathOf("bad-qrels.tsv");
        File.WriteAllText(q, "query-id\tcorpus-id\tscore\nq1\td1\n");
        Dss.Fails("bad-qrels.tsv:2", "eval", "-c", "badqrels", "--queries", f.Queries, "--qrels", q, "--index-root", Root);
    }
}
