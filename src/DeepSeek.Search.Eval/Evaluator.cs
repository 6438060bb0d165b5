using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval;

/// <summary>Scores a <see cref="Run"/> against <see cref="Qrels"/> for a set of queries (see <see cref="EvalReport"/> for what is counted).</summary>
public static class Evaluator
{
    public static EvalReport Evaluate(IEnumerable<EvalQuery> queries, Qrels qrels, Run run, EvalOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(qrels);
        ArgumentNullException.ThrowIfNull(run);
        options ??= EvalOptions.Default;
        if (options.NdcgAt < 1 || options.RecallAt < 1 || options.MrrAt < 1)
            throw new InvalidInputException("metric cutoffs must be >= 1");

        var perQuery = new List<QueryMetrics>();
        var inQueries = new HashSet<string>(StringComparer.Ordinal);
        int unjudged = 0, withoutResults = 0, withoutRelevant = 0;
        foreach (var q in queries)
        {
            if (!inQueries.Add(q.Id)) continue;
            if (!qrels.Contains(q.Id)) { unjudged++; continue; }
            var judgments = qrels.For(q.Id);
            run.TryGet(q.Id, out var hits);
            var ranked = Metrics.TrecOrder(hits).Select(h => h.DocumentId).ToList();
            int relevant = judgments.Values.Count(g => g >= Qrels.RelevanceLevel);
            if (ranked.Count == 0) withoutResults++;
            if (relevant == 0) withoutRelevant++;
            perQuery.Add(new QueryMetrics(q.Id,
                Metrics.Ndcg(ranked, judgments, options.NdcgAt),
                Metrics.Recall(ranked, judgments, options.RecallAt),
                Metrics.ReciprocalRank(ranked, judgments, options.MrrAt),
                relevant, ranked.Count));
        }
        int notInQueries = qrels.QueryIds.Count(id => !inQueries.Contains(id));

        return new EvalReport
        {
            NdcgAt = options.NdcgAt,
            RecallAt = options.RecallAt,
            MrrAt = options.MrrAt,
            Ndcg = Mean(perQuery, m => m.Ndcg),
            Recall = Mean(perQuery, m => m.Recall),
            Mrr = Mean(perQuery, m => m.Mrr),
            Judged = perQuery.Count,
            SkippedNotInQueries = notInQueries,
            SkippedUnjudged = unjudged,
            WithoutResults = withoutResults,
            WithoutRelevant = withoutRelevant,
            PerQuery = perQuery,
        };
    }

    static double Mean(List<QueryMetrics> list, Func<QueryMetrics, double> f) => list.Count == 0 ? 0 : list.Average(f);
}
