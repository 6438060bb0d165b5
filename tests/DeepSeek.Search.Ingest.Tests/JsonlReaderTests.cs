using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Ingest.Tests;

public class JsonlReaderTests
{
    static string Write(TempDir dir, string name, string content, bool bom = false)
    {
        string path = dir.File(name);
        File.WriteAllText(path, content, new UTF8Encoding(bom));
        return path;
    }

    [Fact]
    public void ReadsBeirRecordsWithBomCrlfAndBlankLines()
    {
        using var dir = new TempDir();
        string path = Write(dir, "corpus.jsonl",
            "{\"_id\": \"d1\", \"title\": \"Title one\", \"text\": \"Body one\", \"metadata\": {\"year\": 2020, \"tags\": [\"a\"]}}\r\n" +
            "\r\n" +
            "   \r\n" +
            "{\"_id\": \"d2\", \"title\": \"\", \"text\": \"Body two ünïcödé\"}\r\n", bom: true);

        var source = DocumentSource.Open(path);
        Assert.Equal(DocumentSourceKind.JsonLines, source.Kind);
        var docs = source.ToList();

        Assert.Equal(2, docs.Count);
        Assert.Equal(new Document("d1", "Title one", "Body one", "{\"year\": 2020, \"tags\": [\"a\"]}"), docs[0]);
        Assert.Equal("d2", docs[1].Id);
        Assert.Equal("", docs[1].Title);
        Assert.Equal("Body two ünïcödé", docs[1].Text);
        Assert.Null(docs[1].MetadataJson);
        Assert.Equal(2, source.Report.DocumentsRead);
        Assert.Equal(0, source.Report.Skipped);
    }

    [Fact]
    public void ReadsGenericRecordsAndMixesPerRecord()
    {
        using var dir = new TempDir();
        string path = Write(dir, "docs.ndjson",
            "{\"id\": \"g1\", \"title\": \"Generic\", \"text\": \"first\", \"metadata\": {\"k\": \"v\"}}\n" +
            "{\"_id\": \"b1\", \"text\": \"beir style\"}\n" +
            "{\"id\": \"g2\", \"text\": \"no title\", \"title\": null, \"metadata\": null}\n");

        var docs = DocumentSource.Open(path).ToList();

        Assert.Equal(["g1", "b1", "g2"], docs.Select(d => d.Id));
        Assert.Equal("{\"k\": \"v\"}", docs[0].MetadataJson);
        Assert.Equal("", docs[2].Title);
        Assert.Null(docs[2].MetadataJson);
    }

    const string Malformed =
        "{\"_id\": \"ok1\", \"text\": \"fine\"}\n" +          // 1
        "{not json\n" +                                        // 2 bad JSON
        "{\"title\": \"no id\", \"text\": \"x\"}\n" +          // 3 missing id
        "{\"id\": 7, \"text\": \"x\"}\n" +                     // 4 numeric id
        "{\"id\": \"t\", \"text\": [\"x\"]}\n" +               // 5 non-string text
        "{\"id\": \"ok1\", \"text\": \"again\"}\n" +           // 6 duplicate id
        "{\"id\": \"e\", \"title\": \" \", \"text\": \"\"}\n" + // 7 empty title and text
        "[1, 2]\n" +                                           // 8 not an object
        "{\"id\": \"m\", \"text\": \"x\", \"metadata\": 3}\n" +// 9 metadata not an object
        "\n" +                                                 // 10 blank: fine
        "{\"id\": \"ok2\", \"title\": \"T\"}\n";               // 11 title only: fine

