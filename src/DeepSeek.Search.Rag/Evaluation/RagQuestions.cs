using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;

namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>
/// A question to answer with its gold answers (SQuAD: several annotators' spans, any of which counts) and its gold passages
/// (the documents the qrels judge relevant), from <see cref="Line"/> of its file; <see cref="Position"/> is its 0-based
/// place among the file's questions (what <c>--skip</c> counts).
/// </summary>
public sealed record RagQuestion(string Id, string Text, IReadOnlyList<string> Answers, IReadOnlySet<string> GoldDocuments, long Line, int Position);

/// <summary>
/// Reads the questions of an answer evaluation: a BEIR <c>queries.jsonl</c> (through Eval's <see cref="QueriesReader"/>)
/// whose records hold their gold answers in <c>metadata.answers</c> (a non-empty array of non-blank strings, as the SQuAD
/// BEIR view has them), and a BEIR qrels file (through <see cref="QrelsReader"/>) naming each question's gold passages
/// (grade ≥ 1). Read strictly, whole files, whatever slice is evaluated: a question without answers or without a gold passage,
/// and a qrels line naming a question the questions file does not hold, are <see cref="MalformedRecordException"/>s naming
/// the file, line and value.
/// </summary>
public static class RagQuestions
{
    /// <summary>The qrels file used when none is given: <c>qrels/test.tsv</c> beside the questions file (BEIR's layout).</summary>
    public static string DefaultQrels(string questionsPath)
    {
        ArgumentNullException.ThrowIfNull(questionsPath);
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(questionsPath))!, "qrels", "test.tsv");
    }

    /// <summary>
    /// Every question of <paramref name="questionsPath"/>, in file order, with its gold passages from <paramref name="qrelsPath"/>
    /// (null: <see cref="DefaultQrels"/>).
    /// </summary>
    public static IReadOnlyList<RagQuestion> Read(string questionsPath, string? qrelsPath = null)
    {
        ArgumentNullException.ThrowIfNull(questionsPath);
        if (!File.Exists(questionsPath)) throw new InvalidInputException($"questions file not found: {questionsPath}") { Setting = "questions" };
        if (qrelsPath is null)
        {
            qrelsPath = DefaultQrels(questionsPath);
            if (!File.Exists(qrelsPath))
                throw new InvalidInputException($"qrels file not found: {qrelsPath} (the default: qrels/test.tsv beside the questions file)") { Setting = "qrels" };
        }
        else if (!File.Exists(qrelsPath)) throw new InvalidInputException($"qrels file not found: {qrelsPath}") { Setting = "qrels" };
        var records = QueriesReader.ReadRecords(questionsPath);
        var qrels = QrelsReader.Read(qrelsPath);

        var ids = records.Select(r => r.Query.Id).ToHashSet(StringComparer.Ordinal);
        var unknown = qrels.QueryIds.Where(id => !ids.Contains(id)).ToList();
        if (unknown.Count > 0)
            throw new MalformedRecordException(qrelsPath, qrels.LineOf(unknown[0]),
                $"question '{unknown[0]}' is not in {questionsPath}{More(unknown.Count)}");

        var questions = new List<RagQuestion>(records.Count);
        var ungraded = new List<QueryRecord>();
        for (int position = 0; position < records.Count; position++)
        {
            var r = records[position];
            var answers = Answers(questionsPath, r);
            var gold = qrels.For(r.Query.Id).Where(j => j.Value >= Qrels.RelevanceLevel).Select(j => j.Key).ToHashSet(StringComparer.Ordinal);
            if (gold.Count == 0) { ungraded.Add(r); continue; }
            questions.Add(new RagQuestion(r.Query.Id, r.Query.Text, answers, gold, r.Line, position));
        }
        if (ungraded.Count > 0)
        {
            var first = ungraded[0];
            throw new MalformedRecordException(questionsPath, first.Line,
                $"question '{first.Query.Id}' has no gold passage in {qrelsPath} (no judgment of grade >= {Qrels.RelevanceLevel}){More(ungraded.Count)}");
        }
        if (questions.Count == 0) throw new InvalidInputException($"questions file {questionsPath} holds no question") { Setting = "questions" };
        return questions;
    }

    /// <summary>
    /// The contiguous slice of <paramref name="questions"/> that skips the first <paramref name="skip"/> and keeps the next
    /// <paramref name="limit"/> (null: all the rest; fewer when the file ends first).
    /// </summary>
    public static IReadOnlyList<RagQuestion> Slice(IReadOnlyList<RagQuestion> questions, int skip, int? limit, string questionsPath)
    {
        ArgumentNullException.ThrowIfNull(questions);
        if (skip < 0) throw new InvalidInputException($"skip must be 0 or more, got {skip}") { Setting = "skip" };
        if (limit is < 1) throw new InvalidInputException($"limit must be at least 1, got {limit}") { Setting = "limit" };
        if (skip >= questions.Count)
            throw new InvalidInputException($"skip {skip} leaves no question: {questionsPath} holds {questions.Count}") { Setting = "skip" };
        return questions.Skip(skip).Take(limit ?? int.MaxValue).ToList();
    }

    static List<string> Answers(string path, QueryRecord r)
    {
        string id = r.Query.Id;
        string expected = "\"metadata\": {\"answers\": [\"...\"]}";
        if (r.Metadata is not { } meta)
            throw new MalformedRecordException(path, r.Line, $"question '{id}' has no answers (expected {expected})");
        if (meta.ValueKind != JsonValueKind.Object)
            throw new MalformedRecordException(path, r.Line, $"question '{id}': \"metadata\" is {Kind(meta)}, not an object holding \"answers\"");
        if (!meta.TryGetProperty("answers", out var list))
            throw new MalformedRecordException(path, r.Line, $"question '{id}' has no answers (its metadata has no \"answers\"; expected {expected})");
        if (list.ValueKind != JsonValueKind.Array)
            throw new MalformedRecordException(path, r.Line, $"question '{id}': \"metadata.answers\" is {Kind(list)}, not an array of strings");
        var answers = new List<string>();
        int i = 0;
        foreach (var a in list.EnumerateArray())
        {
            if (a.ValueKind != JsonValueKind.String)
                throw new MalformedRecordException(path, r.Line, $"question '{id}': answer {i} is {Kind(a)} ({Shorten(a.GetRawText())}), not a string");
            string text = a.GetString()!;
            if (string.IsNullOrWhiteSpace(text)) throw new MalformedRecordException(path, r.Line, $"question '{id}': answer {i} is blank");
            answers.Add(text);
            i++;
        }
        if (answers.Count == 0) throw new MalformedRecordException(path, r.Line, $"question '{id}' has no answers (\"metadata.answers\" is empty)");
        return answers;
    }

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    static string More(int count) => count > 1 ? $"; {count - 1} more like it" : "";
}
