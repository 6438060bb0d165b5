using System.Globalization;
using System.Text.Json;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>
/// The result of <see cref="Evaluator.Evaluate"/>: mean nDCG / Recall / MRR over the judged queries at the recorded
/// cutoffs, per-query metrics, and what was left out. A query is judged (evaluated) when it is in both the queries file
/// and the qrels; qrels queries missing from the queries file and queries without judgments are skipped and counted.
/// Serializes to and from JSON (camelCase).
/// </summary>
public sealed record EvalReport
{
    public int NdcgAt { get; init; }
    public int RecallAt { get; init; }
    public int MrrAt { get; init; }

    /// <summary>Mean nDCG@<see cref="NdcgAt"/> over judged queries (0 when none).</summary>
    public double Ndcg { get; init; }

    /// <summary>Mean Recall@<see cref="RecallAt"/> over judged queries.</summary>
    public double Recall { get; init; }

    /// <summary>Mean MRR@<see cref="MrrAt"/> over judged queries.</summary>
    public double Mrr { get; init; }

    /// <summary>Queries evaluated (in the queries file and in the qrels).</summary>
    public int Judged { get; init; }

    /// <summary>All skipped queries: <see cref="SkippedNotInQueries"/> + <see cref="SkippedUnjudged"/>.</summary>
    public int Skipped => SkippedNotInQueries + SkippedUnjudged;

    /// <summary>Qrels queries absent from the queries file.</summary>
    public int SkippedNotInQueries { get; init; }

    /// <summary>Queries-file queries with no judgments.</summary>
    public int SkippedUnjudged { get; init; }

    /// <summary>Judged queries for which the run had no entry or no hits (they score 0 and count in the means).</summary>
    public int WithoutResults { get; init; }

    /// <summary>Judged queries whose judgments are all non-relevant (they score 0 and count in the means, as in trec_eval).</summary>
    public int WithoutRelevant { get; init; }

    /// <summary>Per-query metrics, in queries-file order.</summary>
    public IReadOnlyList<QueryMetrics> PerQuery { get; init; } = [];

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report written by <see cref="ToJson"/>; invalid JSON throws <see cref="InvalidInputException"/>.</summary>
    public static EvalReport FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<EvalReport>(json, Json) ?? throw new InvalidInputException("evaluation report JSON is null");
        }
        catch (JsonException ex)
        {
            throw new InvalidInputException("invalid evaluation report JSON: " + ex.Message.ReplaceLineEndings(" "), ex);
        }
    }

    /// <summary>One line: "nDCG@10 0.6789  Recall@100 0.9250  MRR@10 0.6400  (300 judged, 0 skipped)".</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"nDCG@{NdcgAt} {Ndcg:F4}  Recall@{RecallAt} {Recall:F4}  MRR@{MrrAt} {Mrr:F4}  ({Judged} judged, {Skipped} skipped)");

    public override string ToString() => Summary();
}
