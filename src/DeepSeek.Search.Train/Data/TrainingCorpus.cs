using DeepSeek.Search.Core;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Train.Data;

/// <summary>
/// The documents training draws positives, negatives and pseudo-pairs from, in file order, by id. A document's training text is what the
/// index embeds: <see cref="TextChunker.ComposeText(string?, string?)"/> of title and body.
/// </summary>
public sealed class TrainingCorpus
{
    readonly Dictionary<string, int> _byId;

    TrainingCorpus(string path, IReadOnlyList<Document> documents)
    {
        Path = path;
        Documents = documents;
        _byId = new Dictionary<string, int>(documents.Count, StringComparer.Ordinal);
        for (int i = 0; i < documents.Count; i++)
            if (!_byId.TryAdd(documents[i].Id, i))
                throw new InvalidInputException($"{path}: document id '{documents[i].Id}' occurs more than once");
    }

    public string Path { get; }
    public IReadOnlyList<Document> Documents { get; }
    public int Count => Documents.Count;

    /// <summary>Reads a corpus (BEIR corpus.jsonl, generic JSONL or a folder), strictly: a malformed record is an error.</summary>
    public static TrainingCorpus Load(string path)
    {
        var source = DocumentSource.Open(path, new IngestOptions { Strict = true });
        var docs = source.ToList();
        if (docs.Count == 0) throw new InvalidInputException($"the corpus {path} has no documents");
        return new TrainingCorpus(path, docs);
    }

    /// <summary>A corpus over documents in memory (tests, pair files without a corpus).</summary>
    public static TrainingCorpus FromDocuments(IEnumerable<Document> documents, string name = "(memory)") => new(name, documents.ToList());

    public bool Contains(string id) => _byId.ContainsKey(id);

    public Document Get(string id) =>
        _byId.TryGetValue(id, out int i) ? Documents[i] : throw new InvalidInputException($"document '{id}' is not in the corpus {Path}");

    /// <summary>The text a document is trained and indexed as (title, separator, body).</summary>
    public string TextOf(string id) => TextChunker.ComposeText(Get(id));

    public TrainingText Item(string id) => new(id, TextOf(id));
}
