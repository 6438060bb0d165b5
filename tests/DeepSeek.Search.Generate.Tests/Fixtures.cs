using System.Text.Json;
using DeepSeek.Search.Generate;
using DeepSeek.Search.TestKit;
using static TorchSharp.torch;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>
/// The shared fixtures: fixtures/deepseek-v3-golden/{A,B} (transformers 5.17 DeepseekV3ForCausalLM, float32: hf/ per-expert and
/// hf_fused/ fused checkpoints, golden.safetensors made by make_golden.py) and fixtures/tiny-moe-atenia/deepseek_full (an HF
/// DeepseekV2ForCausalLM with float64 reference logits).
/// </summary>
public static class Fixtures
{
    public static readonly string[] Variants = { "A", "B" };
    public static readonly string[] Layouts = { "hf", "hf_fused" };

    public static string GoldenRoot => Repo.SharedPath("fixtures", "deepseek-v3-golden");
    public static string ModelDir(string variant, string layout = "hf") => Path.Combine(GoldenRoot, variant, layout);
    public static string AteniaRoot => Repo.SharedPath("fixtures", "tiny-moe-atenia");

    /// <summary>The atenia DeepSeek-V2 fixture as a checkpoint folder (config.json + model.safetensors copied into <paramref name="dir"/>).</summary>
    public static string AteniaModel(string dir)
    {
        File.Copy(Path.Combine(AteniaRoot, "deepseek_full_config.json"), Path.Combine(dir, "config.json"), overwrite: true);
        File.Copy(Path.Combine(AteniaRoot, "deepseek_full.safetensors"), Path.Combine(dir, "model.safetensors"), overwrite: true);
        return dir;
    }

    /// <summary>deepseek_full.json: input_ids [5], float64 HF logits [5, 32], the greedy continuation of 4 tokens.</summary>
    public sealed record AteniaReference(long[] InputIds, float[] Logits, long[] GreedyIds, int EosTokenId);

    public static AteniaReference Atenia()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AteniaRoot, "deepseek_full.json")));
        var r = doc.RootElement;
        return new AteniaReference(
            r.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            r.GetProperty("hf_logits").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray(),
            r.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            r.GetProperty("eos_token_id").GetInt32());
    }

    /// <summary>golden.safetensors of a variant, all tensors as float32 or int64 arrays with their shapes.</summary>
    public sealed class Golden
    {
        readonly Dictionary<string, (float[]? F, long[]? I, long[] Shape)> _t = new();

        public Golden(string variant)
        {
            using var f = SafeTensorsFile.Open(Path.Combine(GoldenRoot, variant, "golden.safetensors"));
            foreach (var e in f.Entries.Values)
            {
                using var t = f.ReadTensor(e.Name);
                if (e.DType == SafeTensorsDType.I64) _t[e.Name] = (null, t.data<long>().ToArray(), e.Shape);
                else _t[e.Name] = (t.to(ScalarType.Float32).data<float>().ToArray(), null, e.Shape);
            }
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenRoot, variant, "golden.json")));
            SoftmaxScale = doc.RootElement.GetProperty("softmax_scale").GetDouble();
        }

        public double SoftmaxScale { get; }
        public bool Has(string name) => _t.ContainsKey(name);
        public float[] F(string name) => _t[name].F!;
        public long[] I(string name) => _t[name].I!;
        public long[] Shape(string name) => _t[name].Shape;
        public Tensor Ids(string name) => tensor(I(name), Shape(name));
    }

    static readonly Dictionary<string, Golden> Cache = new();

    public static Golden Load(string variant)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(variant, out var g)) Cache[variant] = g = new Golden(variant);
            return g;
        }
    }

    public static float[] ToArray(Tensor t) => t.detach().to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        return m;
    }

    public static double Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what, Xunit.Abstractions.ITestOutputHelper? log = null)
    {
        double d = MaxAbsDiff(expected, actual);
        log?.WriteLine($"{what}: max |diff| {d:G3}");
        Assert.True(d <= tolerance, $"{what}: max |diff| {d:G3} > {tolerance:G3}");
        return d;
    }
}
