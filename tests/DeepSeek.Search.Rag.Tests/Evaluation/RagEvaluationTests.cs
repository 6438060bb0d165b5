using System.Text.Json;
using DeepSeek.Search.Rag.Evaluation;

namespace DeepSeek.Search.Rag.Tests.Evaluation;

/// <summary>Scoring answers (records as <see cref="RagAnswerer"/> returns them) and the report made of the scores.</summary>
public class RagEvaluationTests
{
    static RagQuestion Question(string id, string[] answers, params string[] gold) =>
        new(id, "question " + id, answers, gold.ToHashSet(StringComparer.Ordinal), 10, 0);

    static RagSource Source(int n, string doc, string passage) => new(n, doc, n * 10, 0, passage.Length, "title " + doc, passage, 12);

    static RagAnswer Answer(string text, IReadOnlyList<RagSource> sources, int[] cited, double totalMs = 100, bool noSources = false, string finish = "eos") =>
        new(text, cited.Select(n => sources[n - 1]).Select(s => new RagCitation(s.Number, s.DocumentId, s.ChunkId, s.Start, s.End, s.Title)).ToList(),
            sources, new RagUsage(100, 5, sources.Count, 20), new RagTimings(2, 0, 1, totalMs / 2, totalMs - 3, totalMs), 7, noSources, finish, 0);

    static readonly RagSource[] Sources =
    [
        Source(1, "Super_Bowl_50_1", "The Panthers finished the regular season with a 15–1 record."),
        Source(2, "Super_Bowl_50_0", "The American Football Conference (AFC) champion Denver Broncos defeated the Carolina Panthers."),
        Source(3, "Super_Bowl_50_2", "The Broncos took an early lead in Super Bowl 50."),
    ];

    [Fact]
    public void A_question_s_score_reads_its_answer_sources_and_citations()
    {
        var q = Question("q1", ["Denver Broncos", "the Denver Broncos"], "Super_Bowl_50_0");
        var row = RagEvaluation.Score(q, Answer("Denver Broncos [2][1].", Sources, [2, 1]));
        Assert.Equal(1, row.ExactMatch);                                  // the markers are not part of the answer scored
        Assert.Equal(1, row.F1);
        Assert.Equal("Denver Broncos [2][1].", row.Answer);               // the report shows the answer as given
        Assert.Equal(["Super_Bowl_50_1", "Super_Bowl_50_0", "Super_Bowl_50_2"], row.SourceIds);
        Assert.Equal(2, row.GoldRank);
        Assert.True(row.AnswerInSources);
        Assert.Equal(["Super_Bowl_50_0", "Super_Bowl_50_1"], row.CitedSourceIds);
        Assert.Equal(1, row.SupportedCitations);                          // source 1 holds neither gold answer
        Assert.Equal(new CitationCheck(2, 1), row.Citations);

        var wrong = RagEvaluation.Score(Question("q2", ["Levi's Stadium"], "Elsewhere_3"), Answer("the Panthers", Sources, []));
        Assert.Equal(0, wrong.ExactMatch);
        Assert.Equal(0, wrong.F1);
        Assert.Null(wrong.GoldRank);
        Assert.False(wrong.AnswerInSources);
        Assert.Empty(wrong.CitedSourceIds);
    }

