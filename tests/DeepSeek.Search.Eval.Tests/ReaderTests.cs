using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Eval.Tests;

public class ReaderTests
{
    static string Write(TempDir dir, string name, string content, bool bom = false)
    {
        string path = dir.File(name);
        File.WriteAllText(path, content, new UTF8Encoding(bom));
        return path;
    }

    [Fact]
    public void QrelsWithHeaderCrlfAndBom()
    {
        using var dir = new TempDir();
        string path = Write(dir, "test.tsv", "query-id\tcorpus-id\tscore\r\n1\tdocA\t1\r\n\r\n1\tdocB\t2\r\n2\tdocA\t0\r\n", bom: true);
        var qrels = QrelsReader.Read(path);
        Assert.Equal(3, qrels.Count);
        Assert.Equal(["1", "2"], qrels.QueryIds);
        Assert.Equal(2, qrels.For("1")["docB"]);
        Assert.Equal(0, qrels.For("2")["docA"]);
        Assert.Empty(qrels.For("3"));
    }

    [Fact]
    public void QrelsWithoutHeaderAndInTrecFormat()
    {
        using var dir = new TempDir();
        Assert.Equal(2, QrelsReader.Read(Write(dir, "a.tsv", "1\td1\t1\n1\td2\t1\n")).Count);
        var trec = QrelsReader.Read(Write(dir, "b.txt", "301 0 FBIS3-10082 1\n301 0 FBIS3-10169 -1\n"));
        Assert.Equal(-1, trec.For("301")["FBIS3-10169"]);
    }

