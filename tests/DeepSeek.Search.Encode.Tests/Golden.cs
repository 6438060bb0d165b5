using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using static TorchSharp.torch;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// fixtures/bert-golden: two random-weight HF BertModel checkpoints (tiny: gelu; tiny-gelu-new) and golden.safetensors with the
/// reference outputs of transformers 5.17 for 7 texts padded to 128 tokens (made by make_bert_golden.py).
/// </summary>
public static class Golden
{
    public static readonly string[] Fixtures = { "tiny", "tiny-gelu-new" };

    public static string Root => Repo.SharedPath("fixtures", "bert-golden");
    public static string ModelDir(string fixture) => Path.Combine(Root, fixture, "hf");
    public static string GoldenFile(string fixture) => Path.Combine(Root, fixture, "golden.safetensors");
    public static string MiniLmTokenizer => Repo.SharedPath("models", "all-MiniLM-L6-v2-tokenizer");

    /// <summary>The fixture's own tokenizer folder if it has one, else the all-MiniLM-L6-v2 tokenizer the goldens were made with.</summary>
    public static string TokenizerDir(string fixture)
    {
        foreach (var d in new[] { ModelDir(fixture), Path.Combine(Root, fixture) })
            if (File.Exists(Path.Combine(d, "vocab.txt")) || File.Exists(Path.Combine(d, "tokenizer.json"))) return d;
        return MiniLmTokenizer;
    }

    /// <summary>The 7 texts of the goldens (from tokenizer_golden.json).</summary>
    public static IReadOnlyList<string> Texts()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "tokenizer_golden.json")));
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("text").GetString()!).ToList();
    }

    public sealed record Data(long[] InputIds, long[] AttentionMask, long[] TokenTypeIds, long[] Shape,
        float[] LastHiddenState, float[] PoolerOutput, float[] MeanPooled, float[] MeanPooledNormalized, float[] Cls, int Hidden);

    public static Data Load(string fixture)
    {
        using var r = DeepSeek.Search.Torch.SafeTensors.SafeTensorsFile.Open(GoldenFile(fixture));
        var shape = r.Entries["input_ids"].Shape;
        return new Data(r.ReadInt64("input_ids"), r.ReadInt64("attention_mask"), r.ReadInt64("token_type_ids"), shape,
            r.ReadFloats("last_hidden_state"), r.ReadFloats("pooler_output"), r.ReadFloats("mean_pooled"),
            r.ReadFloats("mean_pooled_normalized"), r.ReadFloats("cls"), (int)r.Entries["cls"].Shape[1]);
    }

    public static float[] ToArray(Tensor t) => t.detach().to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        return m;
    }

    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what, Xunit.Abstractions.ITestOutputHelper? log = null)
    {
        double d = MaxAbsDiff(expected, actual);
        log?.WriteLine($"{what}: max |diff| {d:G3}");
        Assert.True(d <= tolerance, $"{what}: max |diff| {d:G3} > {tolerance:G3}");
    }
}
