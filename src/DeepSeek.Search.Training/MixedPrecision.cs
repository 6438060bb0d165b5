using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepSeek.Search.Training;

/// <summary>
/// Mixed precision with float32 master weights and bf16 working copies (TorchSharp 0.107 has no autocast): the two copies of every
/// trained parameter, kept in step by <c>dss train</c>'s <see cref="DualTowers"/> and <c>dss train-lm</c>'s weights alike.
/// </summary>
public static class MixedPrecision
{
    /// <summary>After backward: each working gradient, as float32, becomes its master's gradient (pairs without a working copy are skipped).</summary>
    public static void GradientsToMaster(IEnumerable<(Parameter Master, Parameter? Work)> pairs)
    {
        using var scope = NewDisposeScope();
        foreach (var (master, work) in pairs)
        {
            var g = work?.grad;
            if (g is null) continue;
            var mg = master.grad;
            if (mg is null) master.grad = g.to(ScalarType.Float32).DetachFromDisposeScope();
            else mg.copy_(g);
        }
    }

    /// <summary>After the optimizer step: the master weights are copied into the working copies, whose gradients are zeroed.</summary>
    public static void MasterToWorking(IEnumerable<(Parameter Master, Parameter? Work)> pairs)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (master, work) in pairs)
        {
            if (work is null) continue;
            work.copy_(master);
            work.grad?.zero_();
        }
    }
}
