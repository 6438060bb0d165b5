using DeepSeek.Search.Core;
using DeepSeek.Search.Encode.Import;
using DeepSeek.Search.TestKit;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// <see cref="OnnxBertImporter"/> on small synthetic graphs (<see cref="SyntheticBertOnnx"/>): the intact graph imports with the
/// configuration it was built with and our BertModel reproduces ONNX Runtime on it; each broken part is one CheckpointException
/// naming the node or tensor, and nothing is written.
/// </summary>
public class OnnxBertImporterTests(Xunit.Abstractions.ITestOutputHelper log)
{
    static (string Onnx, string Vocab) Write(TempDir tmp, SyntheticBertOnnx graph)
    {
        string onnx = tmp.File("model.onnx"), vocab = tmp.File("vocab.txt");
        graph.Save(onnx, vocab);
        return (onnx, vocab);
    }

    [Theory]
    [InlineData("erf", false, "", 1e-12f, "gelu")]
    [InlineData("tanh", true, "", 1e-5f, "gelu_new")]
    [InlineData("relu", false, "bert.", 1e-7f, "relu", "gemm")]      // BertForSequenceClassification: Gemm of classifier.weight
    [InlineData("erf", true, "bert.", 1e-12f, "gelu", "matmul")]     // the head as an anonymous MatMul + classifier.bias
    public void Intact_graph_imports_and_matches_onnx_runtime(string activation, bool fusedLayerNorm, string prefix, float eps, string expectedAct, string head = "")
    {
        using var tmp = new TempDir();
        var graph = new SyntheticBertOnnx
        {
            Activation = activation, FusedLayerNorm = fusedLayerNorm, Prefix = prefix, Epsilon = eps, Layers = 2,
            ClassifierLabels = head.Length > 0 ? 3 : 0, ClassifierAsMatMul = head == "matmul",
        };
        var (onnx, vocab) = Write(tmp, graph);
        string outDir = tmp.File("imported");
        var result = OnnxBertImporter.Import(onnx, vocab, outDir, new OnnxImportOptions { MaxLength = 20 });

        var c = result.Config;
        Assert.Equal((40, 16, 2, 4, 32, 24, 2), (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.MaxPositionEmbeddings, c.TypeVocabSize));
        Assert.Equal(expectedAct, c.HiddenAct);
        Assert.Equal((double)eps, c.LayerNormEps, 1e-6 * eps);
        Assert.False(result.HasPooler);
        Assert.Equal(5 + 2 * 16, result.Tensors);

        // the same ids, one row padded: ONNX Runtime on the graph vs our BertModel on the imported folder
        long[] ids = { 2, 7, 12, 30, 8, 3, 2, 39, 5, 3, 0, 0 };
        long[] mask = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 };
        long[] types = { 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0 };
        var shape = new long[] { 2, 6 };
        float[] reference;
        using (var session = new InferenceSession(onnx))
        using (var idsV = OrtValue.CreateTensorValueFromMemory(ids, shape))
        using (var maskV = OrtValue.CreateTensorValueFromMemory(mask, shape))
        using (var typesV = OrtValue.CreateTensorValueFromMemory(types, shape))
        using (var run = new RunOptions())
        using (var outputs = session.Run(run, new Dictionary<string, OrtValue> { ["input_ids"] = idsV, ["attention_mask"] = maskV, ["token_type_ids"] = typesV }, new[] { "last_hidden_state" }))
            reference = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        float[] ours;
        using (var model = BertCheckpoint.Load(outDir))
        using (NewDisposeScope())
        using (no_grad())
            ours = Golden.ToArray(model.Forward(tensor(ids, shape), tensor(mask, shape), tensor(types, shape)).LastHiddenState);
        Assert.Equal(2 * 6 * 16, reference.Length);
        double diff = 0;
        for (int i = 0; i < reference.Length; i++)
            if (mask[i / 16] == 1) diff = Math.Max(diff, Math.Abs((double)reference[i] - ours[i]));
        log.WriteLine($"{activation}, {(fusedLayerNorm ? "LayerNormalization" : "decomposed LayerNorm")}{(head.Length > 0 ? $", {head} classifier head" : "")}: max |diff| vs ONNX Runtime {diff:G3}");
        Assert.True(diff < 1e-5, $"max |diff| {diff:G3}");
        Assert.True(reference.Max(Math.Abs) > 0.1f);
    }

    /// <summary>Import fails with a CheckpointException and leaves neither the output folder nor a staging folder.</summary>
    static CheckpointException ImportFails(SyntheticBertOnnx graph)
    {
        using var tmp = new TempDir();
        var (onnx, vocab) = Write(tmp, graph);
        string outDir = tmp.File("imported");
        var e = Assert.Throws<CheckpointException>(() => OnnxBertImporter.Import(onnx, vocab, outDir));
        Assert.Contains(onnx, e.Message);
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.GetDirectories(tmp.Path));
        return e;
    }

    [Fact]
    public void Missing_layer_norm_is_named()
    {
        var e = ImportFails(new SyntheticBertOnnx { OmitLayerNorm = "encoder.layer.1.attention.output.LayerNorm" });
        Assert.Contains("no 'encoder.layer.1.attention.output.LayerNorm.weight' (a missing LayerNorm)", e.Message);
    }

    [Fact]
    public void Unknown_activation_is_named()
    {
        var e = ImportFails(new SyntheticBertOnnx { Activation = "sin" });
        Assert.Matches(@"unknown activation at Sin node 'Sin_\d+' \(ops: Sin\)", e.Message);
    }

    [Fact]
    public void Head_split_that_is_not_the_hidden_size_is_named()
    {
        var e = ImportFails(new SyntheticBertOnnx { QuerySplit = (3, 4) });
        Assert.Matches(@"Reshape node 'Reshape_\d+' splits the query into 3 heads of 4, which is not the hidden size 16", e.Message);
    }

    [Fact]
    public void Anonymous_matmul_without_a_named_bias_is_named()
    {
        var e = ImportFails(new SyntheticBertOnnx { AnonymousBias = "encoder.layer.0.attention.self.key" });
        // anonymous initializers are numbered from 900 in graph order: the query's weight, then the key's weight '901'
        Assert.Matches(@"MatMul node 'MatMul_\d+' multiplies by the unnamed initializer '901' and no Add of a named bias follows it", e.Message);
    }

    [Fact]
    public void Layer_norms_with_different_epsilons_are_refused()
    {
        var model = new SyntheticBertOnnx().Build();
        // the first decomposed LayerNorm's epsilon constant (the Constant feeding the Add before the first Sqrt)
        var sqrt = model.Graph.Node.First(n => n.OpType == "Sqrt");
        var add = model.Graph.Node.First(n => n.Output.Contains(sqrt.Input[0]));
        var constant = model.Graph.Node.First(n => n.OpType == "Constant" && n.Output.Contains(add.Input[1]));
        constant.Attribute[0].T.RawData = Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes(1e-5f));
        using var tmp = new TempDir();
        using (var f = File.Create(tmp.File("model.onnx"))) Google.Protobuf.MessageExtensions.WriteTo(model, f);
        File.WriteAllLines(tmp.File("vocab.txt"), new SyntheticBertOnnx().VocabLines());
        var e = Assert.Throws<CheckpointException>(() => OnnxBertImporter.Import(tmp.File("model.onnx"), tmp.File("vocab.txt"), tmp.File("out")));
        Assert.Contains("has epsilon", e.Message);
        Assert.Contains("'embeddings.LayerNorm.weight'", e.Message);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void Vocabulary_of_another_size_is_refused_before_anything_is_written()
    {
        using var tmp = new TempDir();
        var (onnx, vocab) = Write(tmp, new SyntheticBertOnnx());
        File.WriteAllLines(vocab, new SyntheticBertOnnx().VocabLines().Take(30));
        var e = Assert.Throws<CheckpointException>(() => OnnxBertImporter.Import(onnx, vocab, tmp.File("out")));
        Assert.Contains("has 30 tokens but the graph's word embeddings ('embeddings.word_embeddings.weight') have 40 rows", e.Message);
        Assert.Empty(Directory.GetDirectories(tmp.Path));
    }
}
