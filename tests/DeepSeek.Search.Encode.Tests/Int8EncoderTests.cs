using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// The INT8 encoder (<see cref="EncoderPrecision.Int8"/>, <see cref="BertModel.QuantizeInt8"/>) against the float32 one on the
/// pretrained MiniLM: the same documents give vectors within quantization error (cosine), and the similarity of every pair
/// moves by little next to their spread; the float weights and the identity are untouched.
/// </summary>
public class Int8EncoderTests(PretrainedOnnxFixture fixture, Xunit.Abstractions.ITestOutputHelper log) : IClassFixture<PretrainedOnnxFixture>
{
    static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    [Fact]
    public void MiniLM_in_int8_gives_the_float_vectors_within_quantization_error()
    {
        var model = fixture.Get("minilm-l6");
        using var fp32 = TextEncoder.Load(model.Imported);
        using var int8 = TextEncoder.Load(model.Imported, new EncoderOptions { Precision = EncoderPrecision.Int8 });
        Assert.True(int8.DocumentModel.IsInt8);
        Assert.False(fp32.DocumentModel.IsInt8);
        Assert.Equal(fp32.Identity, int8.Identity); // the same weights: INT8 is how they run, not another model

        var texts = File.ReadLines(Repo.SharedPath("data", "scifact", "corpus.jsonl")).Take(40).Select(line =>
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("text").GetString()!;
        }).ToList();
        var a = fp32.EncodeDocuments(texts);
        var b = int8.EncodeDocuments(texts);
        var cosines = a.Zip(b, Dot).ToList();
        log.WriteLine($"cosine(fp32, int8) over {texts.Count} SciFact abstracts: min {cosines.Min():F5}, mean {cosines.Average():F5}");
        Assert.All(cosines, c => Assert.InRange(c, 0.99, 1.0001));
        Assert.True(cosines.Min() < 0.99999, "INT8 vectors equal to the float ones: the INT8 path did not run");

        // What retrieval sees: the similarity of every pair of documents moves by little next to the spread between pairs.
        double moved = 0;
        var similarities = new List<double>();
        for (int i = 0; i < texts.Count; i++)
            for (int j = i + 1; j < texts.Count; j++)
            {
                moved = Math.Max(moved, Math.Abs(Dot(a[i], a[j]) - Dot(b[i], b[j])));
                similarities.Add(Dot(a[i], a[j]));
            }
        double spread = similarities.Max() - similarities.Min();
        log.WriteLine($"pairwise similarity moved by at most {moved:F4}; the float similarities span {spread:F3}");
        Assert.True(moved <= 0.02, $"a pair's similarity moved by {moved:F4}");
        Assert.True(spread > 0.3, $"the documents are all alike ({spread:F3}): the comparison says nothing");

        // The float weights are untouched: a float encoder of the same folder gives what it gave before.
        using var again = TextEncoder.Load(model.Imported);
        Assert.Equal(a[0], again.EncodeDocuments([texts[0]])[0]);
    }

    [Fact]
    public void Int8_needs_a_float32_model_on_the_cpu()
    {
        var tokenizer = BertTokenizer.BundledUncased();
        using var half = new BertModel(new BertConfig { VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64 }, seed: 1).To(CPU, ScalarType.BFloat16);
        Assert.Equal("INT8 encoding quantizes float32 weights; the model is BFloat16", Assert.Throws<InvalidInputException>(half.QuantizeInt8).Message);
    }
}
