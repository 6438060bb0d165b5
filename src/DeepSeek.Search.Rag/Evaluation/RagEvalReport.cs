using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DeepSeek.Search.Rag.Evaluation;

/// <summary>Which questions were evaluated: the file's count, how many were skipped, how many followed, and their lines.</summary>
public sealed record RagEvalCounts(int QuestionsInFile, int Skipped, int Evaluated, long FirstLine, long LastLine);

/// <summary>
/// An answer evaluation's report: the options it ran with (name → value, as the caller spells them), which questions,
/// the means (<see cref="RagEvalSummary"/>) and one row per question; as JSON (<see cref="ToJson"/>), a Markdown table
/// (<see cref="ToMarkdown"/>) or the lines of a terminal summary (<see cref="SummaryLines"/>), all from the same rows.
/// </summary>
public sealed record RagEvalReport(string Collection, IReadOnlyDictionary<string, object?> Options, RagEvalCounts Counts, RagEvalSummary Summary,
    IReadOnlyList<RagQuestionScore> Rows)
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The report of <paramref name="rows"/>, the scores of <paramref name="slice"/> of a file of <paramref name="questionsInFile"/> questions.</summary>
    public static RagEvalReport Create(string collection, IReadOnlyDictionary<string, object?> options, int questionsInFile, IReadOnlyList<RagQuestion> slice,
        IReadOnlyList<RagQuestionScore> rows)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(rows);
        if (slice.Count != rows.Count) throw new ArgumentException($"{rows.Count} scores for {slice.Count} questions", nameof(rows));
        var counts = new RagEvalCounts(questionsInFile, slice.Count == 0 ? 0 : slice[0].Position, slice.Count,
            slice.Count == 0 ? 0 : slice[0].Line, slice.Count == 0 ? 0 : slice[^1].Line);
        return new RagEvalReport(collection, options, counts, RagEvaluation.Summarize(rows), rows);
    }

    static double Round(double ms) => Math.Round(ms, 2);

    static Dictionary<string, double> TimingsOf(RagTimings t) =>
        StageLatency.Stages.ToDictionary(s => s.Stage, s => Round(s.Read(t)), StringComparer.Ordinal);

    public string ToJson()
    {
        var s = Summary;
        var c = s.Citations;
        var document = new
        {
            collection = Collection,
            options = Options,
            counts = new
            {
                questions_in_file = Counts.QuestionsInFile,
                skipped = Counts.Skipped,
                evaluated = Counts.Evaluated,
                first_line = Counts.FirstLine,
                last_line = Counts.LastLine,
                no_source_answers = s.NoSourceAnswers,
                citing_answers = c.CitingAnswers,
                finish_reasons = s.FinishReasons,
            },
            metrics = new
            {
                exact_match = s.ExactMatch,
                f1 = s.F1,
                recall_at_1 = s.RecallAt1,
                recall_at_3 = s.RecallAt3,
                recall_at_5 = s.RecallAt5,
                recall_at_all = s.RecallAtAll,
                answer_in_sources = s.AnswerInSources,
                citation_rate = c.CitationRate,
                citation_precision = c.Precision,
                citation_precision_over = c.CitingAnswers,
                cited_sources = c.CitedSources,
                supported_cited_sources = c.SupportedSources,
                pooled_citation_precision = c.PooledPrecision,
            },
            latency_ms = s.Latency.ToDictionary(l => l.Stage, l => new
            {
                count = l.Count,
                median = Round(l.MedianMs),
                p90 = Round(l.P90Ms),
                p99 = Round(l.P99Ms),
                mean = Round(l.MeanMs),
                max = Round(l.MaxMs),
            }, StringComparer.Ordinal),
            questions = Rows.Select(r => new
            {
                id = r.Id,
                question = r.Question,
                gold_answers = r.GoldAnswers,
                gold_documents = r.GoldDocuments,
                answer = r.Answer,
                exact_match = r.ExactMatch,
                f1 = r.F1,
                source_ids = r.SourceIds,
                gold_rank = r.GoldRank,
                answer_in_sources = r.AnswerInSources,
                cited_source_ids = r.CitedSourceIds,
                supported_citations = r.SupportedCitations,
                no_sources = r.NoSources,
                finish_reason = r.FinishReason,
                timings_ms = TimingsOf(r.Timings),
            }),
        };
        return JsonSerializer.Serialize(document, Json) + "\n";
    }

    static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
    static string Ms(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>The metrics as (name, value) rows: what the Markdown table and the terminal summary show.</summary>
    public IReadOnlyList<(string Metric, string Value)> MetricRows()
    {
        var s = Summary;
        var c = s.Citations;
        string finish = string.Join(", ", s.FinishReasons.Select(kv => $"{kv.Key} {kv.Value}"));
        return
        [
            ("questions", $"{Counts.Evaluated} of {Counts.QuestionsInFile} (skipped {Counts.Skipped}; lines {Counts.FirstLine}–{Counts.LastLine})"),
            ("exact match (SQuAD v1.1)", F(s.ExactMatch)),
            ("token F1 (SQuAD v1.1)", F(s.F1)),
            ("gold passage in sources: recall@1", F(s.RecallAt1)),
            ("recall@3", F(s.RecallAt3)),
            ("recall@5", F(s.RecallAt5)),
            ("recall@all sources", F(s.RecallAtAll)),
            ("answer string in a source", F(s.AnswerInSources)),
            ("answers citing a source", $"{F(c.CitationRate)} ({c.CitingAnswers} of {c.Answers})"),
            ($"citation precision (mean over the {c.CitingAnswers} citing answers)", c.Precision is { } p ? F(p) : "— (no answer cites)"),
            ("citation precision, pooled", c.PooledPrecision is { } q ? $"{F(q)} ({c.SupportedSources} of {c.CitedSources} citations)" : "—"),
            ("no-sources answers", s.NoSourceAnswers.ToString(CultureInfo.InvariantCulture)),
            ("finish reasons", finish.Length == 0 ? "—" : finish),
        ];
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# dss eval-rag: {Collection}, {Counts.Evaluated} questions\n\n");
        md.Append("| option | value |\n|---|---|\n");
        foreach (var (k, v) in Options) md.Append(CultureInfo.InvariantCulture, $"| {k} | {Cell(v)} |\n");
        md.Append("\n| metric | value |\n|---|---|\n");
        foreach (var (m, v) in MetricRows()) md.Append(CultureInfo.InvariantCulture, $"| {m} | {v} |\n");
        md.Append("\n| stage | median ms | p90 ms | p99 ms | mean ms | max ms |\n|---|---|---|---|---|---|\n");
        foreach (var l in Summary.Latency)
            md.Append(CultureInfo.InvariantCulture, $"| {l.Stage} | {Ms(l.MedianMs)} | {Ms(l.P90Ms)} | {Ms(l.P99Ms)} | {Ms(l.MeanMs)} | {Ms(l.MaxMs)} |\n");
        md.Append("\nPercentiles by nearest rank. Recall@k: the gold passage (qrels) among the first k sources given to the model. ")
          .Append("EM and F1: the official SQuAD v1.1 normalisation, citation markers removed, best over the gold answers.\n");
        return md.ToString();
    }

    /// <summary>The terminal summary: the metric rows and the latency table, aligned.</summary>
    public IReadOnlyList<string> SummaryLines()
    {
        var rows = MetricRows();
        int width = rows.Max(r => r.Metric.Length);
        var lines = rows.Select(r => $"{r.Metric.PadRight(width)}  {r.Value}").ToList();
        lines.Add("");
        lines.Add($"{"latency ms",-12} {"median",9} {"p90",9} {"p99",9} {"max",9}");
        foreach (var l in Summary.Latency)
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{l.Stage,-12} {l.MedianMs,9:F1} {l.P90Ms,9:F1} {l.P99Ms,9:F1} {l.MaxMs,9:F1}"));
        return lines;
    }

    static string Cell(object? v) => v switch
    {
        null => "—",
        bool b => b ? "yes" : "no",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => (v.ToString() ?? "").Replace("|", "\\|", StringComparison.Ordinal),
    };
}
