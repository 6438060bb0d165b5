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
        var queryPrecision = CommonOptions.QueryPrecision();
        var principal = CommonOptions.Principal();
        var groups = CommonOptions.Groups();
        var filter = CommonOptions.Filter();
        var rerank = new RerankArguments();
        var sweep = new Option<string?>("--rerank-sweep")
        { Description = "With --rerank: also report these re-ranker weights, comma-separated (e.g. 0.3,0.5,0.7,1), from the same re-ranker scores" };

        var server = QueryCommand.Server(required: false);
        server.Description = "Evaluate through a running dss serve (or a query front over shards, dss serve --shards) instead of the local index folder: "
            + "each query one Search call with k = --depth; the key (--key or DSS_API_KEY) decides what may be read";
        var key = QueryCommand.Key();
        var cmd = new Command("eval", "Evaluate a collection on judged queries: nDCG@10, Recall@100, MRR@10 (with --rerank: first stage and re-ranked side by side).")
        { collection, queries, qrels, mode, fusion, alpha, depth, json, run, root, encoder, device, faissParams, queryPrecision, principal, groups, filter, server, key };
        rerank.AddTo(cmd);
        cmd.Options.Add(sweep);
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
            if (pr.GetValue(server) is { } url)
            {
                if (pr.GetValue(rerank.Rerank)) throw new InvalidInputException("--rerank with --server: re-rank on the server's side, or evaluate the local folder") { Setting = "rerank" };
                if (pr.GetValue(principal) is not null || pr.GetValue(groups) is { Length: > 0 })
                    throw new InvalidInputException("--principal / --groups with --server: the API key decides who is searching") { Setting = "principal" };
                options.Validate();
                return Remote(url, pr.GetValue(key), pr.GetValue(collection)!, queryList, judgments, d, pr.GetValue(mode), pr.GetValue(fusion), pr.GetValue(alpha),
                    pr.GetValue(filter), pr.GetValue(json), pr.GetValue(run), pr.GetValue(queries)!, pr.GetValue(qrels)!);
            }
            var (caller, filterExpr) = CommonOptions.ParseAccess(pr, principal, groups, filter);
            options = options with { Caller = caller, Filter = filterExpr };
            options.Validate();
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var searcher = CollectionSearcher.Open(store, pr.GetValue(encoder), pr.GetValue(device)!, pr.GetValue(faissParams),
                CommonOptions.ParseEncoderPrecision(pr.GetValue(queryPrecision)));
            var effective = options.Mode ?? (searcher.HasDense ? SearchMode.Hybrid : SearchMode.Bm25);

            var judged = queryList.Where(q => judgments.Contains(q.Id)).ToList();
            if (judged.Count == 0)
                throw new InvalidInputException($"none of the {queryList.Count} queries in {pr.GetValue(queries)} has a judgment in {pr.GetValue(qrels)}");
            var sw = Stopwatch.StartNew();
            EvalReport? firstStage = null;
            Run ranking;
            string rerankNote = "";
            var sweepLines = new List<string>();
            if (pr.GetValue(sweep) is { } sweepText && !pr.GetValue(rerank.Rerank)) throw new InvalidInputException("--rerank-sweep needs --rerank") { Setting = "rerank-sweep" };
            if (pr.GetValue(rerank.Rerank))
            {
                var weights = ParseWeights(pr.GetValue(sweep));
                string folder = rerank.RerankerFolder(pr, store);
                using var generator = rerank.Load(pr, folder, pr.GetValue(device)!);
                var built = rerank.Reranker(pr, generator, folder);
                var memo = new MemoScorer(built.Scorer);
                var reranker = new Reranker(memo, built.Options);
                var (first, second, responses) = ConsoleProgress.Run(progress => RerankRuns(searcher, reranker, judged, options, progress));
                firstStage = Evaluator.Evaluate(queryList, judgments, first);
                ranking = second;
                rerankNote = $", re-ranked by {(built.Scorer.Method == "pointwise" ? "the pointwise re-ranker" : "query likelihood")} (depth {reranker.Options.Depth}, weight {reranker.Options.Weight}, model {folder})";
                foreach (var w in weights)
                {
                    var other = new Reranker(memo, reranker.Options with { Weight = w });
                    var run2 = new Run();
                    for (int i = 0; i < judged.Count; i++)
                        run2.Set(judged[i].Id, SearchReranking.Apply(other, judged[i].Text, responses[i], options.K).Hits.Select(h => new Hit(h.DocumentId, h.Score)).ToList());
                    var r2 = Evaluator.Evaluate(queryList, judgments, run2);
                    sweepLines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"weight {w,4:0.##}  nDCG@10 {r2.Ndcg:F4}  Recall@100 {r2.Recall:F4}  MRR@10 {r2.Mrr:F4}"));
                }
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
            foreach (var line in sweepLines) Console.WriteLine(line);
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

    /// <summary>
    /// `dss eval --server`: the judged queries as Search calls (k = depth, a few in flight), scored like a local evaluation.
    /// The mode line names what the server reports for the collection (its default fusion when none is asked for).
    /// </summary>
    static int Remote(string url, string? key, string collection, IReadOnlyList<EvalQuery> queryList, Qrels judgments, int depth, string? mode, string? fusion,
        float? alpha, string? filter, string? jsonPath, string? runPath, string queriesPath, string qrelsPath)
    {
        var judged = queryList.Where(q => judgments.Contains(q.Id)).ToList();
        if (judged.Count == 0) throw new InvalidInputException($"none of the {queryList.Count} queries in {queriesPath} has a judgment in {qrelsPath}");
        using var client = QueryCommand.Connect(url, key);
        var info = client.GetCollectionAsync(collection).GetAwaiter().GetResult();
        var template = QueryCommand.Request(collection, "-", depth, mode, fusion, alpha, filter);
        template.SnippetChars = 0;
        var effective = template.Mode != Service.V1.SearchMode.Unspecified ? template.Mode : info.HasDense ? Service.V1.SearchMode.Hybrid : Service.V1.SearchMode.Bm25;
        var usedFusion = template.Fusion != Service.V1.FusionMethod.Unspecified ? template.Fusion : info.Fusion;
        float usedAlpha = template.HasAlpha ? template.Alpha : info.Alpha;
        var sw = Stopwatch.StartNew();
        var lists = new IReadOnlyList<Hit>[judged.Count];
        ConsoleProgress.Run(progress =>
        {
            int done = 0;
            Parallel.ForEach(Enumerable.Range(0, judged.Count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                var request = template.Clone();
                request.Query = judged[i].Text;
                var response = client.SearchAsync(request).GetAwaiter().GetResult();
                lists[i] = response.Hits.Select(h => new Hit(h.Id, h.Score)).ToList();
                progress.Report(new ProgressCount("search", Interlocked.Increment(ref done), judged.Count));
            });
            return 0;
        });
        var ranking = new Run();
        for (int i = 0; i < judged.Count; i++) ranking.Set(judged[i].Id, lists[i]);
        var report = Evaluator.Evaluate(queryList, judgments, ranking);
        double seconds = sw.Elapsed.TotalSeconds;
        string name = effective.ToString().ToLowerInvariant();
        string modeName = name + (effective == Service.V1.SearchMode.Hybrid
            ? $" ({usedFusion.ToString().ToLowerInvariant()}{(usedFusion == Service.V1.FusionMethod.Minmax ? $", alpha {usedAlpha}" : "")})" : "");
        Console.WriteLine($"collection {collection} on {client.Address}, mode {modeName}, depth {depth}");
        Console.WriteLine($"nDCG@10    {report.Ndcg:F4}");
        Console.WriteLine($"Recall@100 {report.Recall:F4}");
        Console.WriteLine($"MRR@10     {report.Mrr:F4}");
        Console.WriteLine($"queries    {report.Judged} judged, {report.Skipped} skipped (no judgments: {report.SkippedUnjudged}, judged but not in queries file: {report.SkippedNotInQueries})");
        Console.WriteLine($"time       {seconds:F1} s ({report.Judged / Math.Max(seconds, 1e-9):F0} queries/s)");
        if (jsonPath is not null)
        {
            AtomicFile.WriteAllText(jsonPath, report.ToJson());
            Console.WriteLine($"report     {jsonPath}");
        }
        if (runPath is not null) { ranking.WriteTrec(runPath, "dss-" + name); Console.WriteLine($"run        {runPath}"); }
        return CliRunner.ExitOk;
    }

    /// <summary>First-stage and re-ranked runs of the judged queries (the first stage retrieved once, both runs from it).</summary>
    static (Run First, Run Reranked, List<SearchResponse> Responses) RerankRuns(CollectionSearcher searcher, Reranker reranker, IReadOnlyList<EvalQuery> judged,
        SearchOptions options, IProgress<ProgressEvent> progress)
    {
        var first = new Run();
        var second = new Run();
        var responses = new List<SearchResponse>(judged.Count);
        var search = options with { K = Math.Max(options.K, reranker.Options.Depth), SnippetChars = 0 };
        const int Batch = 64; // the first stage of a batch of queries at once (one encoder call), then each query re-ranked
        for (int start = 0; start < judged.Count; start += Batch)
        {
            var batch = judged.Skip(start).Take(Batch).ToList();
            var firstStage = searcher.ExecuteMany(batch.ConvertAll(q => q.Text), search, Batch);
            for (int j = 0; j < batch.Count; j++)
            {
                progress.Report(new ProgressCount("rerank", start + j, judged.Count));
                var response = firstStage[j];
                responses.Add(response);
                first.Set(batch[j].Id, response.Hits.Take(options.K).Select(h => new Hit(h.DocumentId, h.Score)).ToList());
                var reranked = SearchReranking.Apply(reranker, batch[j].Text, response, options.K);
                second.Set(batch[j].Id, reranked.Hits.Select(h => new Hit(h.DocumentId, h.Score)).ToList());
            }
        }
        progress.Report(new ProgressCount("rerank", judged.Count, judged.Count));
        return (first, second, responses);
    }

    static List<float> ParseWeights(string? text)
    {
        var weights = new List<float>();
        if (string.IsNullOrWhiteSpace(text)) return weights;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!float.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float w) || !(w >= 0 && w <= 1))
                throw new InvalidInputException($"--rerank-sweep: '{part}' is not a weight in [0, 1]") { Setting = "rerank-sweep" };
            weights.Add(w);
        }
        return weights;
    }

    /// <summary>A scorer that remembers each (query, passage) score, so a sweep of weights scores every passage once.</summary>
    sealed class MemoScorer(IPassageScorer inner) : IPassageScorer
    {
        readonly Dictionary<(string, string), float> _scores = new();
        public string Method => inner.Method;

        public float[] Score(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken = default)
        {
            var missing = passages.Where(p => !_scores.ContainsKey((query, p))).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                var fresh = inner.Score(query, missing, cancellationToken);
                for (int i = 0; i < missing.Count; i++) _scores[(query, missing[i])] = fresh[i];
            }
            return passages.Select(p => _scores[(query, p)]).ToArray();
        }
    }
}
