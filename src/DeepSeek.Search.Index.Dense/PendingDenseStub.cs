// TEMPORARY: stands in for the dense helper's IdSelection / ExactVectors / filtered search until its branch merges; deleted then.
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense;

public sealed class IdSelection
{
    readonly byte[] _bits;
    public IdSelection(long capacity) { Capacity = capacity; _bits = new byte[(capacity + 7) / 8]; }
    public long Capacity { get; }
    public long Count { get; private set; }
    public void Add(long id)
    {
        if (id < 0 || id >= Capacity) throw new InvalidInputException($"id {id} outside 0..{Capacity - 1}");
        if (!Contains(id)) { _bits[id >> 3] |= (byte)(1 << (int)(id & 7)); Count++; }
    }
    public void AddRange(long first, long count) { for (long i = 0; i < count; i++) Add(first + i); }
    public bool Contains(long id) => id >= 0 && id < Capacity && (_bits[id >> 3] & (1 << (int)(id & 7))) != 0;
}

public sealed class ExactVectors
{
    readonly float[] _rows;
    readonly long[] _ids;
    public ExactVectors(int dimension, float[] rows, long[] ids) { Dimension = dimension; _rows = rows; _ids = ids; }
    public int Dimension { get; }
    public int Count => _ids.Length;
    public ReadOnlySpan<long> Ids => _ids;
    public static ExactVectors Empty(int dimension) => new(dimension, [], []);
    public ExactVectors Append(float[] rows, long[] ids) => new(Dimension, [.. _rows, .. rows], [.. _ids, .. ids]);
    public DenseHit[] Search(ReadOnlySpan<float> query, int k, IdSelection? selection = null)
    {
        var hits = new List<DenseHit>();
        for (int i = 0; i < _ids.Length; i++)
        {
            if (selection != null && !selection.Contains(_ids[i])) continue;
            float s = 0;
            for (int j = 0; j < Dimension; j++) s += query[j] * _rows[i * Dimension + j];
            hits.Add(new DenseHit(_ids[i], s));
        }
        return hits.OrderByDescending(h => h.Score).ThenBy(h => h.Id).Take(k).ToArray();
    }
}

public static class PendingDenseExtensions
{
    public static SearchResult Search(this FaissIndex index, ReadOnlySpan<float> queries, int k, IdSelection? selection)
    {
        if (selection == null) return index.Search(queries, k);
        var all = index.Search(queries, (int)Math.Max(1, index.Count));
        return new SearchResult(all.Select(h => h.Where(x => selection.Contains(x.Id)).Take(k).ToArray()).ToArray());
    }
    public static float[] Reconstruct(this FaissIndex index, ReadOnlySpan<long> ids) => throw new NotSupportedException("pending");
}
