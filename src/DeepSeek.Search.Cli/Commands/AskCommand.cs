using System.CommandLine;
using DeepSeek.Search.Client;
using DeepSeek.Search.Core;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss ask`: a question answered from a collection (RAG) — locally (Rag's <see cref="RagAnswerer"/> on the index folder) or
/// through a running dss serve (`--server`, the Ask RPC) — the answer streamed to the terminal, then its citations.
/// </summary>
static class AskCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var question = new Option<string>("--question", "-q") { Description = "The question", Required = true };
        var server = QueryCommand.Server(required: false);
        server.Description = "Ask through a running dss serve at this address instead of the local index folder";
        var key = QueryCommand.Key();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (no streaming)" };
        var root = CommonOptions.IndexRoot();
        var principal = CommonOptions.Principal();
        var groups = CommonOptions.Groups();
        var filter = CommonOptions.Filter();
        var experimentKey = QueryCommand.ExperimentKey();
        experimentKey.Description += " (with --server only)";
        var rag = new RagArguments();
        rag.SourceTokens.Description += " (local only: the server uses its default)";
        rag.Instructions.Description += " (local only)";

        var cmd = new Command("ask", "Answer a question from a collection's documents, citing them (RAG), locally or through dss serve.")
        { collection, question, server, key, json, root, principal, groups, filter, experimentKey };
        rag.AddTo(cmd);
        cmd.SetAction(async (pr, cancel) =>
        {
            var q = pr.GetValue(question)!;
            if (string.IsNullOrWhiteSpace(q)) throw new InvalidInputException("empty question") { Setting = "question" };
            var options = rag.Options(pr);
            bool asJson = pr.GetValue(json);
            if (pr.GetValue(server) is { } address)
                return await Remote(pr, address, pr.GetValue(key), pr.GetValue(collection)!, q, options, rag.Rerank, filter, pr.GetValue(experimentKey), asJson, cancel);
            if (pr.GetValue(experimentKey) is not null)
                throw new InvalidInputException("--experiment-key needs --server: experiments are the server's (Service:Experiments)") { Setting = "experiment-key" };

            var (caller, filterExpr) = CommonOptions.ParseAccess(pr, principal, groups, filter);
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var searcher = CollectionSearcher.Open(store, device: pr.GetValue(rag.Device)!);
            using var local = rag.Load(pr, store);
            RagAnswer? final = null;
            await foreach (var e in local.Answerer.AskAsync(searcher, q, options, caller, filterExpr, cancel))
            {
                if (e is RagDelta d && !asJson) Console.Write(d.Text);
                if (e is RagAnswer a) final = a;
            }
            var r = final!;
            Print(asJson, store.Name, q, r.Answer, r.NoSources, r.FinishReason, r.Seq, r.DroppedCitations,
                r.Citations.Select(c => (c.Number, c.DocumentId, c.ChunkId, c.Start, c.End, c.Title)).ToList(),
                r.Sources.Select(s => (s.Number, s.DocumentId, s.ChunkId, s.Start, s.End, s.Title)).ToList(),
                r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Timings.TotalMs);
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static async Task<int> Remote(ParseResult pr, string address, string? key, string collection, string question, RagOptions options, RerankArguments rerank,
        Option<string?> filter, string? experimentKey, bool asJson, CancellationToken cancel)
    {
        if (pr.GetValue(rerank.Model) is not null) throw new InvalidInputException("--model is the server's setting (Service:Generator:Model) with --server") { Setting = "model" };
        var request = new Proto.AskRequest
        {
            Collection = collection,
            Question = question,
            Mode = QueryCommand.Mode(options.Mode),
            RecallK = options.RecallK,
            MaxSources = options.MaxSources,
            MaxNewTokens = options.MaxNewTokens,
        };
        if (!options.Greedy) request.Temperature = (float)options.Temperature;
        if (options.Seed is int s) request.Seed = s;
        if (experimentKey is not null) request.ExperimentKey = experimentKey;
        if (pr.GetValue(filter) is { } f) request.Filter = FilterMessages.From(Core.Filtering.FilterExpression.Parse(f));
        if (pr.GetValue(rerank.Rerank)) request.Rerank = new Proto.RerankSettings { Depth = pr.GetValue(rerank.Depth), Weight = pr.GetValue(rerank.Weight) };
        using var client = QueryCommand.Connect(address, key);
        Proto.AskResult? result = null;
        await foreach (var m in client.AskAsync(request, cancel: cancel))
        {
            if (m.EventCase == Proto.AskResponse.EventOneofCase.Delta && !asJson) Console.Write(m.Delta.Text);
            if (m.EventCase == Proto.AskResponse.EventOneofCase.Result) result = m.Result;
        }
        if (result is null) throw new InvalidOperationException("the server ended the Ask stream without a result");
        if (experimentKey is not null && !asJson) { Console.WriteLine(); Console.Write(QueryCommand.ExperimentLine(result.Experiment, result.Arm)); }
        static (int, string, long?, int, int, string) Of(Proto.SourceRef x) => (x.Number, x.DocumentId, x.HasChunkId ? x.ChunkId : null, x.Span.Start, x.Span.End, x.Title);
        Print(asJson, collection, question, result.Answer, result.NoSources, result.FinishReason, result.Seq, result.DroppedCitations,
            result.Citations.Select(Of).ToList(), result.Sources.Select(Of).ToList(), result.Usage.PromptTokens, result.Usage.CompletionTokens, result.Timings.TotalMs);
        return CliRunner.ExitOk;
    }

    static void Print(bool asJson, string collection, string question, string answer, bool noSources, string finish, long seq, int dropped,
        IReadOnlyList<(int Number, string Id, long? Chunk, int Start, int End, string Title)> citations,
        IReadOnlyList<(int Number, string Id, long? Chunk, int Start, int End, string Title)> sources, int promptTokens, int completionTokens, double totalMs)
    {
        static object Ref((int Number, string Id, long? Chunk, int Start, int End, string Title) x) =>
            new { number = x.Number, document_id = x.Id, chunk_id = x.Chunk, start = x.Start, end = x.End, title = x.Title };
        if (asJson)
        {
            Console.WriteLine(Json.Serialize(new
            {
                collection, question, answer, no_sources = noSources, finish_reason = finish, seq, dropped_citations = dropped,
                citations = citations.Select(Ref), sources = sources.Select(Ref),
                usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens }, total_ms = totalMs,
            }));
            return;
        }
        Console.WriteLine();
        Console.WriteLine();
        if (noSources) { Console.WriteLine("(no sources: no document you may read matched the question)"); return; }
        Console.WriteLine(citations.Count == 0 ? "cited: none of the sources" : "cited:");
        foreach (var c in citations) Console.WriteLine($"  [{c.Number}] {c.Id}  {c.Title}  (chars {c.Start}–{c.End})");
        Console.WriteLine($"sources given: {string.Join(", ", sources.Select(s => $"[{s.Number}] {s.Id}"))}; {promptTokens} prompt + {completionTokens} answer tokens, {totalMs:F0} ms, finish {finish}{(dropped > 0 ? $", {dropped} citation(s) of no source removed" : "")}");
    }
}
