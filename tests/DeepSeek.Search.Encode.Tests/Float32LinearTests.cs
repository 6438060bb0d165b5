using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// The packed float32 linear layer (native/cpu/f32_linear.cpp) against libtorch's linear computed in float64, and the BERT
/// encoder with its layers packed against the transformers goldens. On a CPU without AVX-512F the kernel does not run and
/// these tests say so and pass (the encoder keeps libtorch's layers there).
/// </summary>
public class Float32LinearTests(Xunit.Abstractions.ITestOutputHelper log)
{
    bool Skip()
    {
        if (Float32Linear.Supported) return false;
        log.WriteLine("no AVX-512F here: the packed float32 layer does not run (the encoder keeps libtorch's layers)");
        return true;
    }

    static Tensor Random(long[] shape, int seed, double scale = 1) => randn(shape, generator: new TorchSharp.torch.Generator((ulong)seed)) * scale;

    [Theory]
    [InlineData(1, 64, 200, true)]       // one row: the output columns are split
    [InlineData(37, 100, 50, true)]      // row and column tails of the 14 × 32 tile
    [InlineData(231, 384, 1152, true)]   // MiniLM's fused QKV
    [InlineData(300, 1536, 384, false)]  // K over several 256-blocks, no bias
    [InlineData(4096, 384, 1536, true)]  // a 32 × 128 batch: the rows are split
    public void Matches_libtorch_linear_in_float64(int m, int k, int n, bool withBias)
    {
        if (Skip()) return;
        using var scope = NewDisposeScope();
        var x = Random([m, k], 1);
        var w = Random([n, k], 2, 1 / Math.Sqrt(k));
        var b = withBias ? Random([n], 3) : null;
        var layer = new Float32Linear(w, b);
        var ours = layer.Forward(x);
        var reference = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b?.to(ScalarType.Float64));
        var libtorch = nn.functional.linear(x, w, b);
        double diff = (ours.to(ScalarType.Float64) - reference).abs().max().item<double>();
        double torchDiff = (libtorch.to(ScalarType.Float64) - reference).abs().max().item<double>();
        log.WriteLine($"{m}×{k} → {n}: max |ours − f64| {diff:G3}, libtorch's {torchDiff:G3}");
        Assert.Equal(new long[] { m, n }, ours.shape);
        Assert.True(diff <= 4 * Math.Max(torchDiff, 1e-6), $"max |ours − f64| {diff:G3} against libtorch's {torchDiff:G3}");
    }

    [Fact]
    public void Fused_gelu_matches_libtorch_gelu_after_the_linear()
    {
        if (Skip()) return;
        using var scope = NewDisposeScope();
        var x = Random([2, 45, 96], 4, 2);
        var w = Random([130, 96], 5, 0.3);
        var b = Random([130], 6);
        var ours = new Float32Linear(w, b, FusedActivation.Gelu).Forward(x);
        var reference = nn.functional.gelu(nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64)));
        double diff = (ours.to(ScalarType.Float64) - reference).abs().max().item<double>();
        double range = reference.abs().max().item<double>();
        log.WriteLine($"GELU fused: max |diff| {diff:G3} over outputs up to {range:G3}");
        Assert.Equal(new long[] { 2, 45, 130 }, ours.shape);
        Assert.True(diff <= 1e-6 * Math.Max(1, range), $"max |diff| {diff:G3} over outputs up to {range:G3}");
        Assert.True(range > 3, "the inputs reach the part of GELU that is not linear");
    }

    [Fact]
    public void Threads_and_concurrent_callers_change_no_bit()
    {
        if (Skip()) return;
        using var scope = NewDisposeScope();
        var w = Random([200, 64], 7, 0.2);
        var layer = new Float32Linear(w, Random([200], 8));
        var inputs = new[] { Random([3, 77, 64], 9), Random([2, 64], 10) }; // rows split, columns split
        int threads = Int8Linear.Threads;
        try
        {
            Int8Linear.Threads = 1;
            var serial = inputs.Select(i => layer.Forward(i).data<float>().ToArray()).ToArray();
            Int8Linear.Threads = 4;
            foreach (var (input, expected) in inputs.Zip(serial))
                Assert.Equal(expected, layer.Forward(input).data<float>().ToArray());
            // several managed threads at once: one owns the kernel's pool, the others start threads of their own
            var results = new float[8][];
            Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                using var inner = NewDisposeScope();
                results[i] = layer.Forward(inputs[0]).data<float>().ToArray();
            });
            foreach (var r in results) Assert.Equal(serial[0], r);
        }
        finally { Int8Linear.Threads = threads; }
    }

    [Fact]
    public void Back_to_back_calls_from_racing_threads_keep_their_own_results()
    {
        // Calls of different shapes follow each other within microseconds from several threads, so the kernel pool's workers
        // wake late for calls that have ended and new ones begin under them: each call must still get its own products (a stress
        // test: the interleaving it looks for is rare, so a broken claim fails it only sometimes).
        if (Skip()) return;
        using var scope = NewDisposeScope();
        var layers = new[] { new Float32Linear(Random([96, 64], 11), Random([96], 12)), new Float32Linear(Random([40, 64], 13), null) };
        var inputs = new[] { Random([50, 64], 14), Random([3, 64], 15) };
        var expected = new float[2][][];
        for (int l = 0; l < 2; l++) expected[l] = inputs.Select(i => layers[l].Forward(i).data<float>().ToArray()).ToArray();
        int threads = Int8Linear.Threads;
        try
        {
            Int8Linear.Threads = 2;
            int mismatches = 0;
            Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, w =>
            {
                for (int round = 0; round < 2000; round++)
                {
                    using var inner = NewDisposeScope();
                    int l = (w + round) % 2, i = round % 2;
                    if (!layers[l].Forward(inputs[i]).data<float>().ToArray().SequenceEqual(expected[l][i])) Interlocked.Increment(ref mismatches);
                }
            });
            Assert.Equal(0, mismatches);
        }
        finally { Int8Linear.Threads = threads; }
    }

    [Fact]
    public void Wrong_shapes_are_refused_naming_them()
    {
        if (Skip()) return;
        using var weight = zeros(8, 16);
        Assert.Equal("float32 linear: bias must be [8], got [9]", Assert.Throws<InvalidInputException>(() => new Float32Linear(weight, zeros(9))).Message);
        Assert.Equal("float32 linear: weight must be [out, in], got [16]", Assert.Throws<InvalidInputException>(() => new Float32Linear(zeros(16), null)).Message);
        var layer = new Float32Linear(weight, null);
        Assert.Equal("float32 linear: input must end in 16 features, got [2, 15]", Assert.Throws<InvalidInputException>(() => layer.Forward(zeros(2, 15))).Message);
    }

    [Theory]
    [InlineData("tiny")]          // erf GELU: fused into the intermediate layer
    [InlineData("tiny-gelu-new")] // tanh GELU: applied by libtorch after the packed layer
    public void Packed_encoder_reproduces_the_golden_outputs(string fixture)
    {
        if (Skip()) return;
        using var model = BertCheckpoint.Load(Golden.ModelDir(fixture));
        Assert.True(model.PackFloat32());
        Assert.True(model.IsPacked);
        var g = Golden.Load(fixture);
        using var scope = NewDisposeScope();
        var mask = tensor(g.AttentionMask, g.Shape);
        using (no_grad())
        {
            var output = model.Forward(tensor(g.InputIds, g.Shape), mask, tensor(g.TokenTypeIds, g.Shape));
            Golden.Close(g.LastHiddenState, Golden.ToArray(output.LastHiddenState), 1e-4, $"{fixture} packed last_hidden_state", log);
            Golden.Close(g.MeanPooled, Golden.ToArray(Pooling.Mean(output.LastHiddenState, mask)), 1e-4, $"{fixture} packed mean_pooled", log);
        }
    }

    [Fact]
    public void Training_a_packed_model_runs_libtorch_layers_with_gradients()
    {
        if (Skip()) return;
        using var model = BertCheckpoint.Load(Golden.ModelDir("tiny"));
        var g = Golden.Load("tiny");
        using var scope = NewDisposeScope();
        var ids = tensor(g.InputIds, g.Shape);
        Tensor Hidden() => model.Forward(ids).LastHiddenState;
        Tensor before;
        using (no_grad()) before = Hidden();
        model.PackFloat32();
        var withGrad = Hidden();
        withGrad.pow(2).mean().backward();
        var dense = model.named_parameters().Single(p => p.name == "encoder.layer.0.intermediate.dense.weight").parameter;
        Assert.NotNull(dense.grad);
        Assert.True(dense.grad!.abs().sum().item<float>() > 0, "gradients reach the intermediate layer through libtorch's product");
        Assert.True((withGrad.detach() - before).abs().max().item<float>() < 1e-5);

        // the packed copies are a snapshot: after a weight changes, PackFloat32 again brings inference back in line
        using (no_grad()) dense.add_(0.01f);
        Tensor Inference() { using (no_grad()) return Hidden(); }
        var stale = Inference();
        model.PackFloat32();
        var fresh = Inference();
        Assert.True((stale - fresh).abs().max().item<float>() > 1e-4, "the snapshot is what inference ran before repacking");
        Assert.True((fresh - Hidden().detach()).abs().max().item<float>() < 1e-5, "after repacking, inference agrees with libtorch's layers");
    }

    [Fact]
    public void A_quantized_model_is_not_packed_and_text_encoders_pack_float32_cpu_models()
    {
        if (Skip()) return;
        using var int8 = BertCheckpoint.Load(Golden.ModelDir("tiny"));
        int8.QuantizeInt8();
        Assert.False(int8.PackFloat32());
        Assert.False(int8.IsPacked);

        var model = BertCheckpoint.Load(Golden.ModelDir("tiny"));
        using var encoder = TextEncoder.Create(model, null, BertTokenizer.FromFolder(Golden.TokenizerDir("tiny")));
        Assert.True(model.IsPacked);
        Assert.Equal(model.HiddenSize, encoder.Dimension);
    }
}
