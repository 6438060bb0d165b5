using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>Reference: the mean_pooled / mean_pooled_normalized / cls tensors of fixtures/bert-golden (transformers 5.17, BertTokenizerFast).</summary>
public class TextEncoderTests
{
    const double Tolerance = 1e-4;

    static float[] Row(float[] flat, int row, int dim) => flat.AsSpan(row * dim, dim).ToArray();

    [Theory]
    [InlineData("tiny")]
    [InlineData("tiny-gelu-new")]
    public void Golden_texts_reproduce_the_reference_embeddings(string fixture)
    {
        var texts = Golden.Texts();
        var g = Golden.Load(fixture);
        var baseOptions = new EncoderOptions { TokenizerDirectory = Golden.TokenizerDir(fixture), MaxDocumentLength = 128, MaxQueryLength = 128, BatchSize = 3 };

        using (var raw = TextEncoder.Load(Golden.ModelDir(fixture), baseOptions with { Normalize = false }))
        {
            Assert.Equal(64, raw.Dimension);
            Assert.True(raw.Tied);
            var docs = raw.EncodeDocuments(texts);
            var queries = raw.EncodeQueries(texts);
            for (int i = 0; i < texts.Count; i++)
            {
                Golden.Close(Row(g.MeanPooled, i, 64), docs[i], Tolerance, $"{fixture} document {i}");
                Golden.Close(Row(g.MeanPooled, i, 64), queries[i], Tolerance, $"{fixture} query {i}");
            }
        }
        using (var normalized = TextEncoder.Load(Golden.ModelDir(fixture), baseOptions with { Normalize = true }))
        {
            Assert.Equal(PoolingMode.Mean, normalized.Config.Pooling);
            Assert.True(normalized.Config.Normalize);
            var docs = normalized.EncodeDocuments(texts);
            for (int i = 0; i < texts.Count; i++)
                Golden.Close(Row(g.MeanPooledNormalized, i, 64), docs[i], Tolerance, $"{fixture} normalized {i}");
        }
        using (var cls = TextEncoder.Load(Golden.ModelDir(fixture), baseOptions with { Pooling = PoolingMode.Cls, Normalize = false }))
        {
            var docs = cls.EncodeDocuments(texts);
            for (int i = 0; i < texts.Count; i++)
                Golden.Close(Row(g.Cls, i, 64), docs[i], Tolerance, $"{fixture} cls {i}");
        }
    }

