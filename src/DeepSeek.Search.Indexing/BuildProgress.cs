using DeepSeek.Search.Core.Progress;

namespace DeepSeek.Search.Indexing;

/// <summary>Progress of a build: the stage (read, chunk, encode, train, faiss, ...), and how far through it (Total 0 when unknown).</summary>
public sealed record BuildProgress(string Stage, long Done, long Total) : ProgressCount(Stage, Done, Total);
