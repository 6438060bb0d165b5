using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// <see cref="Int8Linear"/> against a float64 reference of the same quantization (symmetric int8 per weight row, asymmetric u8
/// per input row, round half to even), computed here in C#: equal to float32 rounding; and against the float layer: within the
/// quantization error. Sizes that are not multiples of the kernel's tiles (8 rows, 32 columns, 4 inputs) test the padding.
/// </summary>
public class Int8LinearTests(Xunit.Abstractions.ITestOutputHelper log)
{
    static float[] Random(int n, int seed, double scale = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    /// <summary>
    /// The quantization the kernel documents, in float64: weights symmetric int8 per row (±127), inputs u8 per row over
    /// [min, max] with a zero point (round half to even); y = sx·sw·Σ (u − zx)·qw + b.
    /// </summary>
    static double[] Reference(float[] x, int m, int k, float[] w, int n, float[] b)
    {
        static (int[] Q, float Scale) Weights(ReadOnlySpan<float> row)
        {
            float amax = 0;
            foreach (var v in row) amax = MathF.Max(amax, MathF.Abs(v));
            float scale = amax > 0 ? amax / 127f : 1f;
            return (row.ToArray().Select(v => Math.Clamp((int)MathF.Round(v / scale, MidpointRounding.ToEven), -127, 127)).ToArray(), scale);
        }
        static (int[] U, float Scale, int Zero) Inputs(ReadOnlySpan<float> row)
        {
            float lo = float.MaxValue, hi = float.MinValue;
            foreach (var v in row) { lo = MathF.Min(lo, v); hi = MathF.Max(hi, v); }
            float scale = hi > lo ? (hi - lo) / 255f : 1f, inv = 1f / scale;
            int zero = (int)MathF.Round(-lo / scale, MidpointRounding.ToEven);
            return (row.ToArray().Select(v => Math.Clamp((int)MathF.Round(v * inv, MidpointRounding.ToEven) + zero, 0, 255)).ToArray(), scale, zero);
        }
        var qw = Enumerable.Range(0, n).Select(i => Weights(w.AsSpan(i * k, k))).ToArray();
        var y = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            var (u, sx, zx) = Inputs(x.AsSpan(i * k, k));
            for (int j = 0; j < n; j++)
            {
                long dot = 0;
                for (int t = 0; t < k; t++) dot += (long)(u[t] - zx) * qw[j].Q[t];
                y[i * n + j] = (double)sx * qw[j].Scale * dot + b[j];
            }
        }
        return y;
    }

