using DeepSeek.Search.Core;

namespace DeepSeek.Search.Ingest;

/// <summary>A document as <see cref="DocumentSource.Records"/> reads it: with the file it came from and that file's last write time (UTC).</summary>
public sealed record SourceRecord(Document Document, string File, DateTime ModifiedUtc);