    [Theory]
    [InlineData("query-id\tcorpus-id\tscore\n1\td1\n", 2, "expected 3 columns")]
    [InlineData("1\td1\t1\n1\td2\tx\n", 2, "score 'x' is not an integer")]
    [InlineData("1\td1\t1\n\n1\td1\t0\n", 3, "duplicate judgment for query '1', document 'd1' (first on line 1)")]
    [InlineData("1\td1\t1\n\td2\t1\n", 2, "empty query or corpus id")]
    [InlineData("1\td1\t1\n1\td2\t1.5\n", 2, "is not an integer")]
    public void MalformedQrelsLineThrowsWithItsLine(string content, long line, string problem)
    {
        using var dir = new TempDir();
        string path = Write(dir, "q.tsv", content);
        var ex = Assert.Throws<MalformedRecordException>(() => QrelsReader.Read(path));
        Assert.Equal(line, ex.Line);
        Assert.Equal(path, ex.File);
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void QueriesReaderReadsBeirQueries()
    {
        using var dir = new TempDir();
        string path = Write(dir, "queries.jsonl",
            "{\"_id\": \"0\", \"text\": \"first query\", \"metadata\": {}}\r\n\r\n{\"id\": \"x\", \"text\": \"generic\"}\r\n", bom: true);
        var queries = QueriesReader.Read(path);
        Assert.Equal([new EvalQuery("0", "first query"), new EvalQuery("x", "generic")], queries);
    }

    [Fact]
    public void QueryRecordsKeepTheirLineAndMetadataAsWritten()
    {
        using var dir = new TempDir();
        string path = Write(dir, "queries.jsonl",
            "{\"_id\": \"a\", \"text\": \"q\", \"metadata\": {\"answers\": [\"x\", \"y\"]}}\r\n\r\n{\"_id\": \"b\", \"text\": \"r\"}\n{\"_id\": \"c\", \"text\": \"s\", \"metadata\": 3}\n");
        var records = QueriesReader.ReadRecords(path);
        Assert.Equal([1L, 3, 4], records.Select(r => r.Line));
        Assert.Equal(["x", "y"], records[0].Metadata!.Value.GetProperty("answers").EnumerateArray().Select(e => e.GetString()));
        Assert.Null(records[1].Metadata);
        Assert.Equal(3, records[2].Metadata!.Value.GetInt32());             // any kind: its reader decides what it must be
        Assert.Equal(records.Select(r => r.Query), QueriesReader.Read(path));
    }

    [Fact]
    public void QrelsRememberTheLineOfEachQuerysFirstJudgment()
    {
        using var dir = new TempDir();
        var qrels = QrelsReader.Read(Write(dir, "q.tsv", "query-id\tcorpus-id\tscore\n\n1\tdocA\t1\n2\tdocA\t1\n1\tdocB\t1\n"));
        Assert.Equal(3, qrels.LineOf("1"));
        Assert.Equal(4, qrels.LineOf("2"));
        Assert.Equal(0, qrels.LineOf("3"));
        var built = new Qrels();
        built.Add("q", "d", 1);
        Assert.Equal(0, built.LineOf("q"));
    }

    [Theory]
    [InlineData("{\"_id\": \"0\", \"text\": \"ok\"}\n{bad\n", 2, "invalid JSON")]
    [InlineData("{\"text\": \"no id\"}\n", 1, "missing id")]
    [InlineData("{\"_id\": 5, \"text\": \"x\"}\n", 1, "must be a string")]
    [InlineData("{\"_id\": \"5\"}\n", 1, "has no \"text\"")]
    [InlineData("{\"_id\": \"5\", \"text\": \"  \"}\n", 1, "empty text")]
    [InlineData("{\"_id\": \"5\", \"text\": \"a\"}\n{\"_id\": \"5\", \"text\": \"b\"}\n", 2, "duplicate query id '5'")]
    public void MalformedQueriesThrowWithTheirLine(string content, long line, string problem)
    {
        using var dir = new TempDir();
        string path = Write(dir, "queries.jsonl", content);
        var ex = Assert.Throws<MalformedRecordException>(() => QueriesReader.Read(path));
        Assert.Equal(line, ex.Line);
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void MissingFilesAreInvalidInput()
    {
        using var dir = new TempDir();
        Assert.Throws<InvalidInputException>(() => QrelsReader.Read(dir.File("nope.tsv")));
        Assert.Throws<InvalidInputException>(() => QueriesReader.Read(dir.File("nope.jsonl")));
        Assert.Throws<InvalidInputException>(() => Run.ReadTrec(dir.File("nope.run")));
        Assert.Throws<InvalidInputException>(() => BeirDataset.Load(dir.File("nope")));
    }

    [Fact]
    public void TrecRunRoundTripsInTrecEvalOrder()
    {
        using var dir = new TempDir();
        var run = new Run();
        run.Set("q1", [new Hit("a", 1f), new Hit("b", 1f), new Hit("c", 2.5f)]);
        run.Set("q2", [new Hit("d", 0.125f)]);
        string path = dir.File("run.trec");
        run.WriteTrec(path, "bm25");
        Assert.Equal(["q1 Q0 c 1 2.5 bm25", "q1 Q0 b 2 1 bm25", "q1 Q0 a 3 1 bm25", "q2 Q0 d 1 0.125 bm25"], File.ReadAllLines(path));
        var back = Run.ReadTrec(path);
        Assert.Equal(["q1", "q2"], back.QueryIds);
        Assert.True(back.TryGet("q1", out var hits));
        Assert.Equal([new Hit("c", 2.5f), new Hit("b", 1f), new Hit("a", 1f)], hits);

        File.WriteAllText(path, "q1 Q0 a 1 notanumber tag\n");
        Assert.Equal(1, Assert.Throws<MalformedRecordException>(() => Run.ReadTrec(path)).Line);
    }

    [Fact]
    public void SharedSciFactFilesLoad()
    {
        var data = BeirDataset.Load(Repo.SharedPath("data", "scifact"), "test");
        Assert.Equal(1109, data.Queries.Count);
        Assert.Equal(300, data.Qrels.QueryIds.Count);
        Assert.Equal(339, data.Qrels.Count);
        Assert.Equal(300, data.JudgedQueries.Count);
        var train = QrelsReader.Read(Repo.SharedPath("data", "scifact", "qrels", "train.tsv"));
        Assert.Equal(809, train.QueryIds.Count);
        Assert.Equal(919, train.Count);
    }
}
