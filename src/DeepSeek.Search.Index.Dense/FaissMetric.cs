namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// How a FAISS index compares vectors. The values equal FAISS's <c>MetricType</c>.
/// With <see cref="InnerProduct"/> a hit's score is the dot product (larger is closer; the cosine for unit vectors);
/// with <see cref="L2"/> it is the squared Euclidean distance (smaller is closer).
/// </summary>
public enum FaissMetric
{
    InnerProduct = 0,
    L2 = 1,
}
