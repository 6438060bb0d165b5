using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Store;

/// <summary>
/// A document as the store keeps it: its content, its version (the collection-wide sequence number of the batch that
/// wrote this content), the SHA-256 of its content (title, text, metadata, ACL), and its chunks: the ids
/// <c>FirstChunk .. FirstChunk + ChunkCount - 1</c>, given out once and never reused.
/// </summary>
public sealed record StoredDocument(
    string Id, long Version, string Sha256, string Title, string Text, string? MetadataJson, Acl? Acl, long FirstChunk, int ChunkCount)
{
    public Document ToDocument() => new(Id, Title, Text, MetadataJson, Acl);
}

/// <summary>One chunk row: its id, the document version it belongs to, and its character span in the encoded text.</summary>
public sealed record StoredChunk(long ChunkId, string DocumentId, long Version, int Ordinal, int Start, int End);

/// <summary>What a committed batch did to one document (the collection's change log).</summary>
public enum ChangeKind { Upsert, Delete }

/// <summary>One change-log entry: at <paramref name="Seq"/>, document <paramref name="DocumentId"/> was upserted or deleted.</summary>
public readonly record struct Change(long Seq, string DocumentId, ChangeKind Kind);

/// <summary>One committed batch: its sequence number, what wrote it, and how many documents it upserted and deleted.</summary>
public sealed record BatchRecord(long Seq, string Kind, int Upserts, int Deletes, DateTime CommittedUtc);

/// <summary>
/// One batch's effect on the live documents (<see cref="DocumentStore.EffectOf"/>): the rows it wrote and the (id, version)
/// rows it deleted outright, i.e. removed without writing that id again.
/// </summary>
public sealed record BatchEffect(IReadOnlyList<StoredDocument> Written, IReadOnlyList<(string Id, long Version)> Deleted);
