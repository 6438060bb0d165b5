using DeepSeek.Search.Core;
using DeepSeek.Search.Ingest;

namespace DeepSeek.Search.Eval;

/// <summary>
/// A BEIR dataset folder: <c>corpus.jsonl</c>, <c>queries.jsonl</c> and <c>qrels/SPLIT.tsv</c>. The corpus is a
/// streaming <see cref="DocumentSource"/> (strict: a malformed record throws); queries and qrels are read eagerly.
/// </summary>
public sealed class BeirDataset
{
    BeirDataset(string folder, string split, DocumentSource corpus, IReadOnlyList<EvalQuery> queries, Qrels qrels)
    {
        Folder = folder;
        Split = split;
        Corpus = corpus;
        Queries = queries;
        Qrels = qrels;
    }

    public string Folder { get; }
    public string Split { get; }
    public DocumentSource Corpus { get; }

    /// <summary>All queries of queries.jsonl (BEIR ships every split's queries in one file).</summary>
    public IReadOnlyList<EvalQuery> Queries { get; }

    public Qrels Qrels { get; }

    /// <summary>The queries judged in this split, in queries-file order.</summary>
    public IReadOnlyList<EvalQuery> JudgedQueries => Queries.Where(q => Qrels.Contains(q.Id)).ToList();

    /// <summary>Opens <paramref name="folder"/>; a missing folder or file throws <see cref="InvalidInputException"/>.</summary>
    public static BeirDataset Load(string folder, string split = "test")
    {
        if (!Directory.Exists(folder)) throw new InvalidInputException($"BEIR dataset folder not found: {folder}");
        string corpus = Path.Combine(folder, "corpus.jsonl");
        var source = DocumentSource.Open(corpus, new IngestOptions { Strict = true });
        var queries = QueriesReader.Read(Path.Combine(folder, "queries.jsonl"));
        var qrels = QrelsReader.Read(Path.Combine(folder, "qrels", split + ".tsv"));
        return new BeirDataset(folder, split, source, queries, qrels);
    }
}
