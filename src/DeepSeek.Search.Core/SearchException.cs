namespace DeepSeek.Search.Core;

/// <summary>Root of every error the engine raises on purpose. Messages are one line and name the problem.</summary>
public class SearchException : Exception
{
    public SearchException(string message) : base(message) { }
    public SearchException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>User input that cannot be used: empty query, bad option value, missing file.</summary>
public class InvalidInputException : SearchException
{
    public InvalidInputException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>
    /// The setting the problem is about, in library terms (e.g. <c>mode</c>), when it is about one; null otherwise.
    /// Front ends use it to name their own option (a CLI flag, a request field) alongside the message.
    /// </summary>
    public string? Setting { get; init; }
}

/// <summary>
/// A dense or hybrid search of a collection that has no dense index (it was built without an encoder): only a BM25
/// search can serve it. <see cref="InvalidInputException.Setting"/> is <c>mode</c>.
/// </summary>
public sealed class NoDenseIndexException : InvalidInputException
{
    /// <summary>The collection that was searched.</summary>
    public string Collection { get; }

    /// <summary>The search mode that was asked for, in lower case (<c>dense</c> or <c>hybrid</c>).</summary>
    public string Mode { get; }

    public NoDenseIndexException(string collection, string mode)
        : base($"collection '{collection}' has no dense index (it was built without an encoder), so search mode '{mode}' cannot serve it; use search mode bm25")
    {
        Collection = collection;
        Mode = mode;
        Setting = "mode";
    }
}

/// <summary>A record in an input file that cannot be parsed; carries the file and 1-based line.</summary>
public sealed class MalformedRecordException : InvalidInputException
{
    public string File { get; }
    public long Line { get; }
    public MalformedRecordException(string file, long line, string problem, Exception? inner = null)
        : base($"{file}:{line}: {problem}", inner) { File = file; Line = line; }
}

/// <summary>No collection of that name under the index root.</summary>
public sealed class CollectionNotFoundException : SearchException
{
    public CollectionNotFoundException(string name, string root)
        : base($"unknown collection '{name}' (no committed index under {Path.Combine(root, name)})") => Name = name;

    /// <summary>The collection name asked for.</summary>
    public string Name { get; } = "";
}

/// <summary>An index file (manifest, FAISS, Lucene, document store) that is damaged or unreadable.</summary>
public sealed class IndexCorruptException : SearchException
{
    public IndexCorruptException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Two parts that must agree do not: encoder vs index dimension, analyzer, format version.</summary>
public sealed class IndexMismatchException : SearchException
{
    public IndexMismatchException(string message) : base(message) { }
}

/// <summary>A model checkpoint folder that cannot be loaded (missing, unexpected or mis-shaped tensors, bad config).</summary>
public sealed class CheckpointException : SearchException
{
    public CheckpointException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// Re-ranking or an answer was asked for a collection that has no generator: none is configured and the collection has no
/// <c>generator/</c> folder of its own.
/// </summary>
public sealed class NoGeneratorException : SearchException
{
    public NoGeneratorException(string collection)
        : base($"no generator for collection '{collection}': configure one (Generator:Model, or --model) or train one on the collection into its folder (dss train-lm --corpus ... --out INDEX_ROOT/{collection}/generator)") =>
        Collection = collection;

    public string Collection { get; }
}
