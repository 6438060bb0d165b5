namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss train` as a user runs it: a tiny model on the fixture corpus, then indexed and searched; failures keep old models.</summary>
public class CliTrainTests(CliFixture f) : IClassFixture<CliFixture>
{
    static readonly string[] Tiny = ["--layers", "1", "--hidden", "32", "--heads", "2", "--ffn", "64", "--max-doc-length", "64", "--max-query-length", "32"];

    [Fact]
    public void Trains_a_model_that_index_and_search_load()
    {
        var model = f.PathOf("trained");
        var r = Dss.Ok(["train", "-o", model, "--corpus", f.Corpus, "--self-supervised", "crop", "--max-steps", "6", "--batch-size", "4", .. Tiny]);
        Assert.Contains("trained 6 step", r.Stdout);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.txt", "dual_encoder.json", "training_curve.csv", "training_curve.png" })
            Assert.True(File.Exists(Path.Combine(model, file)), file + " missing");
        Assert.False(Directory.Exists(model + ".partial"));

        Dss.Ok("index", "-c", "trained", "--corpus", f.Corpus, "--encoder", model, "--index-root", f.IndexRoot);
        var hits = Dss.Ok("search", "-c", "trained", "-q", "insulin and glucose", "--mode", "dense", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Equal(CliFixture.Docs.Length, hits.GetProperty("hits").GetArrayLength()); // every document reachable densely
    }

    [Fact]
    public void Masked_lm_pretraining_runs_first_and_help_lists_its_options()
    {
        var help = Dss.Ok("train", "--help").Stdout;
        foreach (var option in new[] { "--mlm-epochs", "--mlm-lr", "--mlm-batch-size", "--mlm-probability" }) Assert.Contains(option, help);
        Assert.Contains("[default: 0.15]", help);

        var model = f.PathOf("mlm-trained");
        var r = Dss.Ok(["train", "-o", model, "--corpus", f.Corpus, "--self-supervised", "crop", "--mlm-epochs", "2", "--mlm-batch-size", "4", "--max-steps", "2", "--batch-size", "4", "--log-every", "1", .. Tiny]);
        Assert.Contains("masked-LM pretraining: 2 epochs, ", r.Stdout);
        Assert.Contains("masked LM step 1/", r.Stderr);
        Assert.True(File.Exists(Path.Combine(model, "mlm_curve.csv")));
        Assert.False(Directory.Exists(Path.Combine(model, "mlm")));
    }

    [Fact]
    public void Failed_run_leaves_an_existing_model_untouched()
    {
        var model = f.PathOf("existing-model");
        Directory.CreateDirectory(model);
        File.WriteAllText(Path.Combine(model, "marker.txt"), "keep me");
        var empty = f.PathOf("empty-corpus.jsonl");
        File.WriteAllText(empty, "");
        var r = Dss.Run(["train", "-o", model, "--overwrite", "--corpus", empty, "--max-steps", "2", .. Tiny]);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("dss: error:"));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(model, "marker.txt")));
    }

    [Fact]
    public void Test_qrels_are_refused_as_training_data()
    {
        var testQrels = f.PathOf("test.tsv");
        File.Copy(f.Qrels, testQrels, overwrite: true);
        Dss.Fails("test.tsv", ["train", "-o", f.PathOf("never"), "--corpus", f.Corpus, "--queries", f.Queries, "--qrels", testQrels, .. Tiny]);
        Assert.False(Directory.Exists(f.PathOf("never")));
    }
}