    [Fact]
    public void Defaults_identity_and_tokenizer()
    {
        // A bare HF BertModel folder declares no normalisation and no length: raw mean pooling, 64 / 128 tokens.
        using var enc = TextEncoder.Load(Golden.ModelDir("tiny"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer });
        Assert.Equal(new DualEncoderConfig { Normalize = false, MaxDocumentLength = DualEncoderConfig.BareFolderMaxLength }, enc.Config);
        Assert.Equal((64, 128), (enc.Config.MaxQueryLength, enc.Config.MaxDocumentLength));
        Assert.Equal("cpu", enc.Device.type.ToString().ToLowerInvariant());
        Assert.False(enc.UsesBundledVocabulary);
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors"))));
        Assert.Equal(sha, enc.WeightsSha256);
        Assert.Equal($"hf|mean|raw|sha256:{sha}", enc.Identity);
        Assert.Equal(30522, enc.Tokenizer.VocabSize);

        using var normalized = TextEncoder.Load(Golden.ModelDir("tiny"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer, Name = "tiny", Normalize = true });
        Assert.Equal($"tiny|mean|l2|sha256:{sha}", normalized.Identity);
        var v = normalized.EncodeQuery("What is the role of p53 in apoptosis?");
        Assert.Equal(64, v.Length);
        Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 5);
    }

    [Fact]
    public void Folder_without_tokenizer_uses_the_bundled_vocabulary_only_when_its_size_matches()
    {
        using (var bundled = TextEncoder.Load(Golden.ModelDir("tiny")))
        using (var explicitVocab = TextEncoder.Load(Golden.ModelDir("tiny"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer }))
        {
            Assert.True(bundled.UsesBundledVocabulary);
            var texts = Golden.Texts();
            Assert.Equal(explicitVocab.EncodeDocuments(texts), bundled.EncodeDocuments(texts));
        }
        using var tmp = new TempDir();
        var other = SmallConfig with { VocabSize = 1000 };
        using (var model = new BertModel(other, seed: 3)) BertCheckpoint.Save(model, tmp.Path);
        var e = Assert.Throws<CheckpointException>(() => TextEncoder.Load(tmp.Path));
        Assert.Contains("no tokenizer", e.Message);
        Assert.Contains("1000", e.Message);
    }

    [Fact]
    public void Order_is_preserved_with_mixed_lengths()
    {
        using var enc = TextEncoder.Load(Golden.ModelDir("tiny-gelu-new"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer, BatchSize = 2 });
        var rng = new Random(5);
        var texts = Enumerable.Range(0, 11).Select(i => string.Join(" ", Enumerable.Range(0, rng.Next(0, 40)).Select(j => $"word{(i * 7 + j) % 13}"))).ToList();
        texts[3] = "";
        var batched = enc.EncodeQueries(texts);
        Assert.Equal(texts.Count, batched.Length);
        for (int i = 0; i < texts.Count; i++)
            Golden.Close(enc.EncodeQueries(new[] { texts[i] })[0], batched[i], 1e-5, $"text {i}");
        Assert.Empty(enc.EncodeDocuments(Array.Empty<string>()));
        Assert.Throws<InvalidInputException>(() => enc.EncodeDocuments(new string[] { "a", null! }));
    }

    [Fact]
    public void Missing_tokenizer_and_bad_settings_are_clear_errors()
    {
        Assert.Throws<CheckpointException>(() => TextEncoder.Load("/nonexistent/encoder"));
        var tooLong = Assert.Throws<CheckpointException>(() => TextEncoder.Load(Golden.ModelDir("tiny"),
            new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer, MaxDocumentLength = 1024 }));
        Assert.Contains("max_position_embeddings", tooLong.Message);
        Assert.Throws<InvalidInputException>(() => TextEncoder.Load(Golden.ModelDir("tiny"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer, Device = "tpu" }));
        Assert.Throws<InvalidInputException>(() => TextEncoder.Load(Golden.ModelDir("tiny"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer, BatchSize = 0 }));

        using var tmp = new TempDir();
        File.WriteAllText(tmp.File(DualEncoderConfig.FileName), "{\"pooling\": \"max\"}");
        Assert.Contains("max", Assert.Throws<CheckpointException>(() => TextEncoder.Load(tmp.Path)).Message);
        File.WriteAllText(tmp.File(DualEncoderConfig.FileName), "{\"tied\": false}");
        Assert.Contains("query/", Assert.Throws<CheckpointException>(() => TextEncoder.Load(tmp.Path)).Message);
    }

    static BertTokenizer MiniLm() => BertTokenizer.FromFolder(Golden.MiniLmTokenizer);

    static BertConfig SmallConfig => new() { HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 64, MaxPositionEmbeddings = 256 };

    [Fact]
    public void Tied_encoder_save_and_load_give_identical_embeddings()
    {
        using var tmp = new TempDir();
        var texts = Golden.Texts();
        float[][] before, beforeQ;
        string identity;
        var config = new DualEncoderConfig { Pooling = PoolingMode.Cls, Normalize = true, MaxQueryLength = 32, MaxDocumentLength = 100, QueryPrefix = "query: " };
        using (var enc = TextEncoder.Create(new BertModel(SmallConfig, seed: 1), null, MiniLm(), config, name: "small"))
        {
            Assert.True(enc.Tied);
            before = enc.EncodeDocuments(texts);
            beforeQ = enc.EncodeQueries(texts);
            identity = enc.Identity;
            enc.Save(tmp.Path);
        }
        Assert.True(File.Exists(tmp.File("config.json")));
        Assert.True(File.Exists(tmp.File("model.safetensors")));
        Assert.True(File.Exists(tmp.File("vocab.txt")));
        Assert.True(File.Exists(tmp.File(DualEncoderConfig.FileName)));

        using var again = TextEncoder.Load(tmp.Path);
        Assert.Equal(identity, again.Identity);
        Assert.Equal("small", again.Name);
        Assert.Equal(config with { Name = "small" }, again.Config);
        var after = again.EncodeDocuments(texts);
        var afterQ = again.EncodeQueries(texts);
        for (int i = 0; i < texts.Count; i++)
        {
            Assert.Equal(before[i], after[i]);
            Assert.Equal(beforeQ[i], afterQ[i]);
        }
        // the query prefix changes query vectors, not document vectors
        Assert.NotEqual(before[0], beforeQ[0]);
    }

    [Fact]
    public void Untied_towers_are_saved_in_subfolders()
    {
        using var tmp = new TempDir();
        var texts = new[] { "dual encoders", "p53 apoptosis" };
        float[][] q, d;
        string identity;
        using (var enc = TextEncoder.Create(new BertModel(SmallConfig, seed: 1), new BertModel(SmallConfig, seed: 2), MiniLm(), name: "split"))
        {
            Assert.False(enc.Tied);
            identity = enc.Identity;
            q = enc.EncodeQueries(texts);
            d = enc.EncodeDocuments(texts);
            Assert.NotEqual(q[0], d[0]);
            enc.Save(tmp.Path);
        }
        Assert.True(File.Exists(Path.Combine(tmp.Path, "query", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(tmp.Path, "document", "model.safetensors")));
        Assert.False(File.Exists(tmp.File("model.safetensors")));

        using var again = TextEncoder.Load(tmp.Path);
        Assert.False(again.Tied);
        Assert.Equal(identity, again.Identity);
        Assert.Equal(q, again.EncodeQueries(texts));
        Assert.Equal(d, again.EncodeDocuments(texts));

        // without dual_encoder.json the subfolders alone mean untied
        File.Delete(tmp.File(DualEncoderConfig.FileName));
        using var inferred = TextEncoder.Load(tmp.Path, new EncoderOptions { Normalize = true });
        Assert.False(inferred.Tied);
        Assert.Equal(q, inferred.EncodeQueries(texts));
    }

    [Fact]
    public void Sentence_transformers_settings_are_used_without_dual_encoder_json()
    {
        using var tmp = new TempDir();
        using (var enc = TextEncoder.Create(new BertModel(SmallConfig with { MaxPositionEmbeddings = 512 }, seed: 1), null, MiniLm()))
            enc.Save(tmp.Path);
        File.Delete(tmp.File(DualEncoderConfig.FileName));
        Directory.CreateDirectory(tmp.File("1_Pooling"));
        File.WriteAllText(tmp.File("1_Pooling/config.json"), "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false}");
        File.WriteAllText(tmp.File("modules.json"), "[{\"type\": \"sentence_transformers.models.Transformer\"}, {\"type\": \"sentence_transformers.models.Pooling\"}]");
        File.WriteAllText(tmp.File("sentence_bert_config.json"), "{\"max_seq_length\": 300}");
        using var st = TextEncoder.Load(tmp.Path);
        Assert.Equal(PoolingMode.Cls, st.Config.Pooling);
        Assert.False(st.Config.Normalize);
        Assert.Equal(300, st.Config.MaxDocumentLength);
    }

    [Theory]
    [InlineData(EncoderPrecision.BFloat16)]
    [InlineData(EncoderPrecision.Float16)]
    public void Half_precisions_stay_close_to_float32(EncoderPrecision precision)
    {
        var texts = Golden.Texts();
        var options = new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer };
        using var f32 = TextEncoder.Load(Golden.ModelDir("tiny"), options);
        using var bf16 = TextEncoder.Load(Golden.ModelDir("tiny"), options with { Precision = precision });
        var a = f32.EncodeDocuments(texts);
        var b = bf16.EncodeDocuments(texts);
        for (int i = 0; i < texts.Count; i++)
        {
            double cos = a[i].Zip(b[i], (x, y) => (double)x * y).Sum();
            Assert.True(cos > 0.98, $"text {i}: cosine {cos}");
        }
    }

    [Fact]
    public void Disposed_encoder_refuses_work()
    {
        var enc = TextEncoder.Load(Golden.ModelDir("tiny"), new EncoderOptions { TokenizerDirectory = Golden.MiniLmTokenizer });
        enc.Dispose();
        enc.Dispose();
        Assert.Throws<ObjectDisposedException>(() => enc.EncodeQueries(new[] { "x" }));
    }
}
