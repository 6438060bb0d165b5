using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Ingest;

/// <summary>
/// Streams one <see cref="Document"/> per <c>.txt</c>, <c>.md</c>/<c>.markdown</c> and <c>.html</c>/<c>.htm</c> file
/// under a folder, recursively, in ordinal order of relative path. The id is the relative path with '/' separators;
/// the title is the Markdown title (<see cref="MarkdownText"/>), the HTML <c>&lt;title&gt;</c>
/// (<see cref="HtmlTextExtractor"/>), or else the file name without extension. Hidden files and folders (dot names)
/// are skipped. A file that cannot be read or holds no text is reported as a malformed record on line 1.
/// </summary>
public static class FolderDocumentReader
{
    /// <summary>File extensions read (lower case, with the dot).</summary>
    public static IReadOnlySet<string> Extensions { get; } =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".txt", ".md", ".markdown", ".html", ".htm" };

    /// <summary>Reads <paramref name="folder"/> lazily. A missing folder throws <see cref="InvalidInputException"/> at once.</summary>
    public static IEnumerable<Document> Read(string folder, IngestOptions? options = null, IngestReport? report = null)
    {
        if (!Directory.Exists(folder)) throw new InvalidInputException($"input folder not found: {folder}");
        options ??= IngestOptions.Default;
        return ReadCore(folder, new ProblemSink(options, report ?? new IngestReport(options.MaxReportedProblems)));
    }

    internal static IEnumerable<Document> ReadCore(string folder, ProblemSink sink) => ReadFiles(folder, sink).Select(r => r.Document);

    /// <summary>The documents with the file each came from and its last write time.</summary>
    internal static IEnumerable<SourceRecord> ReadFiles(string folder, ProblemSink sink)
    {
        var enumeration = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            MatchType = MatchType.Simple,
        };
        var files = Directory.EnumerateFiles(folder, "*", enumeration)
            .Where(f => Extensions.Contains(Path.GetExtension(f)))
            .Select(f => (Path: f, Id: Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => !f.Id.Split('/').Any(part => part.StartsWith('.')))
            .OrderBy(f => f.Id, StringComparer.Ordinal)
            .ToList();

        foreach (var (path, id) in files)
        {
            sink.Report.CountFile();
            string raw;
            DateTime modified;
            try
            {
                modified = File.GetLastWriteTimeUtc(path);
                raw = File.ReadAllText(path, new UTF8Encoding(false));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                sink.Add(path, 1, "cannot read file: " + ex.Message, ex);
                continue;
            }
            var doc = ToDocument(id, Path.GetExtension(path), raw);
            if (string.IsNullOrWhiteSpace(doc.Text))
            {
                sink.Add(path, 1, "file has no text");
                continue;
            }
            sink.Report.CountDocument();
            yield return new SourceRecord(doc, path, modified);
        }
    }

    /// <summary>Builds the document for one file's contents; <paramref name="extension"/> picks the format.</summary>
    internal static Document ToDocument(string id, string extension, string contents)
    {
        string fallbackTitle = Path.GetFileNameWithoutExtension(id);
        switch (extension.ToLowerInvariant())
        {
            case ".md":
            case ".markdown":
            {
                var (title, body) = MarkdownText.Parse(contents);
                return new Document(id, title ?? fallbackTitle, body.Trim());
            }
            case ".html":
            case ".htm":
            {
                var (title, text) = HtmlTextExtractor.Extract(contents);
                return new Document(id, title ?? fallbackTitle, text);
            }
            default:
                return new Document(id, fallbackTitle, contents.ReplaceLineEndings("\n").Trim());
        }
    }
}
