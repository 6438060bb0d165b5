using DeepSeek.Search.Core.Fusion;
using System.CommandLine;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
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

        var cmd = new Command("eval", "Evaluate a collection on judged queries: nDCG@10, Recall@100, MRR@10.")
        { collection, queries, qrels, mode, fusion, alpha, depth, json, run, root, encoder, device, faissParams, principal, groups, filter };
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
            using var searcher = CollectionSearcher.Open(CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!),
                pr.GetValue(encoder), pr.GetValue(device)!, pr.GetValue(faissParams));
            var effective = options.Mode ?? (searcher.HasDense ? SearchMode.Hybrid : SearchMode.Bm25);

            var judged = queryList.Where(q => judgments.Contains(q.Id)).ToList();
            if (judged.Count == 0)
                throw new InvalidInputException($"none of the {queryList.Count} queries in {pr.GetValue(queries)} has a judgment in {pr.GetValue(qrels)}");
            var sw = Stopwatch.StartNew();
            var lists = searcher.RankMany(judged.Select(q => q.Text).ToList(), options);
            var ranking = new Run();
            for (int i = 0; i < judged.Count; i++) ranking.Set(judged[i].Id, lists[i]);
            var report = Evaluator.Evaluate(queryList, judgments, ranking);
            double seconds = sw.Elapsed.TotalSeconds;

            var (fusionUsed, alphaUsed) = searcher.EffectiveFusion(options);
            string modeName = effective.ToString().ToLowerInvariant() + (effective == SearchMode.Hybrid ? $" ({CommonOptions.FusionName(fusionUsed)}{(fusionUsed == FusionMethod.MinMax ? $", alpha {alphaUsed}" : "")})" : "");
            Console.WriteLine($"collection {searcher.Manifest.Collection}, mode {modeName}, depth {d}");
            Console.WriteLine($"nDCG@10    {report.Ndcg:F4}");
            Console.WriteLine($"Recall@100 {report.Recall:F4}");
            Console.WriteLine($"MRR@10     {report.Mrr:F4}");
            Console.WriteLine($"queries    {report.Judged} judged, {report.Skipped} skipped (no judgments: {report.SkippedUnjudged}, judged but not in queries file: {report.SkippedNotInQueries})");
            Console.WriteLine($"time       {seconds:F1} s ({report.Judged / Math.Max(seconds, 1e-9):F0} queries/s)");
            if (pr.GetValue(json) is { } jsonPath) { AtomicFile.WriteAllText(jsonPath, report.ToJson()); Console.WriteLine($"report     {jsonPath}"); }
            if (pr.GetValue(run) is { } runPath) { ranking.WriteTrec(runPath, "dss-" + effective.ToString().ToLowerInvariant()); Console.WriteLine($"run        {runPath}"); }
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
