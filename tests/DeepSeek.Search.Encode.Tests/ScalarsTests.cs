using DeepSeek.Search.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Tests;

/// <summary><see cref="Scalars"/>: the same values as TorchSharp's operators, and no Scalar freed mid-call however hard the
/// GC runs. With <c>Plus</c> made as TorchSharp's own <c>a.add(b)</c>, the race below fails with the libtorch
/// <c>toFloat</c> check a racing-readers CI run hit (the Scalar handle freed by its finalizer while libtorch read it).</summary>
public class ScalarsTests
{
    [Fact]
    public void Each_method_gives_bit_for_bit_what_TorchSharps_operator_gives()
    {
        TorchRuntime.Initialize();
        using var scope = NewDisposeScope();
        var gen = new Generator(7);
        var a = randn(new long[] { 5, 7 }, generator: gen);
        var b = randn(new long[] { 5, 7 }, generator: gen);
        var ints = randint(1, 50, new long[] { 9 }, generator: gen, dtype: ScalarType.Int64);
        Same(a + b, a.Plus(b));
        Same(a + 0.1, a.Plus(0.1));
        Same(ints + 3L, ints.Plus(3L));
        Same(a - 0.25f, a.Minus(0.25f));
        Same(1.0 - a, a.SubtractedFrom(1.0));
        Same(1 - ints, ints.SubtractedFrom(1L));
        Same(a * 1.702, a.Times(1.702));
        Same(ints * 4L, ints.Times(4L));
        Same(a / 3f, a.Over(3f));
        Same(1.0f / a, a.DividedInto(1.0f));
        Same(a.masked_fill(a.gt(0), -1e9), Scalars.With(0L, zero => Scalars.With(-1e9, fill => a.masked_fill(a.gt(zero), fill))));
        Same(a.clamp(-0.5, 0.5), Scalars.With(-0.5, 0.5, (lo, hi) => a.clamp(lo, hi)));
        var sum = a.clone();
        sum.PlusInPlace(b);
        Same(a + b, sum);
        Assert.Equal(ScalarType.Int64, ints.Times(4L).dtype); // an integer stays an integer Scalar: no promotion to float
    }

    [Fact]
    public void Racing_a_forced_GC_no_Scalar_is_freed_while_libtorch_reads_it()
    {
        TorchRuntime.Initialize();
        var until = DateTime.UtcNow.AddSeconds(5);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        long checkedOps = 0;
        var collector = new Thread(() => { while (DateTime.UtcNow < until) { GC.Collect(); GC.WaitForPendingFinalizers(); } });
        var workers = Enumerable.Range(0, 3).Select(seed => new Thread(() =>
        {
            try
            {
                using var a = Scalars.With(2.0 + seed, value => full(new long[] { 64, 64 }, value));
                using var b = ones(64, 64);
                float expected = (3f + seed) * 0.5f + 1f;
                while (DateTime.UtcNow < until)
                {
                    for (int i = 0; i < 200; i++)
                    {
                        using var sum = a.Plus(b);
                        using var scaled = sum.Times(0.5);
                        using var shifted = scaled.Plus(1.0);
                        _ = new byte[512]; // allocation pressure, as racing readers make
                        if (i % 50 == 0 && shifted[0, 0].item<float>() is var got && got != expected)
                            throw new InvalidOperationException($"got {got}, expected {expected}");
                    }
                    Interlocked.Add(ref checkedOps, 200);
                }
            }
            catch (Exception e) { failures.Enqueue(e); }
        })).ToList();
        collector.Start();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        collector.Join();
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Select(f => f.Message)));
        Assert.True(checkedOps > 1000, $"only {checkedOps} operations ran");
    }

    static void Same(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(expected.eq(actual).all().item<bool>(), $"values differ:\n{expected.ToString(TorchSharp.TensorStringStyle.Numpy)}\n{actual.ToString(TorchSharp.TensorStringStyle.Numpy)}");
    }
}
