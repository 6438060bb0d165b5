using System.Text;
using System.Text.Json;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>
/// Reads a BEIR <c>queries.jsonl</c>: one JSON object per line with <c>_id</c> (or <c>id</c>) and <c>text</c>; other
/// keys are ignored by <see cref="Read"/>, and BEIR's <c>metadata</c> object is kept by <see cref="ReadRecords"/> (SQuAD's
/// answers live there), as written: what it must hold is its reader's business. A BOM, CRLF endings and blank lines are
/// accepted. Evaluation input is read strictly: bad JSON, a missing or non-string id or text, empty text, or a duplicate id
/// throws <see cref="MalformedRecordException"/> with the 1-based line.
/// </summary>
public static class QueriesReader
{
    /// <summary>All queries of <paramref name="path"/> in file order. A missing file throws <see cref="InvalidInputException"/>.</summary>
    public static IReadOnlyList<EvalQuery> Read(string path) => ReadRecords(path).Select(r => r.Query).ToList();

    /// <summary>
    /// All queries of <paramref name="path"/> in file order, each with its 1-based line and its <c>metadata</c> value (when
    /// the line has one). A missing file throws <see cref="InvalidInputException"/>.
    /// </summary>
    public static IReadOnlyList<QueryRecord> ReadRecords(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"queries file not found: {path}");
        var result = new List<QueryRecord>();
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        long lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument json;
            try { json = JsonDocument.Parse(line); }
            catch (JsonException ex) { throw new MalformedRecordException(path, lineNo, "invalid JSON: " + ex.Message.ReplaceLineEndings(" "), ex); }
            using (json)
            {
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new MalformedRecordException(path, lineNo, "expected a JSON object");
                string idKey = root.TryGetProperty("_id", out _) ? "_id" : "id";
                if (!root.TryGetProperty(idKey, out var idEl)) throw new MalformedRecordException(path, lineNo, "missing id (expected an \"_id\" or \"id\" key)");
                if (idEl.ValueKind != JsonValueKind.String) throw new MalformedRecordException(path, lineNo, $"field \"{idKey}\" must be a string");
                string id = idEl.GetString()!;
                if (id.Length == 0) throw new MalformedRecordException(path, lineNo, $"field \"{idKey}\" is empty");
                if (!root.TryGetProperty("text", out var textEl)) throw new MalformedRecordException(path, lineNo, $"query '{id}' has no \"text\"");
                if (textEl.ValueKind != JsonValueKind.String) throw new MalformedRecordException(path, lineNo, "field \"text\" must be a string");
                string text = textEl.GetString()!;
                if (string.IsNullOrWhiteSpace(text)) throw new MalformedRecordException(path, lineNo, $"query '{id}' has empty text");
                if (seen.TryGetValue(id, out long first)) throw new MalformedRecordException(path, lineNo, $"duplicate query id '{id}' (first seen on line {first})");
                JsonElement? metadata = root.TryGetProperty("metadata", out var metaEl) ? metaEl.Clone() : null;
                seen[id] = lineNo;
                result.Add(new QueryRecord(new EvalQuery(id, text), lineNo, metadata));
            }
        }
        return result;
    }
}
