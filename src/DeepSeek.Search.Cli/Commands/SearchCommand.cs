using System.CommandLine;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss search`: one query against a collection, printed as a ranked list or JSON.</summary>
static class SearchCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var query = new Option<string>("--query", "-q") { Description = "The query text", Required = true };
        var mode = CommonOptions.Mode();
        var k = new Option<int>("--k", "-k") { Description = "Number of results", DefaultValueFactory = _ => 10 };
        var fusion = CommonOptions.Fusion();
        var alpha = CommonOptions.Alpha();
        var depth = CommonOptions.Depth();
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var root = CommonOptions.IndexRoot();
        var encoder = CommonOptions.EncoderOverride();
        var device = CommonOptions.Device();
        var faissParams = CommonOptions.FaissParameters();
        var queryPrecision = CommonOptions.QueryPrecision();
        var principal = CommonOptions.Principal();
        var groups = CommonOptions.Groups();
        var filter = CommonOptions.Filter();
        var rerank = new RerankArguments();

        var cmd = new Command("search", "Search a collection: BM25, dense, or hybrid (fused) results, optionally re-ranked by the generator.")
        { collection, query, mode, k, fusion, alpha, depth, json, root, encoder, device, faissParams, queryPrecision, principal, groups, filter };
        rerank.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var options = new SearchOptions
            {
                Mode = CommonOptions.ParseMode(pr.GetValue(mode)),
                K = pr.GetValue(k),
                Fusion = CommonOptions.ParseFusion(pr.GetValue(fusion)),
                Alpha = pr.GetValue(alpha),
                Depth = pr.GetValue(depth),
            };
            var (caller, filterExpr) = CommonOptions.ParseAccess(pr, principal, groups, filter);
            options = options with { Caller = caller, Filter = filterExpr, SnippetChars = pr.GetValue(json) ? 240 : 160 };
            options.Validate();
            var q = pr.GetValue(query)!;
            if (string.IsNullOrWhiteSpace(q)) throw new Core.InvalidInputException("empty query");
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var searcher = CollectionSearcher.Open(store, pr.GetValue(encoder), pr.GetValue(device)!, pr.GetValue(faissParams),
                CommonOptions.ParseEncoderPrecision(pr.GetValue(queryPrecision)));
            var effective = options.Mode ?? (searcher.HasDense ? SearchMode.Hybrid : SearchMode.Bm25);
            IReadOnlyList<SearchHit> hits;
            if (pr.GetValue(rerank.Rerank))
            {
                string folder = rerank.RerankerFolder(pr, store);
                using var generator = rerank.Load(pr, folder, pr.GetValue(device)!);
                var reranker = rerank.Reranker(pr, generator, folder);
                var first = searcher.Execute(q, options with { K = Math.Max(options.K, reranker.Options.Depth) });
                hits = SearchReranking.Apply(reranker, q, first, options.K).Hits;
            }
            else hits = searcher.Search(q, options);
            var (fusionUsed, alphaUsed) = searcher.EffectiveFusion(options);
            if (pr.GetValue(json))
            {
                Console.WriteLine(Json.Serialize(new
                {
                    collection = searcher.Manifest.Collection,
                    query = q,
                    mode = effective.ToString().ToLowerInvariant(),
                    fusion = effective == SearchMode.Hybrid ? CommonOptions.FusionName(fusionUsed) : null,
                    alpha = effective == SearchMode.Hybrid && fusionUsed == Core.Fusion.FusionMethod.MinMax ? alphaUsed : (float?)null,
                    hits = hits.Select(h => new
                    {
                        rank = h.Rank, id = h.DocumentId, score = h.Score, bm25_score = h.Bm25Score, dense_score = h.DenseScore,
                        first_stage_score = h.FirstStageScore, rerank_score = h.RerankScore, title = h.Title,
                        chunk = h.Chunk is { } c ? new { id = c.ChunkId, start = c.Start, end = c.End } : null,
                        snippet = h.Snippet?.Text,
                        highlights = h.Snippet?.Highlights.Select(x => new[] { x.Start, x.End }),
                    }),
                }));
            }
            else
            {
                Console.WriteLine($"{effective.ToString().ToLowerInvariant()}{(pr.GetValue(rerank.Rerank) ? ", re-ranked," : "")} results for \"{q}\" in '{searcher.Manifest.Collection}':");
                if (hits.Count == 0) Console.WriteLine("  (no results)");
                foreach (var h in hits)
                {
                    Console.WriteLine($"{h.Rank,3}. {h.Score,9:F4}  {h.DocumentId}  {h.Title}");
                    Console.WriteLine($"     {Snippet(h.Snippet?.Text ?? h.Text, 170)}");
                }
            }
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    internal static string Snippet(string text, int max)
    {
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return flat.Length <= max ? flat : flat[..max].TrimEnd() + "…";
    }
}
