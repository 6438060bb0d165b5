using DeepSeek.Search.Core;
using DeepSeek.Search.Rag.Evaluation;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Rag.Tests.Evaluation;

public sealed class RagQuestionsTests : IDisposable
{
    readonly TempDir _dir = new("rag-questions");
    string Questions => _dir.File("queries.jsonl");
    string DefaultQrels => Path.Combine(_dir.Path, "qrels", "test.tsv");

    const string Good =
        """
        {"_id": "q1", "text": "Who won?", "metadata": {"answers": ["Denver Broncos", "the Broncos"]}}

        {"_id": "q2", "text": "Where?", "metadata": {"answers": ["Levi's Stadium"]}}
        {"id": "q3", "text": "When?", "metadata": {"answers": ["February 7, 2016"], "other": 1}}
        """;

    void Write(string questions, string qrels, string? qrelsPath = null)
    {
        File.WriteAllText(Questions, questions);
        string path = qrelsPath ?? DefaultQrels;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, qrels);
    }

    [Fact]
    public void Reads_questions_answers_and_gold_passages_from_the_qrels_beside_them()
    {
        Write(Good, "query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq2\tp9\t0\nq3\tp3\t2\nq3\tp4\t1\n");
        var all = RagQuestions.Read(Questions);
        Assert.Equal(["q1", "q2", "q3"], all.Select(q => q.Id));
        Assert.Equal(["Denver Broncos", "the Broncos"], all[0].Answers);
        Assert.Equal("Who won?", all[0].Text);
        Assert.Equal(new[] { 1L, 3, 4 }, all.Select(q => q.Line));
        Assert.Equal([0, 1, 2], all.Select(q => q.Position));
        Assert.Equal(["p2"], all[1].GoldDocuments);                        // a grade-0 judgment is no gold passage
        Assert.Equal(["p3", "p4"], all[2].GoldDocuments.Order(StringComparer.Ordinal));
        Assert.Equal(DefaultQrels, RagQuestions.DefaultQrels(Questions));
    }

    [Fact]
    public void A_slice_is_contiguous_in_file_order()
    {
        Write(Good, "q1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\n");
        var all = RagQuestions.Read(Questions);
        Assert.Equal(["q2", "q3"], RagQuestions.Slice(all, 1, 2, Questions).Select(q => q.Id));
        Assert.Equal(["q2"], RagQuestions.Slice(all, 1, 1, Questions).Select(q => q.Id));
        Assert.Equal(["q3"], RagQuestions.Slice(all, 2, 50, Questions).Select(q => q.Id));      // the file ends first
        Assert.Equal(3, RagQuestions.Slice(all, 0, null, Questions).Count);
        Assert.Contains("limit must be at least 1, got 0", Assert.Throws<InvalidInputException>(() => RagQuestions.Slice(all, 0, 0, Questions)).Message);
        Assert.Contains("skip must be 0 or more, got -1", Assert.Throws<InvalidInputException>(() => RagQuestions.Slice(all, -1, 1, Questions)).Message);
        var e = Assert.Throws<InvalidInputException>(() => RagQuestions.Slice(all, 3, null, Questions));
        Assert.Contains($"skip 3 leaves no question: {Questions} holds 3", e.Message);
        Assert.Equal("skip", e.Setting);
    }

    [Theory]
    [InlineData("""{"_id": "q1", "text": "Who?"}""", 1, "question 'q1' has no answers (expected \"metadata\": {\"answers\"")]
    [InlineData("""{"_id": "q1", "text": "Who?", "metadata": {}}""", 1, "question 'q1' has no answers (its metadata has no \"answers\"")]
    [InlineData("""{"_id": "q1", "text": "Who?", "metadata": "Denver"}""", 1, "\"metadata\" is a string, not an object")]
    [InlineData("""{"_id": "q1", "text": "Who?", "metadata": {"answers": "Denver"}}""", 1, "\"metadata.answers\" is a string, not an array of strings")]
    [InlineData("""{"_id": "q1", "text": "Who?", "metadata": {"answers": []}}""", 1, "question 'q1' has no answers (\"metadata.answers\" is empty)")]
    [InlineData("""{"_id": "q1", "text": "Who?", "metadata": {"answers": ["a", 42]}}""", 1, "question 'q1': answer 1 is a number (42), not a string")]
    [InlineData("""{"_id": "q1", "text": "Who?", "metadata": {"answers": ["  "]}}""", 1, "question 'q1': answer 0 is blank")]
    [InlineData("{\"_id\": \"q1\", \"text\": \"Who?\", \"metadata\": {\"answers\": [\"a\"]}}\n{\"_id\": \"q2\", \"text\": ", 2, "invalid JSON")]
    [InlineData("{\"_id\": \"q1\", \"text\": \"Who?\", \"metadata\": {\"answers\": [\"a\"]}}\n{\"_id\": \"q1\", \"text\": \"Again?\", \"metadata\": {\"answers\": [\"a\"]}}", 2, "duplicate query id 'q1'")]
    public void A_bad_question_line_is_an_error_naming_the_file_line_and_value(string questions, long line, string problem)
    {
        Write(questions, "q1\tp1\t1\n");
        var e = Assert.Throws<MalformedRecordException>(() => RagQuestions.Read(Questions));
        Assert.Equal(Questions, e.File);
        Assert.Equal(line, e.Line);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Qrels_naming_an_unknown_question_and_a_question_without_a_gold_passage_are_errors()
    {
        Write(Good, "query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\nq7\tp1\t1\nq8\tp1\t1\n");
        var e = Assert.Throws<MalformedRecordException>(() => RagQuestions.Read(Questions));
        Assert.Equal(DefaultQrels, e.File);
        Assert.Equal(5, e.Line);
        Assert.Contains($"question 'q7' is not in {Questions}; 1 more like it", e.Message);

        Write(Good, "q1\tp1\t1\nq2\tp2\t0\nq3\tp3\t1\n");
        e = Assert.Throws<MalformedRecordException>(() => RagQuestions.Read(Questions));
        Assert.Equal(Questions, e.File);
        Assert.Equal(3, e.Line);
        Assert.Contains("question 'q2' has no gold passage", e.Message);

        Write(Good, "q1\tp1\t1\nq2\tp2\t1\n");
        e = Assert.Throws<MalformedRecordException>(() => RagQuestions.Read(Questions));
        Assert.Equal(4, e.Line);
        Assert.Contains("question 'q3' has no gold passage", e.Message);
    }

    [Fact]
    public void Missing_files_are_errors_naming_them()
    {
        string nowhere = _dir.File("nowhere.jsonl");
        Assert.Contains($"questions file not found: {nowhere}", Assert.Throws<InvalidInputException>(() => RagQuestions.Read(nowhere)).Message);
        File.WriteAllText(Questions, Good);
        var e = Assert.Throws<InvalidInputException>(() => RagQuestions.Read(Questions));
        Assert.Contains($"qrels file not found: {DefaultQrels} (the default: qrels/test.tsv beside the questions file)", e.Message);
        string other = _dir.File("other.tsv");
        Assert.Contains($"qrels file not found: {other}", Assert.Throws<InvalidInputException>(() => RagQuestions.Read(Questions, other)).Message);
        File.WriteAllText(other, "q1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\n");
        Assert.Equal(3, RagQuestions.Read(Questions, other).Count);
    }

    public void Dispose() => _dir.Dispose();
}
