using DeepSeek.Search.Core;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// Chunk id → document id for one snapshot, as sorted ranges (a document's chunks are consecutive ids). Grown by one
/// refresher at a time with ranges above every range it holds; a reader uses the prefix it captured (<see cref="Count"/>
/// at its view's creation), so growth never disturbs a search in progress.
/// </summary>
sealed class ChunkMap
{
    long[] _first = new long[1024];
    int[] _count = new int[1024];
    string[] _doc = new string[1024];
    volatile int _n;

    public int Count => _n;

    /// <summary>Appends a range; ranges must arrive in increasing order (the store gives out ids in batch order).</summary>
    public void Append(long first, int count, string documentId)
    {
        int n = _n;
        if (n > 0 && first < _first[n - 1] + _count[n - 1])
            throw new IndexCorruptException($"chunk range {first}+{count} of '{documentId}' overlaps or precedes the range of '{_doc[n - 1]}'");
        if (n == _first.Length)
        {
            // Readers may hold the old arrays: copy, fill, then publish the new ones before the count.
            var f = new long[n * 2]; Array.Copy(_first, f, n);
            var c = new int[n * 2]; Array.Copy(_count, c, n);
            var d = new string[n * 2]; Array.Copy(_doc, d, n);
            f[n] = first; c[n] = count; d[n] = documentId;
            (_first, _count, _doc) = (f, c, d);
        }
        else
        {
            _first[n] = first; _count[n] = count; _doc[n] = documentId;
        }
        _n = n + 1;
    }

    /// <summary>One past the highest chunk id among the first <paramref name="prefix"/> ranges (0 when there are none).</summary>
    public long EndAt(int prefix)
    {
        if (prefix <= 0) return 0;
        var first = _first;
        var count = _count;
        return first[prefix - 1] + count[prefix - 1];
    }

    /// <summary>The document of <paramref name="chunkId"/> among the first <paramref name="prefix"/> ranges, or null.</summary>
    public string? Find(long chunkId, int prefix)
    {
        var first = _first;
        var count = _count;
        var doc = _doc;
        prefix = Math.Min(prefix, Math.Min(first.Length, _n));
        int lo = 0, hi = prefix - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (first[mid] > chunkId) hi = mid - 1;
            else if (first[mid] + count[mid] <= chunkId) lo = mid + 1;
            else return doc[mid];
        }
        return null;
    }
}
