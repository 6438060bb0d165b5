namespace DeepSeek.Search.Core;

/// <summary>One source document as ingested. <paramref name="MetadataJson"/> is a JSON object or null.</summary>
public sealed record Document(string Id, string Title, string Text, string? MetadataJson = null);
