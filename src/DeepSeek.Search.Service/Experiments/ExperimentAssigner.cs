using DeepSeek.Search.Core;

namespace DeepSeek.Search.Service.Experiments;

/// <summary>
/// The assignment of a caller to an arm, as pure functions: the caller's key and the experiment's salt hash to a point of
/// [0, 1) (<see cref="Position"/>), and the arm is the first whose cumulative share lies above it (<see cref="Pick"/>). The
/// same salt and key give the same arm in every call, process and machine; a different salt an independent split.
/// </summary>
public static class ExperimentAssigner
{
    /// <summary>
    /// Core's <see cref="StableHash.Mixed"/> (FNV-1a and MurmurHash3's finaliser) of <c>salt + ":" + key</c>, over 2^32.
    /// </summary>
    public static double Position(string salt, string key)
    {
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentNullException.ThrowIfNull(key);
        return StableHash.Mixed(salt + ":" + key) / 4294967296.0;
    }

    /// <summary>
    /// The index of the arm <paramref name="position"/> (in [0, 1)) falls in, given each arm's share (positive, summing to 1):
    /// arm i holds [share₀ + … + shareᵢ₋₁, share₀ + … + shareᵢ); the last arm also takes what rounding leaves below 1.
    /// </summary>
    public static int Pick(IReadOnlyList<double> shares, double position)
    {
        ArgumentNullException.ThrowIfNull(shares);
        if (shares.Count == 0) throw new ArgumentException("an experiment has at least one arm", nameof(shares));
        double upper = 0;
        for (int i = 0; i < shares.Count - 1; i++)
        {
            upper += shares[i];
            if (position < upper) return i;
        }
        return shares.Count - 1;
    }
}
