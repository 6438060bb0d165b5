namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// One neighbour found by a FAISS search: the id given at <see cref="FaissIndex.Add"/> and its score
/// (inner product, or squared L2 distance; see <see cref="FaissMetric"/>).
/// </summary>
public readonly record struct DenseHit(long Id, float Score);
