using System.Text.Json;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>The `dss` verbs end to end, as a user runs them: a real process, real Lucene, FAISS and TorchSharp.</summary>
public class CliEndToEndTests(CliFixture f) : IClassFixture<CliFixture>
{
    [Theory]
    [InlineData()]
    [InlineData("index")]
    [InlineData("search")]
    [InlineData("eval")]
    [InlineData("embed")]
    [InlineData("info")]
    [InlineData("encoder", "init")]
    [InlineData("encoder", "import")]
    [InlineData("encoder", "export")]
    [InlineData("encoder", "pull")]
    [InlineData("encoder", "list")]
    public void Every_command_has_help(params string[] verb)
    {
        var r = Dss.Ok([.. verb, "--help"]);
        Assert.Contains("Usage:", r.Stdout);
        Assert.Contains("--help", r.Stdout);
    }

    [Fact]
    public void Bm25_collection_indexes_searches_and_evaluates()
    {
        Dss.Ok("index", "--collection", "lex", "--corpus", f.Corpus, "--index-root", f.IndexRoot, "--encoder", "none");

        var hits = Dss.Ok("search", "-c", "lex", "-q", "lava from magma", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Equal("bm25", hits.GetProperty("mode").GetString());
        Assert.Equal("d4", hits.GetProperty("hits")[0].GetProperty("id").GetString());
        Assert.Equal("Volcanoes", hits.GetProperty("hits")[0].GetProperty("title").GetString());

        var report = f.PathOf("lex-eval.json");
        var ev = Dss.Ok("eval", "-c", "lex", "--queries", f.Queries, "--qrels", f.Qrels, "--index-root", f.IndexRoot, "--json", report);
        Assert.Contains("3 judged, 1 skipped", ev.Stdout);
        // Each judged query's only relevant document shares its words and nothing else does: a perfect ranking.
        var json = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        Assert.Equal(1.0, json.GetProperty("ndcg").GetDouble(), 6);
        Assert.Equal(1.0, json.GetProperty("mrr").GetDouble(), 6);

        var info = Dss.Ok("info", "-c", "lex", "--index-root", f.IndexRoot);
        Assert.Contains("documents    6 live", info.Stdout);
        Assert.Contains("dense        none", info.Stdout);
    }

    [Fact]
    public void Index_without_an_encoder_option_uses_the_default_pretrained_encoder()
    {
        var r = Dss.Ok("index", "--collection", "default-enc", "--corpus", f.Corpus, "--index-root", f.IndexRoot);
        Assert.Contains("384-d vectors", r.Stdout);
        var info = Dss.Ok("info", "-c", "default-enc", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Contains("minilm-l6|mean|l2|sha256:", info.GetProperty("dense").GetProperty("encoder_identity").GetString());

        // meaning without shared words: a random or untrained encoder does not rank these first
        foreach (var (query, expected) in new[] { ("programmed cell death", "d1"), ("sugar level in the bloodstream", "d6"), ("stars collapsing into singularities", "d5") })
        {
            var hits = Dss.Ok("search", "-c", "default-enc", "-q", query, "--mode", "dense", "-k", "3", "--index-root", f.IndexRoot, "--json").Json;
            Assert.Equal(expected, hits.GetProperty("hits")[0].GetProperty("id").GetString());
        }
        var hybrid = Dss.Ok("search", "-c", "default-enc", "-q", "lava from magma", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Equal("hybrid", hybrid.GetProperty("mode").GetString());
        Assert.Equal("d4", hybrid.GetProperty("hits")[0].GetProperty("id").GetString());
    }

    [Fact]
    public void Hybrid_collection_with_an_encoder_searches_in_every_mode()
    {
        Dss.Ok("index", "--collection", "hyb", "--corpus", f.Corpus, "--encoder", f.Encoder, "--index-root", f.IndexRoot, "--chunk-tokens", "16", "--chunk-overlap", "4");
        var info = Dss.Ok("info", "-c", "hyb", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Equal(64, info.GetProperty("dense").GetProperty("dimension").GetInt32());
        Assert.True(info.GetProperty("chunks").GetInt64() > 6, "16-token chunks split some documents");

        foreach (var mode in new[] { "bm25", "dense", "hybrid" })
        {
            var r = Dss.Ok("search", "-c", "hyb", "-q", "p53 apoptosis", "--mode", mode, "-k", "6", "--index-root", f.IndexRoot, "--json").Json;
            var ids = r.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()).ToList();
            Assert.Equal(ids.Distinct().Count(), ids.Count); // chunks collapse to documents
            Assert.Equal(mode == "bm25" ? 1 : 6, ids.Count);
        }
        var minmax = Dss.Ok("search", "-c", "hyb", "-q", "p53 apoptosis", "--fusion", "minmax", "--alpha", "0", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Equal("d1", minmax.GetProperty("hits")[0].GetProperty("id").GetString()); // alpha 0 = lexical order
    }

    [Fact]
    public void Embed_reproduces_the_transformers_mean_pooled_golden()
    {
        var texts = JsonDocument.Parse(File.ReadAllText(Repo.SharedPath("fixtures", "bert-golden", "tokenizer_golden.json"))).RootElement
            .EnumerateArray().Select(e => e.GetProperty("text").GetString()!).ToList();
        var args = new List<string> { "embed", "--encoder", Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf"), "--json" };
        foreach (var t in texts) { args.Add("--text"); args.Add(t); }
        var r = Dss.Ok([.. args]).Json;
        using var golden = Torch.SafeTensors.SafeTensorsFile.Open(Repo.SharedPath("fixtures", "bert-golden", "tiny", "golden.safetensors"));
        var expected = golden.ReadFloats("mean_pooled");
        int dim = r.GetProperty("dimension").GetInt32();
        var rows = r.GetProperty("embeddings").EnumerateArray().ToList();
        Assert.Equal(texts.Count, rows.Count);
        double maxDiff = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var v = rows[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            Assert.Equal(dim, v.Length);
            for (int j = 0; j < dim; j++) maxDiff = Math.Max(maxDiff, Math.Abs(v[j] - expected[i * dim + j]));
        }
        Assert.True(maxDiff < 1e-4, $"max |diff| {maxDiff}");
    }
}
