using DeepSeek.Search.Core;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch.SafeTensors;

/// <summary>
/// The two 8-bit float formats of safetensors (OCP FP8): <c>F8_E4M3</c> (PyTorch <c>float8_e4m3fn</c>: bias 7, no infinities,
/// 0x7F/0xFF are NaN, largest 448) and <c>F8_E5M2</c> (bias 15, IEEE-style infinities and NaNs), decoded through 256-entry tables, and
/// the block-scaled dequantisation of DeepSeek-V3's hub weights (<c>inference/kernel.py</c> <c>weight_dequant</c>:
/// <c>W[i,j] = fp8[i,j] · scale_inv[i/B, j/B]</c>, B = 128 by default).
/// </summary>
public static class Float8
{
    /// <summary>The value of every E4M3 byte.</summary>
    public static IReadOnlyList<float> E4M3 => E4M3Table;

    /// <summary>The value of every E5M2 byte.</summary>
    public static IReadOnlyList<float> E5M2 => E5M2Table;

    internal static readonly float[] E4M3Table = BuildE4M3();
    internal static readonly float[] E5M2Table = BuildE5M2();

    static float[] BuildE4M3()
    {
        var t = new float[256];
        for (int b = 0; b < 256; b++)
        {
            int sign = b >> 7, exp = (b >> 3) & 0xF, man = b & 0x7;
            double v;
            if (exp == 0xF && man == 0x7) v = double.NaN;
            else if (exp == 0) v = man / 8.0 * Math.Pow(2, -6);
            else v = (1 + man / 8.0) * Math.Pow(2, exp - 7);
            t[b] = (float)(sign == 1 ? -v : v);
        }
        return t;
    }

    static float[] BuildE5M2()
    {
        var t = new float[256];
        for (int b = 0; b < 256; b++)
        {
            int sign = b >> 7, exp = (b >> 2) & 0x1F, man = b & 0x3;
            double v;
            if (exp == 0x1F) v = man == 0 ? double.PositiveInfinity : double.NaN;
            else if (exp == 0) v = man / 4.0 * Math.Pow(2, -14);
            else v = (1 + man / 4.0) * Math.Pow(2, exp - 15);
            t[b] = (float)(sign == 1 ? -v : v);
        }
        return t;
    }

    /// <summary>
    /// The E4M3 byte nearest to <paramref name="value"/> (ties to the even mantissa, values beyond ±448 saturate to ±448, NaN → 0x7F),
    /// as PyTorch's saturating cast. Used to write FP8 checkpoints.
    /// </summary>
    public static byte ToE4M3(float value)
    {
        if (float.IsNaN(value)) return 0x7F;
        byte sign = (byte)(value < 0 || (value == 0 && float.IsNegative(value)) ? 0x80 : 0);
        float a = Math.Abs(value);
        if (a >= 448f) return (byte)(sign | 0x7E);
        // the positive codes 0x00..0x7E are increasing in value: binary search for the neighbours
        int lo = 0, hi = 0x7E;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (E4M3Table[mid] <= a) lo = mid; else hi = mid;
        }
        float dLo = a - E4M3Table[lo], dHi = E4M3Table[hi] - a;
        int code = dLo < dHi ? lo : dHi < dLo ? hi : ((lo & 1) == 0 ? lo : hi);
        return (byte)(sign | code);
    }

    /// <summary>
    /// Block dequantisation: <paramref name="weight"/> [out, in] (decoded FP8 values, float32) times <paramref name="scaleInv"/>
    /// [ceil(out/B), ceil(in/B)], each scale covering a B×B block. Returns a new float32 tensor.
    /// </summary>
    public static Tensor Dequantize(Tensor weight, Tensor scaleInv, int blockRows = 128, int blockColumns = 128, string name = "weight")
    {
        if (weight.dim() != 2 || scaleInv.dim() != 2)
            throw new CheckpointException($"FP8 tensor '{name}': expected a 2-D weight and a 2-D weight_scale_inv, got [{string.Join(", ", weight.shape)}] and [{string.Join(", ", scaleInv.shape)}]");
        long rows = weight.shape[0], cols = weight.shape[1];
        long br = (rows + blockRows - 1) / blockRows, bc = (cols + blockColumns - 1) / blockColumns;
        if (scaleInv.shape[0] != br || scaleInv.shape[1] != bc)
            throw new CheckpointException($"FP8 tensor '{name}': weight_scale_inv has shape [{string.Join(", ", scaleInv.shape)}], a [{rows}, {cols}] weight in {blockRows}×{blockColumns} blocks needs [{br}, {bc}]");
        using var scope = NewDisposeScope();
        var scales = scaleInv.to(ScalarType.Float32)
            .repeat_interleave(blockRows, 0).repeat_interleave(blockColumns, 1)
            .narrow(0, 0, rows).narrow(1, 0, cols);
        return (weight.to(ScalarType.Float32) * scales).MoveToOuterDisposeScope();
    }
}
