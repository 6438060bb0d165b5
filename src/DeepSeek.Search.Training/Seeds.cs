namespace DeepSeek.Search.Training;

/// <summary>
/// Derives independent, reproducible random streams from the run's seed and a position (epoch, example), so that every random choice
/// of training (batch order, crops, sampled negatives) is a pure function of where it happens: a resumed run makes the same choices.
/// </summary>
public static class Seeds
{
    /// <summary>A 31-bit seed for <see cref="Random(int)"/> from the run seed and two coordinates (SplitMix64 finaliser).</summary>
    public static int Mix(long seed, long a, long b)
    {
        ulong x = (ulong)seed;
        x = Finalize(x + 0x9E3779B97F4A7C15UL * (ulong)(a + 1));
        x = Finalize(x + 0xBF58476D1CE4E5B9UL * (ulong)(b + 1));
        return (int)(x >> 33);
    }

    /// <summary>A random stream for one (stream, epoch, index) position.</summary>
    public static Random At(long seed, long stream, long epoch, long index) => new(Mix(Mix(seed, stream, epoch), index, 0x5EED));

    static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
