using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Core;

/// <summary>
/// One source document as ingested. <paramref name="MetadataJson"/> is a JSON object or null. <paramref name="Acl"/> says who
/// may read it; null means every reader of the collection may.
/// </summary>
public sealed record Document(string Id, string Title, string Text, string? MetadataJson = null, Acl? Acl = null);
