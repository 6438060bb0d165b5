using System.Collections;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Ingest;

/// <summary>
/// A re-enumerable stream of <see cref="Document"/>s from a path: a folder (see <see cref="FolderDocumentReader"/>) or
/// a <c>.jsonl</c>/<c>.ndjson</c> file of BEIR or generic records (see <see cref="JsonlDocumentReader"/>). Each
/// enumeration re-reads the input and resets <see cref="Report"/>, which then holds that pass's counts and problems.
/// </summary>
public sealed class DocumentSource : IEnumerable<Document>
{
    static readonly HashSet<string> JsonlExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jsonl", ".ndjson", ".jsonlines" };

    DocumentSource(string path, DocumentSourceKind kind, IngestOptions options)
    {
        Path = path;
        Kind = kind;
        Options = options;
        Report = new IngestReport(options.MaxReportedProblems);
    }

    /// <summary>The path as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary>What the path holds.</summary>
    public DocumentSourceKind Kind { get; }

    public IngestOptions Options { get; }

    /// <summary>Counts and first problems of the latest (or current) enumeration.</summary>
    public IngestReport Report { get; }

    /// <summary>
    /// Detects what <paramref name="path"/> is and returns a source for it. Throws <see cref="InvalidInputException"/>
    /// when the path does not exist or is a file of another kind, or when the options are invalid.
    /// </summary>
    public static DocumentSource Open(string path, IngestOptions? options = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException("input path is empty");
        options ??= IngestOptions.Default;
        if (options.MaxReportedProblems < 0) throw new InvalidInputException("MaxReportedProblems must be >= 0");
        if (Directory.Exists(path)) return new DocumentSource(path, DocumentSourceKind.Folder, options);
        if (File.Exists(path))
        {
            if (JsonlExtensions.Contains(System.IO.Path.GetExtension(path)))
                return new DocumentSource(path, DocumentSourceKind.JsonLines, options);
            throw new InvalidInputException($"unsupported input file: {path} (expected a folder or a .jsonl file)");
        }
        throw new InvalidInputException($"input not found: {path}");
    }

    public IEnumerator<Document> GetEnumerator()
    {
        Report.Reset();
        var sink = new ProblemSink(Options, Report);
        var docs = Kind == DocumentSourceKind.Folder
            ? FolderDocumentReader.ReadCore(Path, sink)
            : JsonlDocumentReader.ReadCore(Path, sink);
        return docs.GetEnumerator();
    }

    /// <summary>
    /// One pass like <see cref="GetEnumerator"/>, each document with the file it came from and that file's last write time
    /// (UTC): the document's own file in a folder, the JSONL file (its time when the pass opened it) otherwise.
    /// </summary>
    public IEnumerable<SourceRecord> Records()
    {
        Report.Reset();
        var sink = new ProblemSink(Options, Report);
        if (Kind == DocumentSourceKind.Folder) return FolderDocumentReader.ReadFiles(Path, sink);
        return JsonlRecords(sink);
    }

    IEnumerable<SourceRecord> JsonlRecords(ProblemSink sink)
    {
        var modified = File.GetLastWriteTimeUtc(Path);
        foreach (var d in JsonlDocumentReader.ReadCore(Path, sink)) yield return new SourceRecord(d, Path, modified);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
