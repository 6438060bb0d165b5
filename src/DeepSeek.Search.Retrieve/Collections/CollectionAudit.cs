using DeepSeek.Search.Store;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// A consistency check of one view of a collection: the live documents of the Lucene commit against the document store
/// at the same batch (same ids, same versions, same chunk ranges) and the vectors of every live chunk (in the FAISS file
/// or among the pending ones). <see cref="Problems"/> is empty when all three agree.
/// </summary>
public sealed record CollectionAudit(
    long Seq, string Snapshot, IReadOnlyDictionary<string, StoredDocument> Documents, int LexicalDocuments, long LiveChunks, long LiveVectors,
    IReadOnlyList<string> Problems);
