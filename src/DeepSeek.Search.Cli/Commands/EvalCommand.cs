using DeepSeek.Search.Core.Fusion;
using System.CommandLine;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss eval`: run BEIR-format queries against a collection and score them against qrels (trec_eval conventions).</summary>
static class EvalCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var queries = new Option<string>("--queries") { Description = "BEIR queries.jsonl (_id, text)", Required = true };
        var qrels = new Option<string>("--qrels") { Description = "BEIR qrels TSV (query-id, corpus-id, score; header optional)", Required = true };
        var mode = CommonOptions.Mode();
        var fusion = CommonOptions.Fusion();
        var alpha = CommonOptions.Alpha();
        var depth = new Option<int>("--depth") { Description = "Results retrieved per query (and per side before fusion); at least 100 for Recall@100", DefaultValueFactory = _ => 100 };
        var json = new Option<string?>("--json") { Description = "Write the report (means and per-query metrics) as JSON to this file" };
        var run = new Option<string?>("--run") { Description = "Write the ranking as a TREC run file" };
        var root = CommonOptions.IndexRoot();
        var encoder = CommonOptions.EncoderOverride();
        var device = CommonOptions.Device();
        var faissParams = CommonOptions.FaissParameters();
        var principal = CommonOptions.Principal();
        var groups = CommonOptions.Groups();
        var filter = CommonOptions.Filter();
        var rerank = new RerankArguments();

        var cmd = new Command("eval", "Evaluate a collection on judged queries: nDCG@10, Recall@100, MRR@10 (with --rerank: first stage and re-ranked side by side).")
        { collection, queries, qrels, mode, fusion, alpha, depth, json, run, root, encoder, device, faissParams, principal, groups, filter };
        rerank.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var queryList = QueriesReader.Read(pr.GetValue(queries)!);
            var judgments = QrelsReader.Read(pr.GetValue(qrels)!);
            int d = pr.GetValue(depth);
            var options = new SearchOptions
            {
                Mode = CommonOptions.ParseMode(pr.GetValue(mode)),
                K = d,
                Depth = d,
                Fusion = CommonOptions.ParseFusion(pr.GetValue(fusion)),
                Alpha = pr.GetValue(alpha),
            };
            var (caller, filterExpr) = CommonOptions.ParseAccess(pr, principal, groups, filter);
            options = options with { Caller = caller, Filter = filterExpr };
            options.Validate();
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var searcher = CollectionSearcher.Open(store, pr.GetValue(encoder), pr.GetValue(device)!, pr.GetValue(faissParams));
            var effective = options.Mode ?? (searcher.HasDense ? SearchMode.Hybrid : SearchMode.Bm25);

            var judged = queryList.Where(q => judgments.Contains(q.Id)).ToList();
            if (judged.Count == 0)
                throw new InvalidInputException($"none of the {queryList.Count} queries in {pr.GetValue(queries)} has a judgment in {pr.GetValue(qrels)}");
            var sw = Stopwatch.StartNew();
            EvalReport? firstStage = null;
            Run ranking;
            string rerankNote = "";
            if (pr.GetValue(rerank.Rerank))
            {
                using var generator = rerank.Load(pr, store, pr.GetValue(device)!);
                var reranker = rerank.Reranker(pr, generator);
                var (first, second) = ConsoleProgress.Run(progress => RerankRuns(searcher, reranker, judged, options, progress));
                firstStage = Evaluator.Evaluate(queryList, judgments, first);
                ranking = second;
                rerankNote = $", re-ranked by query likelihood (depth {reranker.Options.Depth}, weight {reranker.Options.Weight}, model {rerank.Folder(pr, store)})";
            }
            else
            {
                var lists = searcher.RankMany(judged.Select(q => q.Text).ToList(), options);
                ranking = new Run();
                for (int i = 0; i < judged.Count; i++) ranking.Set(judged[i].Id, lists[i]);
            }
            var report = Evaluator.Evaluate(queryList, judgments, ranking);
            double seconds = sw.Elapsed.TotalSeconds;

            var (fusionUsed, alphaUsed) = searcher.EffectiveFusion(options);
            string modeName = effective.ToString().ToLowerInvariant() + (effective == SearchMode.Hybrid ? $" ({CommonOptions.FusionName(fusionUsed)}{(fusionUsed == FusionMethod.MinMax ? $", alpha {alphaUsed}" : "")})" : "");
            Console.WriteLine($"collection {searcher.Manifest.Collection}, mode {modeName}, depth {d}{rerankNote}");
            if (firstStage is { } f)
            {
                Console.WriteLine("           first stage  re-ranked  delta");
                Console.WriteLine($"nDCG@10    {f.Ndcg,11:F4}  {report.Ndcg,9:F4}  {report.Ndcg - f.Ndcg,+7:+0.0000;-0.0000}");
                Console.WriteLine($"Recall@100 {f.Recall,11:F4}  {report.Recall,9:F4}  {report.Recall - f.Recall,+7:+0.0000;-0.0000}");
                Console.WriteLine($"MRR@10     {f.Mrr,11:F4}  {report.Mrr,9:F4}  {report.Mrr - f.Mrr,+7:+0.0000;-0.0000}");
            }
            else
            {
                Console.WriteLine($"nDCG@10    {report.Ndcg:F4}");
                Console.WriteLine($"Recall@100 {report.Recall:F4}");
                Console.WriteLine($"MRR@10     {report.Mrr:F4}");
            }
            Console.WriteLine($"queries    {report.Judged} judged, {report.Skipped} skipped (no judgments: {report.SkippedUnjudged}, judged but not in queries file: {report.SkippedNotInQueries})");
            Console.WriteLine($"time       {seconds:F1} s ({report.Judged / Math.Max(seconds, 1e-9):F0} queries/s)");
            if (pr.GetValue(json) is { } jsonPath)
            {
                string text = firstStage is null ? report.ToJson()
                    : $"{{\n\"first_stage\": {firstStage.ToJson()},\n\"reranked\": {report.ToJson()}\n}}\n";
                AtomicFile.WriteAllText(jsonPath, text);
                Console.WriteLine($"report     {jsonPath}");
            }
            if (pr.GetValue(run) is { } runPath) { ranking.WriteTrec(runPath, "dss-" + effective.ToString().ToLowerInvariant()); Console.WriteLine($"run        {runPath}"); }
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    /// <summary>First-stage and re-ranked runs of the judged queries (the first stage retrieved once, both runs from it).</summary>
    static (Run First, Run Reranked) RerankRuns(CollectionSearcher searcher, Reranker reranker, IReadOnlyList<EvalQuery> judged, SearchOptions options,
        IProgress<ProgressEvent> progress)
    {
        var first = new Run();
        var second = new Run();
        var search = options with { K = Math.Max(options.K, reranker.Options.Depth), SnippetChars = 0 };
        for (int i = 0; i < judged.Count; i++)
        {
            progress.Report(new ProgressCount("rerank", i, judged.Count));
            var response = searcher.Execute(judged[i].Text, search);
            first.Set(judged[i].Id, response.Hits.Take(options.K).Select(h => new Hit(h.DocumentId, h.Score)).ToList());
            var reranked = SearchReranking.Apply(reranker, judged[i].Text, response, options.K);
            second.Set(judged[i].Id, reranked.Hits.Select(h => new Hit(h.DocumentId, h.Score)).ToList());
        }
        progress.Report(new ProgressCount("rerank", judged.Count, judged.Count));
        return (first, second);
    }
}
