using System.Globalization;
using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>
/// Reads qrels: BEIR TSV (<c>query-id	corpus-id	score</c>, header line optional) or TREC format
/// (<c>query-id iteration corpus-id score</c>). Columns are tab-separated, or whitespace-separated when a line has no
/// tab. A BOM, CRLF endings and blank lines are accepted. The first non-blank line is taken as a header when its score
/// is not an integer. Any other malformed line (wrong column count, empty id, non-integer score, duplicate pair)
/// throws <see cref="MalformedRecordException"/> with its 1-based line.
/// </summary>
public static class QrelsReader
{
    public static Qrels Read(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"qrels file not found: {path}");
        var qrels = new Qrels();
        var firstLine = new Dictionary<(string, string), long>();
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        long lineNo = 0;
        bool first = true;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            bool isFirst = first;
            first = false;
            string[] cols = line.Contains('\t')
                ? line.Split('\t').Select(c => c.Trim()).ToArray()
                : line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length != 3 && cols.Length != 4)
            {
                if (isFirst) continue; // a header of another shape
                throw new MalformedRecordException(path, lineNo, $"expected 3 columns (query-id, corpus-id, score) or 4 (TREC), got {cols.Length}");
            }
            string qid = cols[0], did = cols.Length == 3 ? cols[1] : cols[2], score = cols[^1];
            if (!int.TryParse(score, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int rel))
            {
                if (isFirst) continue; // header
                throw new MalformedRecordException(path, lineNo, $"score '{score}' is not an integer");
            }
            if (qid.Length == 0 || did.Length == 0) throw new MalformedRecordException(path, lineNo, "empty query or corpus id");
            if (firstLine.TryGetValue((qid, did), out long prev))
                throw new MalformedRecordException(path, lineNo, $"duplicate judgment for query '{qid}', document '{did}' (first on line {prev})");
            firstLine[(qid, did)] = lineNo;
            qrels.Add(qid, did, rel, lineNo);
        }
        return qrels;
    }
}
