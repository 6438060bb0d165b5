namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>Which retrievers answer a query.</summary>
public enum SearchMode
{
    /// <summary>Lucene BM25 only.</summary>
    Bm25,
    /// <summary>Dual-encoder embeddings + FAISS only.</summary>
    Dense,
    /// <summary>Both, fused (RRF or min-max).</summary>
    Hybrid,
}