    [Fact]
    public void The_summary_averages_over_every_question()
    {
        var rows = new[]
        {
            RagEvaluation.Score(Question("q1", ["Denver Broncos"], "Super_Bowl_50_0"), Answer("Denver Broncos [2]", Sources, [2], totalMs: 100)),          // EM 1, rank 2, cites 1/1
            RagEvaluation.Score(Question("q2", ["Carolina Panthers"], "Super_Bowl_50_1"), Answer("the Panthers [3]", Sources, [3], totalMs: 300)),        // F1 2/3, rank 1, cites 0/1
            RagEvaluation.Score(Question("q3", ["early lead"], "Other_9"), Answer("no idea", Sources, [], totalMs: 200, finish: "length")),               // rank none, answer in source 3
            RagEvaluation.Score(Question("q4", ["x"], "Other_9"), Answer(RagOptions.NoSourcesAnswer, [], [], totalMs: 2, noSources: true, finish: "no_sources")),
        };
        var s = RagEvaluation.Summarize(rows);
        Assert.Equal(4, s.Questions);
        Assert.Equal(1, s.NoSourceAnswers);
        Assert.Equal(0.25, s.ExactMatch, 12);
        // q2: [panthers] against [carolina, panthers]: P 1, R 1/2, F1 2/3
        Assert.Equal((1 + 2.0 / 3) / 4, s.F1, 12);
        Assert.Equal(0.25, s.RecallAt1, 12);
        Assert.Equal(0.5, s.RecallAt3, 12);
        Assert.Equal(0.5, s.RecallAtAll, 12);
        Assert.Equal(0.75, s.AnswerInSources, 12);
        Assert.Equal(2, s.Citations.CitingAnswers);
        Assert.Equal(0.5, s.Citations.Precision!.Value, 12);
        Assert.Equal(new Dictionary<string, int> { ["eos"] = 2, ["length"] = 1, ["no_sources"] = 1 }, s.FinishReasons);
        var total = s.Latency.Single(l => l.Stage == "total");
        Assert.Equal(100, total.MedianMs);                                 // [2, 100, 200, 300]: rank ⌈2⌉
        Assert.Equal(300, total.P90Ms);

        var report = RagEvalReport.Create("squad", new Dictionary<string, object?> { ["mode"] = "bm25", ["limit"] = null },
            20, rows.Select((r, i) => Question(r.Id, ["x"]) with { Line = 5 + i, Position = 4 + i }).ToList(), rows);
        Assert.Equal(new RagEvalCounts(20, 4, 4, 5, 8), report.Counts);
        var json = JsonDocument.Parse(report.ToJson()).RootElement;
        Assert.Equal("squad", json.GetProperty("collection").GetString());
        Assert.Equal("bm25", json.GetProperty("options").GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("options").GetProperty("limit").ValueKind);
        Assert.Equal(4, json.GetProperty("counts").GetProperty("skipped").GetInt32());
        var m = json.GetProperty("metrics");
        Assert.Equal(0.25, m.GetProperty("exact_match").GetDouble(), 12);
        Assert.Equal(0.5, m.GetProperty("recall_at_3").GetDouble(), 12);
        Assert.Equal(0.5, m.GetProperty("citation_precision").GetDouble(), 12);
        Assert.Equal(2, m.GetProperty("citation_precision_over").GetInt32());
        Assert.Equal(300, json.GetProperty("latency_ms").GetProperty("total").GetProperty("p90").GetDouble());
        var q = json.GetProperty("questions").EnumerateArray().ToList();
        Assert.Equal(4, q.Count);
        Assert.Equal(2, q[0].GetProperty("gold_rank").GetInt32());
        Assert.Equal(JsonValueKind.Null, q[2].GetProperty("gold_rank").ValueKind);
        Assert.Equal(["Super_Bowl_50_0"], q[0].GetProperty("cited_source_ids").EnumerateArray().Select(e => e.GetString()));

        string md = report.ToMarkdown();
        Assert.Contains("| exact match (SQuAD v1.1) | 0.2500 |", md);
        Assert.Contains("| recall@all sources | 0.5000 |", md);
        Assert.Contains("| citation precision (mean over the 2 citing answers) | 0.5000 |", md);
        Assert.Contains("| total | 100.0 | 300.0 | 300.0 | 150.5 | 300.0 |", md);
        Assert.Contains("| limit | — |", md);
        Assert.Throws<ArgumentException>(() => RagEvalReport.Create("squad", new Dictionary<string, object?>(), 20, [], rows));
    }
}