    [Fact]
    public void LenientModeSkipsAndReportsEveryMalformedRecordWithItsLine()
    {
        using var dir = new TempDir();
        string path = Write(dir, "bad.jsonl", Malformed);
        var seen = new List<IngestProblem>();
        var source = DocumentSource.Open(path, new IngestOptions { OnProblem = seen.Add, MaxReportedProblems = 3 });

        var docs = source.ToList();

        Assert.Equal(["ok1", "ok2"], docs.Select(d => d.Id));
        Assert.Equal([2L, 3, 4, 5, 6, 7, 8, 9], seen.Select(p => p.Line));
        Assert.All(seen, p => Assert.Equal(path, p.File));
        Assert.StartsWith("invalid JSON", seen[0].Problem);
        Assert.Contains("missing id", seen[1].Problem);
        Assert.Contains("\"id\" must be a string, got a number", seen[2].Problem);
        Assert.Contains("\"text\" must be a string, got an array", seen[3].Problem);
        Assert.Contains("duplicate id 'ok1' (first seen on line 1)", seen[4].Problem);
        Assert.Contains("empty title and text", seen[5].Problem);
        Assert.Contains("expected a JSON object", seen[6].Problem);
        Assert.Contains("\"metadata\" must be a JSON object", seen[7].Problem);

        Assert.Equal(2, source.Report.DocumentsRead);
        Assert.Equal(8, source.Report.Skipped);
        Assert.Equal(3, source.Report.Problems.Count);
        Assert.True(source.Report.ProblemsTruncated);
        Assert.Equal(seen.Take(3), source.Report.Problems);
        Assert.Equal($"{path}:2: {seen[0].Problem}", seen[0].ToString());
    }

    [Fact]
    public void StrictModeThrowsAtTheFirstMalformedRecord()
    {
        using var dir = new TempDir();
        string path = Write(dir, "bad.jsonl", Malformed);
        var source = DocumentSource.Open(path, new IngestOptions { Strict = true });
        var yielded = new List<string>();

        var ex = Assert.Throws<MalformedRecordException>(() => { foreach (var d in source) yielded.Add(d.Id); });

        Assert.Equal(["ok1"], yielded);
        Assert.Equal(path, ex.File);
        Assert.Equal(2, ex.Line);
        Assert.StartsWith($"{path}:2: invalid JSON", ex.Message);
    }

    [Fact]
    public void ReEnumerationResetsTheReport()
    {
        using var dir = new TempDir();
        string path = Write(dir, "c.jsonl", "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}\n");
        var source = DocumentSource.Open(path);
        Assert.Single(source.ToList());
        Assert.Single(source.ToList());
        Assert.Equal(1, source.Report.DocumentsRead);
        Assert.Equal(1, source.Report.Skipped);
        Assert.Equal(1, source.Report.FilesRead);
    }

    [Fact]
    public void ReaderCanBeUsedDirectlyWithAnExternalReport()
    {
        using var dir = new TempDir();
        string path = Write(dir, "c.jsonl", "{\"id\":\"a\",\"text\":\"x\"}\nnope\n");
        var report = new IngestReport();
        var docs = JsonlDocumentReader.Read(path, report: report).ToList();
        Assert.Single(docs);
        Assert.Equal(1, report.Skipped);
        Assert.StartsWith("1 documents read, 1 skipped (first: ", report.ToString());
    }

    [Fact]
    public void MissingOrUnsupportedPathsAreInvalidInput()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<InvalidInputException>(() => DocumentSource.Open(dir.File("nope.jsonl")));
        Assert.Equal($"input not found: {dir.File("nope.jsonl")}", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);

        string csv = Write(dir, "x.csv", "a,b\n");
        Assert.Contains("unsupported input file", Assert.Throws<InvalidInputException>(() => DocumentSource.Open(csv)).Message);
        Assert.Throws<InvalidInputException>(() => DocumentSource.Open(" "));
        Assert.Throws<InvalidInputException>(() => JsonlDocumentReader.Read(dir.File("missing.jsonl")));
    }

    [Fact]
    public void ReadsTheSharedSciFactCorpus()
    {
        var source = DocumentSource.Open(Repo.SharedPath("data", "scifact", "corpus.jsonl"), new IngestOptions { Strict = true });
        int n = 0;
        foreach (var d in source)
        {
            Assert.False(string.IsNullOrEmpty(d.Id));
            n++;
        }
        Assert.Equal(5183, n);
        Assert.Equal(0, source.Report.Skipped);
    }
}
