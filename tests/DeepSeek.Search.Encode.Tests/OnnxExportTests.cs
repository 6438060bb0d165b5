using DeepSeek.Search.Encode.Export;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// <see cref="OnnxBertExporter"/>: the file it writes, run by ONNX Runtime 1.31 (CPU, default optimisations), gives our
/// TorchSharp <see cref="BertModel"/>'s last_hidden_state and our <see cref="TextEncoder"/>'s embeddings within 1e-4, for the
/// pretrained MiniLM (imported from its package's ONNX) on SciFact documents and for small random encoders of every pooling,
/// normalisation and activation; batches are padded, so the attention mask is exercised.
/// </summary>
public class OnnxExportTests(PretrainedOnnxFixture fixture, Xunit.Abstractions.ITestOutputHelper log) : IClassFixture<PretrainedOnnxFixture>
{
    const double Tolerance = 1e-4;

    static readonly string[] Texts =
    [
        "What is the role of p53 in apoptosis?",
        "p53 triggers programmed cell death in damaged cells, and its loss is a step towards many cancers.",
        "Magma erupts from volcanoes as lava.",
        "A",
        "Glaciers carve valleys; the ice moves slowly downhill under its own weight, grinding the rock beneath it into fine flour.",
    ];

    /// <summary>ONNX Runtime on <paramref name="onnx"/> for one padded batch: (last_hidden_state, sentence_embedding).</summary>
    static (float[] States, float[] Embeddings) Run(string onnx, BertBatchEncoding batch)
    {
        using var session = new InferenceSession(onnx, new SessionOptions { IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount) });
        Assert.Equal(["attention_mask", "input_ids", "token_type_ids"], session.InputMetadata.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([OnnxBertExporter.LastHiddenState, OnnxBertExporter.SentenceEmbedding], session.OutputMetadata.Keys);
        var shape = new long[] { batch.Count, batch.SequenceLength };
        using var ids = OrtValue.CreateTensorValueFromMemory(batch.InputIds, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask, shape);
        using var types = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds, shape);
        using var run = new RunOptions();
        using var outputs = session.Run(run, new Dictionary<string, OrtValue> { ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = types },
            [OnnxBertExporter.LastHiddenState, OnnxBertExporter.SentenceEmbedding]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>Exports <paramref name="encoder"/>'s document tower and checks ONNX Runtime's outputs against ours; returns the largest differences.</summary>
    static (double States, double Embeddings) Compare(TextEncoder encoder, IReadOnlyList<string> texts, string onnx)
    {
        var result = OnnxBertExporter.Export(encoder.DocumentModel, encoder.Pooling, encoder.Normalize, onnx);
        Assert.Equal(OnnxBertExporter.Opset, result.Opset);
        Assert.Equal(new FileInfo(onnx).Length, result.Bytes);
        // every parameter but the tanh pooler's (the embedding is pooled from the states, not from it)
        Assert.Equal(encoder.DocumentModel.parameters().Sum(p => p.numel()) -
                     (encoder.DocumentModel.HasPooler ? encoder.Dimension * (encoder.Dimension + 1L) : 0), result.Parameters);

        var batch = encoder.Tokenizer.EncodeBatch(texts, encoder.MaxDocumentLength);
        Assert.Contains(0L, batch.AttentionMask);
        var (states, embeddings) = Run(onnx, batch);
        int hidden = encoder.Dimension, seq = batch.SequenceLength;
        float[] ours;
        using (NewDisposeScope())
        using (no_grad())
        {
            var shape = new long[] { batch.Count, seq };
            ours = Golden.ToArray(encoder.DocumentModel.Forward(tensor(batch.InputIds, shape), tensor(batch.AttentionMask, shape), tensor(batch.TokenTypeIds, shape)).LastHiddenState);
        }
        Assert.Equal(ours.Length, states.Length);
        double stateDiff = 0, scale = 0;
        for (int b = 0; b < batch.Count; b++)
            for (int t = 0; t < batch.Items[b].Length; t++) // valid positions only: padded rows are garbage in both
                for (int h = 0; h < hidden; h++)
                {
                    long i = ((long)b * seq + t) * hidden + h;
                    stateDiff = Math.Max(stateDiff, Math.Abs((double)states[i] - ours[i]));
                    scale = Math.Max(scale, Math.Abs(ours[i]));
                }
        Assert.True(scale > 0.1, $"the states are all near zero ({scale:G3})");

        var expected = encoder.EncodeDocuments(texts);
        Assert.Equal(texts.Count * hidden, embeddings.Length);
        double embeddingDiff = 0;
        for (int b = 0; b < texts.Count; b++)
            embeddingDiff = Math.Max(embeddingDiff, Golden.MaxAbsDiff(expected[b], embeddings.AsSpan(b * hidden, hidden).ToArray()));
        return (stateDiff, embeddingDiff);
    }

    [Fact]
    public void The_pretrained_MiniLM_exported_runs_in_onnx_runtime_with_our_states_and_embeddings()
    {
        var model = fixture.Get("minilm-l6");
        using var encoder = TextEncoder.Load(model.Imported);
        using var tmp = new TempDir("dss-onnx-export");
        var texts = Texts.Concat(File.ReadLines(Repo.SharedPath("data", "scifact", "corpus.jsonl")).Take(11).Select(line =>
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("text").GetString()!;
        })).ToList();
        var (states, embeddings) = Compare(encoder, texts, tmp.File("minilm.onnx"));
        log.WriteLine($"MiniLM-L6 export vs ours: last_hidden_state max |diff| {states:G3}, embeddings max |diff| {embeddings:G3}");
        Assert.True(states <= Tolerance, $"last_hidden_state max |diff| {states:G3}");
        Assert.True(embeddings <= Tolerance, $"embeddings max |diff| {embeddings:G3}");

        // Our importer reads the export back: the same weights bit for bit, so the same embeddings.
        Import.OnnxBertImporter.Import(tmp.File("minilm.onnx"), Path.Combine(model.Imported, "vocab.txt"), tmp.File("reimported"),
            new Import.OnnxImportOptions { Pooling = encoder.Pooling, Normalize = encoder.Normalize, MaxLength = encoder.MaxDocumentLength });
        using var reimported = TextEncoder.Load(tmp.File("reimported"));
        Assert.Equal(encoder.EncodeDocuments(texts), reimported.EncodeDocuments(texts));
    }

