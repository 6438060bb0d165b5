namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss train-lm` as a user runs it: a tiny MoE model on the fixture corpus, then `dss generate` on the folder it wrote.</summary>
public class CliTrainLmTests(CliFixture f) : IClassFixture<CliFixture>
{
    static readonly string[] Tiny =
    [
        "--vocab-size", "300", "--seq-len", "16", "--batch-size", "4", "--hidden", "32", "--heads", "2", "--kv-lora-rank", "16",
        "--qk-nope-dim", "8", "--qk-rope-dim", "8", "--v-head-dim", "8", "--intermediate", "64", "--moe-intermediate", "32", "--experts", "4",
    ];

    [Fact]
    public void Trains_a_model_that_generate_loads()
    {
        var model = f.PathOf("lm");
        var r = Dss.Ok(["train-lm", "--corpus", f.Corpus, "--out", model, "--max-steps", "4", "--log-every", "2", "--bias-update-speed", "0.01", .. Tiny]);
        Assert.Contains("trained 4 step(s)", r.Stdout);
        Assert.Contains("validation", r.Stdout);
        Assert.Contains("step 2/4 loss", r.Stderr);
        Assert.Contains("layer 1: share min", r.Stderr);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "training_curve.csv", "training_curve.png" })
            Assert.True(File.Exists(Path.Combine(model, file)), file + " missing");
        Assert.False(Directory.Exists(model + ".partial"));

        var g = Dss.Ok("generate", "--model", model, "--prompt-ids", "0,40,41,42", "--max-new", "3", "--greedy", "--ignore-eos", "--json").Json;
        Assert.Equal(3, g.GetProperty("generated_ids").GetArrayLength());

        var logits = f.PathOf("lm-logits.safetensors");
        var t = Dss.Ok("generate", "--model", model, "--prompt", "Insulin lowers", "--max-new", "2", "--greedy", "--logits", logits, "--json").Json;
        Assert.Equal(0, t.GetProperty("sequences")[0].GetProperty("prompt_ids")[0].GetInt32()); // BOS from the trained tokenizer
        Assert.True(new FileInfo(logits).Length > 8);

        // the same output again: refused without --overwrite, and the model stays
        Dss.Fails("already exists", ["train-lm", "--corpus", f.Corpus, "--out", model, "--max-steps", "2", .. Tiny]);
        Assert.True(File.Exists(Path.Combine(model, "model.safetensors")));
    }

    [Fact]
    public void Empty_corpus_is_one_error_line()
    {
        var empty = f.PathOf("empty-lm-corpus.jsonl");
        File.WriteAllText(empty, "");
        Dss.Fails("no text", ["train-lm", "--corpus", empty, "--out", f.PathOf("never-lm"), .. Tiny]);
        Assert.False(Directory.Exists(f.PathOf("never-lm")));
        Assert.False(Directory.Exists(f.PathOf("never-lm") + ".partial"));
        Dss.Fails("--experts-per-token", ["train-lm", "--corpus", f.Corpus, "--out", f.PathOf("never-lm"), "--experts-per-token", "5", .. Tiny]);
    }
}

/// <summary>`dss generate` on the transformers-made golden checkpoints, as the acceptance command runs it.</summary>
public class CliGenerateGoldenTests
{
    [Theory]
    [InlineData("A", "hf")]
    [InlineData("B", "hf_fused")]
    public void Greedy_json_prints_the_fixture_continuation(string variant, string layout)
    {
        var golden = System.Text.Json.JsonDocument.Parse(File.ReadAllText(DeepSeek.Search.TestKit.Repo.SharedPath("fixtures", "deepseek-v3-golden", variant, "golden.json")));
        var row = golden.RootElement.GetProperty("greedy_ids")[0].EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var prompt = row[..^8];
        var g = Dss.Ok("generate", "--model", DeepSeek.Search.TestKit.Repo.SharedPath("fixtures", "deepseek-v3-golden", variant, layout),
            "--prompt-ids", string.Join(',', prompt), "--max-new", "8", "--greedy", "--json").Json;
        Assert.Equal(row[^8..], g.GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.Equal(prompt, g.GetProperty("sequences")[0].GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }
}
