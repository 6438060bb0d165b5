using System.Text;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Ingest;

/// <summary>
/// Streams <see cref="Document"/>s from a JSON Lines file, one JSON object per line. Each record is read as BEIR
/// (<c>_id</c>, <c>title</c>, <c>text</c>, optional <c>metadata</c>) when it has an <c>_id</c> key and as a generic
/// record (<c>id</c>, <c>title</c>, <c>text</c>, optional <c>metadata</c>) otherwise; <c>metadata</c>, when it is an
/// object, is kept as its raw JSON text. Either form may carry an optional <c>acl</c>,
/// <c>{"principals": ["alice"], "groups": ["finance", "legal"]}</c>, read by <see cref="Acl.FromJson"/> (JSON null or no
/// <c>acl</c> key: no ACL, readable by every reader). A UTF-8 byte order mark, CRLF endings and blank lines are accepted.
/// Malformed records (bad JSON, not an object, missing or empty id, non-string id/title/text, metadata that is not an
/// object or holds an unpaired surrogate escape, an <c>acl</c> that <see cref="Acl.FromJson"/> rejects, duplicate id, empty
/// title and text) are skipped and reported, or thrown in strict mode, with their 1-based line.
/// </summary>
public static class JsonlDocumentReader
{
    /// <summary>Reads <paramref name="file"/> lazily. A missing file throws <see cref="InvalidInputException"/> at once.</summary>
    public static IEnumerable<Document> Read(string file, IngestOptions? options = null, IngestReport? report = null)
    {
        if (!File.Exists(file)) throw new InvalidInputException($"input file not found: {file}");
        options ??= IngestOptions.Default;
        return ReadCore(file, new ProblemSink(options, report ?? new IngestReport(options.MaxReportedProblems)));
    }

    internal static IEnumerable<Document> ReadCore(string file, ProblemSink sink)
    {
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        using var reader = new StreamReader(file, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        sink.Report.CountFile();
        long lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var (doc, problem, inner) = Parse(line);
            if (doc != null)
            {
                if (seen.TryGetValue(doc.Id, out long first))
                {
                    problem = $"duplicate id '{doc.Id}' (first seen on line {first})";
                    doc = null;
                }
                else seen[doc.Id] = lineNo;
            }
            if (doc == null)
            {
                sink.Add(file, lineNo, problem!, inner);
                continue;
            }
            sink.Report.CountDocument();
            yield return doc;
        }
    }

    /// <summary>
    /// One JSON record with the rules of a JSONL line (<c>id</c> or <c>_id</c>, <c>title</c>, <c>text</c>, <c>metadata</c>,
    /// <c>acl</c>); a malformed one is <see cref="InvalidInputException"/> naming the problem (used for documents that arrive
    /// one by one, e.g. a <c>documents.changed</c> event of dss serve's Dapr subscription).
    /// </summary>
    public static Document ParseRecord(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var (doc, problem, inner) = Parse(json);
        return doc ?? throw new InvalidInputException(problem!, inner);
    }

    /// <summary>Parses one record; returns the document, or null with the problem.</summary>
    static (Document? Doc, string? Problem, Exception? Inner) Parse(string line)
    {
        JsonDocument json;
        try { json = JsonDocument.Parse(line); }
        catch (JsonException ex) { return (null, "invalid JSON: " + OneLine(ex.Message), ex); }
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, $"expected a JSON object, got {Kind(root.ValueKind)}", null);

            string idKey = root.TryGetProperty("_id", out _) ? "_id" : "id";
            if (!root.TryGetProperty(idKey, out var idEl) || idEl.ValueKind == JsonValueKind.Null)
                return (null, "missing id (expected an \"_id\" or \"id\" key)", null);
            if (idEl.ValueKind != JsonValueKind.String) return (null, $"field \"{idKey}\" must be a string, got {Kind(idEl.ValueKind)}", null);
            string id = idEl.GetString()!;
            if (string.IsNullOrWhiteSpace(id)) return (null, $"field \"{idKey}\" is empty", null);

            if (!TryString(root, "title", out string title, out string? problem)) return (null, problem, null);
            if (!TryString(root, "text", out string text, out problem)) return (null, problem, null);

            string? metadata = null;
            if (root.TryGetProperty("metadata", out var metaEl) && metaEl.ValueKind != JsonValueKind.Null)
            {
                if (metaEl.ValueKind != JsonValueKind.Object) return (null, $"field \"metadata\" must be a JSON object, got {Kind(metaEl.ValueKind)}", null);
                if (MetadataJson.Problem(metaEl) is string metaProblem) return (null, "field \"metadata\" " + metaProblem, null);
                metadata = metaEl.GetRawText();
            }
            Acl? acl = null;
            if (root.TryGetProperty("acl", out var aclEl))
            {
                acl = Acl.FromJson(aclEl, out problem);
                if (problem is not null) return (null, problem, null);
            }
            if (string.IsNullOrWhiteSpace(title) && string.IsNullOrWhiteSpace(text))
                return (null, $"record '{id}' has empty title and text", null);
            return (new Document(id, title, text, metadata, acl), null, null);
        }
    }

    static bool TryString(JsonElement obj, string key, out string value, out string? problem)
    {
        value = "";
        problem = null;
        if (!obj.TryGetProperty(key, out var el) || el.ValueKind == JsonValueKind.Null) return true;
        if (el.ValueKind != JsonValueKind.String)
        {
            problem = $"field \"{key}\" must be a string, got {Kind(el.ValueKind)}";
            return false;
        }
        value = el.GetString()!;
        return true;
    }

    static string Kind(JsonValueKind k) => JsonKind.Describe(k);

    static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
