using DeepSeek.Search.Core;

namespace DeepSeek.Search.Indexing.Reindex;

/// <summary>One document as a re-index source yields it, with the source's modification time for it (null: the source has none).</summary>
public readonly record struct SourceDocument(Document Document, DateTime? ModifiedUtc);

/// <summary>
/// A source of a re-index run: a stable <see cref="Id"/> (the registry's key for the documents it claims: a normalized
/// absolute path for files and folders) and a complete read of it, afresh on each call. A read must be complete: a document
/// it leaves out is deleted from the collection, so a source that cannot read a record must throw, not skip it.
/// </summary>
public sealed class ReindexSource
{
    readonly Func<IEnumerable<SourceDocument>> _read;

    public ReindexSource(string id, Func<IEnumerable<SourceDocument>> read)
    {
        if (string.IsNullOrWhiteSpace(id)) throw new InvalidInputException("a re-index source needs an id");
        Id = id;
        _read = read ?? throw new ArgumentNullException(nameof(read));
    }

    public string Id { get; }

    public IEnumerable<SourceDocument> Read() => _read();

    /// <summary>The stable id of a file or folder source: its absolute path, without a trailing separator.</summary>
    public static string PathId(string path)
    {
        var full = Path.GetFullPath(path);
        var trimmed = Path.TrimEndingDirectorySeparator(full);
        return trimmed.Length > 0 ? trimmed : full;
    }
}
