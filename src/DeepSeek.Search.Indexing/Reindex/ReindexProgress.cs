using DeepSeek.Search.Core.Progress;

namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>Progress of a re-index run: <c>read</c> (documents read and hashed; total 0 until the sources end), <c>write</c> (added and changed documents upserted), <c>delete</c>.</summary>
public sealed record ReindexProgress(string Stage, long Done, long Total) : ProgressCount(Stage, Done, Total);
