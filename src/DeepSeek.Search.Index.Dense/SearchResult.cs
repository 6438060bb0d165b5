using System.Collections;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// The result of a batched <see cref="FaissIndex.Search(ReadOnlySpan{float}, int, IdSelection?)"/>: one array of hits per query, in query order, best first.
/// A query's array holds at most k hits; it is shorter when the index could not fill k (FAISS's -1 padding is dropped).
/// </summary>
public sealed class SearchResult : IReadOnlyList<DenseHit[]>
{
    readonly DenseHit[][] _perQuery;

    public SearchResult(DenseHit[][] perQuery) => _perQuery = perQuery ?? throw new ArgumentNullException(nameof(perQuery));

    /// <summary>Number of queries.</summary>
    public int Count => _perQuery.Length;

    /// <summary>The hits of query <paramref name="query"/>, best first.</summary>
    public DenseHit[] this[int query] => _perQuery[query];

    public IEnumerator<DenseHit[]> GetEnumerator() => ((IEnumerable<DenseHit[]>)_perQuery).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