    [Theory]
    [InlineData("gelu", "mean", true)]
    [InlineData("gelu_new", "cls", false)]
    [InlineData("quick_gelu", "mean", false)]
    [InlineData("relu", "cls", true)]
    [InlineData("silu", "mean", true)]
    [InlineData("tanh", "mean", true)]
    public void A_random_encoder_of_each_activation_and_pooling_matches_onnx_runtime(string act, string pooling, bool normalize)
    {
        var tokenizer = BertTokenizer.BundledUncased();
        var config = new BertConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 96,
            HiddenAct = act, MaxPositionEmbeddings = 64, LayerNormEps = 1e-7, InitializerRange = 0.2,
        };
        // a large initializer range, so the activations see values well away from zero where their shapes differ
        using var encoder = TextEncoder.Create(new BertModel(config, seed: 7), null, tokenizer,
            new DualEncoderConfig { Pooling = Pooling.Parse(pooling), Normalize = normalize, MaxDocumentLength = 64, MaxQueryLength = 32 });
        using var tmp = new TempDir("dss-onnx-export-random");
        var (states, embeddings) = Compare(encoder, Texts, tmp.File("random.onnx"));
        log.WriteLine($"{act} {pooling} {(normalize ? "l2" : "raw")}: states {states:G3}, embeddings {embeddings:G3}");
        Assert.True(states <= Tolerance, $"last_hidden_state max |diff| {states:G3}");
        Assert.True(embeddings <= Tolerance, $"embeddings max |diff| {embeddings:G3}");
    }

    [Fact]
    public void An_export_over_an_existing_file_replaces_it_whole()
    {
        using var tmp = new TempDir("dss-onnx-export-replace");
        var tokenizer = BertTokenizer.BundledUncased();
        var config = new BertConfig { VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64 };
        using var model = new BertModel(config, seed: 1);
        string path = tmp.File("out.onnx");
        File.WriteAllText(path, "an older file");
        OnnxBertExporter.Export(model, PoolingMode.Mean, true, path);
        var written = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(OnnxBertExporter.Opset, written.OpsetImport.Single().Version);
        Assert.Equal(("mean", "true"), (written.MetadataProps.Single(m => m.Key == "pooling").Value, written.MetadataProps.Single(m => m.Key == "normalize").Value));
        Assert.Equal([path], Directory.GetFiles(tmp.Path)); // no temporary file left beside it
    }
}