    [Theory]
    [InlineData(37, 50, 45, false)]
    [InlineData(64, 384, 384, false)]
    [InlineData(9, 1536, 384, false)]
    [InlineData(130, 96, 1152, false)]
    [InlineData(64, 384, 384, true)]
    [InlineData(37, 50, 45, true)]
    public void Matches_the_reference_quantization_and_stays_within_its_error_of_the_float_layer(int m, int k, int n, bool smoothed)
    {
        var x = Random(m * k, 1, 3);
        var w = Random(n * k, 2, 0.1);
        var b = Random(n, 3);
        // SmoothQuant's channel scales: the reference quantizes x / s and W · s
        var channels = smoothed ? Random(k, 9).Select(v => MathF.Exp(1.5f * v)).ToArray() : null;
        using var weight = tensor(w, [n, k]);
        using var bias = tensor(b, [n]);
        using var input = tensor(x, [m, k]);
        var layer = new Int8Linear(weight, bias, channels);
        if (channels is not null)
        {
            x = x.Select((v, i) => v * (1f / channels[i % k])).ToArray();
            w = w.Select((v, i) => v * channels[i % k]).ToArray();
        }
        Assert.Equal((k, n), (layer.InFeatures, layer.OutFeatures));
        using var y = layer.Forward(input);
        Assert.Equal(new long[] { m, n }, y.shape);
        var ours = y.data<float>().ToArray();

        var reference = Reference(x, m, k, w, n, b);
        double refDiff = 0, scale = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            refDiff = Math.Max(refDiff, Math.Abs(ours[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        using var exact = nn.functional.linear(input, weight, bias);
        var floats = exact.data<float>().ToArray();
        double floatDiff = floats.Zip(ours, (a, c) => Math.Abs(a - (double)c)).Max();
        log.WriteLine($"{m}×{k} → {n} ({(Int8Linear.UsesVnni ? "VNNI" : "portable")}): vs reference {refDiff:G3}, vs float {floatDiff:G3}, |y| up to {scale:G3}");
        Assert.True(refDiff <= 1e-5 * scale, $"vs the reference quantization: {refDiff:G3} (|y| up to {scale:G3})");
        // Each product carries at most half a step of each operand: |Δ| ≤ Σ (|x|·sw/2 + |w|·sx/2 + sx·sw/4) per output, far below this.
        // Random channel scales (e^±1.5, not fitted to these uniform inputs) widen the ranges, hence the looser bound there.
        Assert.True(floatDiff <= (smoothed ? 0.06 : 0.02) * scale, $"vs the float layer: {floatDiff:G3} (|y| up to {scale:G3})");
        Assert.True(floatDiff > 0, "no quantization error at all: the float path ran, not the INT8 one");
    }

    [Fact]
    public void Fused_GELU_is_the_unfused_outputs_through_erf_GELU()
    {
        // 45 rows (tile rows and a tail), 130 columns (full and masked 16-column halves), inputs reaching GELU's curved part
        using var scope = NewDisposeScope();
        var weight = tensor(Random(130 * 96, 21, 0.3), [130, 96]);
        var bias = tensor(Random(130, 22), [130]);
        var x = tensor(Random(45 * 96, 23, 2), [45, 96]);
        var plain = new Int8Linear(weight, bias).Forward(x).to(ScalarType.Float64);
        var fused = new Int8Linear(weight, bias, activation: FusedActivation.Gelu);
        Assert.Equal(FusedActivation.Gelu, fused.Activation);
        var ours = fused.Forward(x).to(ScalarType.Float64);
        var reference = nn.functional.gelu(plain);
        double diff = (ours - reference).abs().max().item<double>();
        double range = plain.abs().max().item<double>();
        Assert.True(range > 3, $"the outputs reach the part of GELU that is not linear (max |y| {range:G3})");
        Assert.True(diff <= 1e-6 * Math.Max(1, range), $"max |diff| {diff:G3} over outputs up to {range:G3}");
    }

    [Fact]
    public void Threads_split_rows_without_changing_a_bit_and_batch_dims_are_kept()
    {
        var x = Random(3 * 77 * 64, 4);
        using var weight = tensor(Random(200 * 64, 5, 0.2), [200, 64]);
        var layer = new Int8Linear(weight, null);
        using var input = tensor(x, [3, 77, 64]);
        int threads = Int8Linear.Threads;
        try
        {
            Int8Linear.Threads = 1;
            using var one = layer.Forward(input);
            Int8Linear.Threads = 4;
            using var four = layer.Forward(input);
            Assert.Equal(new long[] { 3, 77, 200 }, four.shape);
            Assert.Equal(one.data<float>().ToArray(), four.data<float>().ToArray());
        }
        finally { Int8Linear.Threads = threads; }
    }

    [Theory]
    [InlineData(3, 37, 4, 32, true)]
    [InlineData(2, 128, 12, 32, false)]
    [InlineData(1, 5, 2, 64, true)]
    [InlineData(2, 17, 3, 16, true)]    // one key past a 16-key tile
    [InlineData(1, 1, 2, 128, false)]   // one token, the widest head
    [InlineData(1, 300, 2, 48, true)]   // three vectors per head row
    public void Fused_attention_matches_scaled_dot_product_attention(int batch, int seq, int heads, int dim, bool padded)
    {
        if (!FusedAttention.Supported(dim, seq)) { log.WriteLine("no AVX-512 here: the fused attention does not run (the encoder uses SDPA)"); return; }
        using var scope = NewDisposeScope();
        var qkv = randn([batch, seq, 3 * heads * dim], generator: new TorchSharp.torch.Generator(7)) * 2;
        Tensor? keyBias = null;
        if (padded)
        {
            // the last third of every sequence but the first is padding
            var keep = new float[batch * seq];
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < seq; t++) keep[b * seq + t] = b > 0 && t >= seq - seq / 3 ? 0 : 1;
            keyBias = (1 - tensor(keep, [batch, seq])) * float.MinValue;
        }
        float scale = 1f / MathF.Sqrt(dim);
        var ours = FusedAttention.Forward(qkv, heads, keyBias, scale);
        var split = qkv.view(batch, seq, 3, heads, dim).permute(2, 0, 3, 1, 4);
        var reference = nn.functional.scaled_dot_product_attention(split[0], split[1], split[2], keyBias?.view(batch, 1, 1, seq))
            .transpose(1, 2).reshape(batch, seq, heads * dim);
        double diff = (ours - reference).abs().max().item<float>();
        log.WriteLine($"{batch}×{seq}, {heads} heads of {dim}{(padded ? ", padded" : "")}: max |diff| {diff:G3}");
        Assert.True(diff <= 2e-5, $"max |diff| {diff:G3}");
    }

    [Fact]
    public void Wrong_shapes_are_refused_naming_them()
    {
        using var weight = zeros(8, 16);
        Assert.Equal("INT8 linear: bias must be [8], got [9]", Assert.Throws<InvalidInputException>(() => new Int8Linear(weight, zeros(9))).Message);
        Assert.Equal("INT8 linear: weight must be [out, in], got [16]", Assert.Throws<InvalidInputException>(() => new Int8Linear(zeros(16), null)).Message);
        var layer = new Int8Linear(weight, null);
        Assert.Equal("INT8 linear: input must end in 16 features, got [2, 15]", Assert.Throws<InvalidInputException>(() => layer.Forward(zeros(2, 15))).Message);
    }
}
