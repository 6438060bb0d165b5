using System.Text.Json;

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
    public void Fine_tunes_the_default_pretrained_encoder_on_cpu_and_inherits_its_settings()
    {
        var model = f.PathOf("minilm-ft");
        string data = Directory.CreateDirectory(f.PathOf("minilm-ft-data")).FullName, qrels = Path.Combine(data, "train.tsv");
        File.Copy(f.Qrels, qrels);                                 // a folder of its own: no test.tsv of another test beside it
        var r = Dss.Ok(["train", "-o", model, "--init", "minilm-l6", "--corpus", f.Corpus, "--queries", f.Queries, "--qrels", qrels,
            "--max-steps", "2", "--batch-size", "2", "--dev-fraction", "0", "--lr", "1e-4", "--device", "cpu"]);
        Assert.Contains("trained 2 step", r.Stdout);
        var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "dual_encoder.json"))).RootElement;
        Assert.Equal(("mean", true, 256), (settings.GetProperty("pooling").GetString(), settings.GetProperty("normalize").GetBoolean(),
            settings.GetProperty("max_document_length").GetInt32()));                  // minilm-l6's, not the from-scratch defaults

        Dss.Ok("index", "-c", "minilm-ft", "--corpus", f.Corpus, "--encoder", model, "--index-root", f.IndexRoot);
        var info = Dss.Ok("info", "-c", "minilm-ft", "--index-root", f.IndexRoot, "--json").Json;
        string identity = info.GetProperty("dense").GetProperty("encoder_identity").GetString()!;
        Assert.Contains("|mean|l2|sha256:", identity);
        Assert.DoesNotContain("minilm-l6|", identity);                                  // its own weights, not the pulled ones
        var hits = Dss.Ok("search", "-c", "minilm-ft", "-q", "programmed cell death", "--mode", "dense", "-k", "1", "--index-root", f.IndexRoot, "--json").Json;
        Assert.Equal("d1", hits.GetProperty("hits")[0].GetProperty("id").GetString());   // two small steps keep what it knew
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
