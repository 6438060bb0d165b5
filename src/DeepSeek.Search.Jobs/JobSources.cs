using DeepSeek.Search.Indexing.Reindex;
using DeepSeek.Search.Ingest;

namespace DeepSeek.Search.Jobs;

/// <summary>Re-index sources from paths, as <c>dss reindex --source</c> opens them.</summary>
public static class JobSources
{
    /// <summary>A JSONL file or a folder, read strictly (the first malformed record is an error naming file:line), id = its absolute path.</summary>
    public static ReindexSource Open(string path)
    {
        var source = DocumentSource.Open(path, new IngestOptions { Strict = true });
        return new ReindexSource(ReindexSource.PathId(path), () => source.Records().Select(x => new SourceDocument(x.Document, x.ModifiedUtc)));
    }
}
