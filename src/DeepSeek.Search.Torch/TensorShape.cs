using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>
/// A tensor's sizes without TorchSharp's <c>Tensor.shape</c> on hot paths: <c>shape</c> (<c>size()</c>) receives the sizes
/// through a pinned, finalizable array it does not dispose, so each read leaves an object with two GC handles for the
/// finalizer thread, and a GC promotes it first. The encoder's and the generator's forward passes read sizes several times
/// per layer (a GC trace of the in-process query path showed these arrays as most of the objects its gen0 collections
/// finalized); <c>size(dim)</c> returns one size and allocates nothing.
/// </summary>
public static class TensorShape
{
    /// <summary>The sizes of <paramref name="x"/>, as <c>x.shape</c> gives them.</summary>
    public static long[] Of(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var sizes = new long[x.dim()];
        for (int i = 0; i < sizes.Length; i++) sizes[i] = x.size(i);
        return sizes;
    }

    /// <summary>The size of the last dimension (0-d: 1, as an empty product).</summary>
    public static long Last(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        long d = x.dim();
        return d == 0 ? 1 : x.size((int)d - 1);
    }
}
