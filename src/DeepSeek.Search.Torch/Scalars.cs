using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>
/// Tensor arithmetic with numbers, and <c>a + b</c>, without TorchSharp's temporary <c>Scalar</c>s. TorchSharp turns every
/// number it hands libtorch into a <c>Scalar</c> that owns a native handle and frees it in its finalizer, and it passes a
/// fresh <c>Scalar(1)</c> as the alpha of each <c>a + b</c>. Nothing keeps such a temporary reachable while the native op
/// runs, so the GC may finalize it, and free its handle, while libtorch still reads it: with eight readers racing a writer
/// this failed once as a libtorch <c>toFloat</c> check inside <c>THSTensor_add</c> during an encoder forward. Each method here
/// keeps its Scalar alive until the op has returned (a static field, or a <c>using</c> that disposes it afterwards, which
/// also spares the finalizer thread). The architecture tests scan src/'s compiled IL for any other way of making one.
/// Numbers keep their type: a <c>long</c> stays an integer Scalar (no promotion of integer tensors), a <c>double</c> is cast
/// by libtorch to the tensor's dtype exactly as TorchSharp's own operators do.
/// </summary>
public static class Scalars
{
    static readonly Scalar One = 1;

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a += b</c>, in place; returns <paramref name="a"/>.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>a + value</c>.</summary>
    public static Tensor Plus(this Tensor a, double value) { using var s = value.ToScalar(); return a.add(s, One); }

    /// <summary><c>a + value</c> (an integer Scalar).</summary>
    public static Tensor Plus(this Tensor a, long value) { using var s = value.ToScalar(); return a.add(s, One); }

    /// <summary><c>a - value</c>.</summary>
    public static Tensor Minus(this Tensor a, double value) { using var s = value.ToScalar(); return a.sub(s); }

    /// <summary><c>value - a</c> (as TorchSharp computes it: <c>-a + value</c>).</summary>
    public static Tensor SubtractedFrom(this Tensor a, double value) { using var s = value.ToScalar(); using var negated = a.negative(); return negated.add(s, One); }

    /// <summary><c>value - a</c> (an integer Scalar).</summary>
    public static Tensor SubtractedFrom(this Tensor a, long value) { using var s = value.ToScalar(); using var negated = a.negative(); return negated.add(s, One); }

    /// <summary><c>a * value</c>.</summary>
    public static Tensor Times(this Tensor a, double value) { using var s = value.ToScalar(); return a.mul(s); }

    /// <summary><c>a * value</c> (an integer Scalar).</summary>
    public static Tensor Times(this Tensor a, long value) { using var s = value.ToScalar(); return a.mul(s); }

    /// <summary><c>a / value</c>.</summary>
    public static Tensor Over(this Tensor a, double value) { using var s = value.ToScalar(); return a.div(s); }

    /// <summary><c>value / a</c>.</summary>
    public static Tensor DividedInto(this Tensor a, double value) { using var s = value.ToScalar(); using var inverse = a.reciprocal(); return inverse.mul(s); }

    /// <summary>Runs <paramref name="op"/> with <paramref name="value"/> as a Scalar that lives until it returns, for the
    /// TorchSharp calls that take one (<c>masked_fill</c>, <c>clamp</c>, <c>fill_</c>, <c>arange</c>, <c>full</c>, ...).</summary>
    public static T With<T>(double value, Func<Scalar, T> op) { using var s = value.ToScalar(); return op(s); }

    /// <summary><see cref="With{T}(double, Func{Scalar, T})"/> with an integer Scalar.</summary>
    public static T With<T>(long value, Func<Scalar, T> op) { using var s = value.ToScalar(); return op(s); }

    /// <summary><see cref="With{T}(double, Func{Scalar, T})"/> with two Scalars.</summary>
    public static T With<T>(double first, double second, Func<Scalar, Scalar, T> op)
    {
        using var a = first.ToScalar();
        using var b = second.ToScalar();
        return op(a, b);
    }

    /// <summary><see cref="With{T}(double, Func{Scalar, T})"/> with two integer Scalars.</summary>
    public static T With<T>(long first, long second, Func<Scalar, Scalar, T> op)
    {
        using var a = first.ToScalar();
        using var b = second.ToScalar();
        return op(a, b);
    }
}
