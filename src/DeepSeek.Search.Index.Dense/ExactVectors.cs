using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// An immutable in-memory matrix of float32 rows, each under a 64-bit id, searched exactly by inner product: every row is
/// scored. For a live collection's vectors that are not in a FAISS index yet, and for exact search over a small
/// permitted set (the selected vectors <see cref="FaissIndex.Reconstruct"/> returns), where a filtered approximate search
/// would miss hits.
/// <para>
/// Layout: <see cref="Rows"/> is row-major <see cref="Count"/> × <see cref="Dimension"/>; row i belongs to <c>Ids[i]</c>.
/// Ids need not be unique or non-negative (each row is scored on its own; an <see cref="IdSelection"/> never selects a
/// negative id).
/// </para>
/// <para>
/// Thread safety: nothing changes after construction (the constructor copies its arrays; <see cref="Append"/> returns a new
/// instance), so any number of threads may search one instance at once.
/// </para>
/// </summary>
public sealed unsafe class ExactVectors
{
    readonly float[] _rows;
    readonly long[] _ids;

    /// <summary>
    /// A matrix of ids.Length rows: <paramref name="rows"/> is row-major ids.Length × <paramref name="dimension"/> floats.
    /// Both arrays are copied.
    /// </summary>
    /// <exception cref="InvalidInputException">dimension ≤ 0, or rows.Length ≠ ids.Length × dimension.</exception>
    public ExactVectors(int dimension, float[] rows, long[] ids) : this(dimension, rows, ids, copy: true)
    {
    }

    // copy: false only for arrays made here (Append), which nothing else can reach.
    ExactVectors(int dimension, float[] rows, long[] ids, bool copy)
    {
        Check(dimension, rows, ids);
        Dimension = dimension;
        _rows = copy ? (float[])rows.Clone() : rows;
        _ids = copy ? (long[])ids.Clone() : ids;
    }

    /// <summary>A matrix with no rows.</summary>
    /// <exception cref="InvalidInputException">dimension ≤ 0.</exception>
    public static ExactVectors Empty(int dimension) => new(dimension, [], []);

    /// <summary>Vector dimension d: every row is d floats.</summary>
    public int Dimension { get; }

    /// <summary>Number of rows.</summary>
    public int Count => _ids.Length;

    /// <summary>The id of each row, in row order.</summary>
    public ReadOnlySpan<long> Ids => _ids;

    /// <summary>The rows, row-major <see cref="Count"/> × <see cref="Dimension"/> floats.</summary>
    public ReadOnlySpan<float> Rows => _rows;

    /// <summary>
    /// A new instance holding this one's rows followed by <paramref name="rows"/> (row-major ids.Length ×
    /// <see cref="Dimension"/>) under <paramref name="ids"/>; this instance does not change.
    /// </summary>
    /// <exception cref="InvalidInputException">rows.Length ≠ ids.Length × Dimension, or the result would not fit in one array.</exception>
    public ExactVectors Append(float[] rows, long[] ids)
    {
        Check(Dimension, rows, ids);
        if ((long)_rows.Length + rows.Length > Array.MaxLength)
            throw new InvalidInputException(
                $"cannot append {ids.Length} rows to {Count}: {(long)_rows.Length + rows.Length} floats do not fit in one array");
        if (ids.Length == 0) return new ExactVectors(Dimension, _rows, _ids, copy: false); // the arrays never change: share them
        var allRows = new float[_rows.Length + rows.Length];
        _rows.CopyTo(allRows, 0);
        rows.CopyTo(allRows, _rows.Length);
        var allIds = new long[_ids.Length + ids.Length];
        _ids.CopyTo(allIds, 0);
        ids.CopyTo(allIds, _ids.Length);
        return new ExactVectors(Dimension, allRows, allIds, copy: false);
    }

    /// <summary>
    /// The k rows with the largest inner product with <paramref name="query"/>, best first; equal scores by smaller id.
    /// With a <paramref name="selection"/>, rows whose id it does not contain are skipped (and not scored). Fewer than k
    /// hits when fewer rows qualify.
    /// </summary>
    /// <exception cref="InvalidInputException">query.Length ≠ Dimension, or k ≤ 0.</exception>
    public DenseHit[] Search(ReadOnlySpan<float> query, int k, IdSelection? selection = null)
    {
        if (query.Length != Dimension)
            throw new InvalidInputException($"query has {query.Length} floats: expected one {Dimension}-dimensional vector");
        if (k <= 0) throw new InvalidInputException($"k must be positive (got {k})");
        int limit = (int)Math.Min(k, Math.Min(Count, selection?.Count ?? long.MaxValue));
        if (limit == 0) return [];

        fixed (float* rows = _rows)
        fixed (long* ids = _ids)
        fixed (float* q = query)
        {
            if (selection is null) return FlatScan.Search(rows, ids, Count, Dimension, q, 1, limit, FaissIndex.Threads)[0];
            fixed (byte* bits = selection.Bits)
                return FlatScan.Search(rows, ids, Count, Dimension, q, 1, limit, FaissIndex.Threads, bits, selection.Capacity)[0];
        }
    }

    public override string ToString() => $"ExactVectors({Count} rows, d={Dimension})";

    static void Check(int dimension, float[] rows, long[] ids)
    {
        if (dimension <= 0) throw new InvalidInputException($"vector dimension must be positive (got {dimension})");
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(ids);
        if (rows.Length != (long)ids.Length * dimension)
            throw new InvalidInputException(
                $"got {rows.Length} floats for {ids.Length} ids of dimension {dimension}: need ids × dimension = " +
                $"{(long)ids.Length * dimension} floats (one row-major {dimension}-dimensional row per id)");
    }
}
