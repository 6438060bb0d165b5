using DeepSeek.Search.Core.Progress;

namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>Progress of a re-index run: <c>read</c> (documents read and hashed; total 0 until the sources end), <c>write</c> (added and changed documents upserted), <c>delete</c>.</summary>
public sealed record ReindexProgress(string Stage, long Done, long Total) : ProgressCount(Stage, Done, Total);

/// <summary>The progress of a re-embed before the diff (<see cref="ReindexOptions.Encoder"/>): the builder's stages as <c>re-embed STAGE</c>.</summary>
sealed class ReembedProgress(IProgress<ProgressEvent> inner) : IProgress<BuildProgress>
{
    public void Report(BuildProgress value) => inner.Report(new ReindexProgress($"re-embed {value.Stage}", value.Done, value.Total));
}
