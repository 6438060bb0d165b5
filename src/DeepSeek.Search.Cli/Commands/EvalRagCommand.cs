using System.CommandLine;
using System.Globalization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rag.Evaluation;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss eval-rag`: answers a slice of a SQuAD-style questions file from a collection, as `dss ask` would (the same options,
/// <see cref="RagArguments"/>), and scores the answers with Rag's <see cref="RagEvaluation"/>: exact match and F1, whether
/// the gold passage was among the sources, citation precision, latency per stage. A progress bar while it runs, a summary at
/// the end, and optionally the report as JSON (per-question rows included) and as a Markdown table, each written atomically.
/// </summary>
static class EvalRagCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var questions = new Option<string>("--questions")
        { Description = "BEIR queries.jsonl whose records hold their gold answers in metadata.answers (the SQuAD BEIR view)", Required = true };
        var qrels = new Option<string?>("--qrels") { Description = "BEIR qrels TSV naming each question's gold passage [default: qrels/test.tsv beside the questions file]" };
        var skip = new Option<int>("--skip") { Description = "Skip this many questions first (file order)", DefaultValueFactory = _ => 0 };
        var limit = new Option<int?>("--limit") { Description = "Evaluate at most this many questions after --skip [default: all the rest]" };
        var output = new Option<string?>("--out", "-o") { Description = "Write the report as JSON (options, counts, metrics, latency, one row per question)" };
        var markdown = new Option<string?>("--markdown") { Description = "Write the report's tables as Markdown" };
        var root = CommonOptions.IndexRoot();
        var rag = new RagArguments();

        var cmd = new Command("eval-rag",
            "Evaluate answers (RAG) on SQuAD-style questions: exact match, F1, gold passage recall@k of the sources, citation precision, latency per stage.")
        { collection, questions, qrels, skip, limit, output, markdown, root };
        rag.AddTo(cmd);
        cmd.SetAction((pr, cancel) =>
        {
            string questionsPath = pr.GetValue(questions)!;
            var all = RagQuestions.Read(questionsPath, pr.GetValue(qrels));
            var slice = RagQuestions.Slice(all, pr.GetValue(skip), pr.GetValue(limit), questionsPath);
            var options = rag.Options(pr);
            string? jsonPath = ReportPath(pr.GetValue(output), "out"), mdPath = ReportPath(pr.GetValue(markdown), "markdown");

            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            using var searcher = CollectionSearcher.Open(store, device: pr.GetValue(rag.Device)!);
            using var local = rag.Load(pr, store);
            var rows = ConsoleProgress.Run(progress => Answer(local.Answerer, searcher, slice, options, progress, cancel));

            var mode = options.Mode ?? (searcher.HasDense ? SearchMode.Hybrid : SearchMode.Bm25);
            string qrelsPath = pr.GetValue(qrels) ?? RagQuestions.DefaultQrels(questionsPath);
            var settings = Settings(pr, rag, options, local, mode, questionsPath, qrelsPath, pr.GetValue(skip), pr.GetValue(limit));
            var report = RagEvalReport.Create(store.Name, settings, all.Count, slice, rows);
            if (jsonPath is not null) AtomicFile.WriteAllText(jsonPath, report.ToJson());
            if (mdPath is not null) AtomicFile.WriteAllText(mdPath, report.ToMarkdown());

            Console.WriteLine($"collection {store.Name}, mode {mode.ToString().ToLowerInvariant()}, generator {local.Folder}" +
                (local.Reranker is { } r ? $", re-ranked (depth {r.Options.Depth}, weight {r.Options.Weight.ToString(CultureInfo.InvariantCulture)})" : ""));
            foreach (var line in report.SummaryLines()) Console.WriteLine(line);
            if (jsonPath is not null) Console.WriteLine($"report   {jsonPath}");
            if (mdPath is not null) Console.WriteLine($"markdown {mdPath}");
            return Task.FromResult(CliRunner.ExitOk);
        });
        return cmd;
    }

    /// <summary>Each question answered and scored, in order (one <c>answer</c> progress count per question).</summary>
    static List<RagQuestionScore> Answer(RagAnswerer answerer, CollectionSearcher searcher, IReadOnlyList<RagQuestion> slice, RagOptions options,
        IProgress<ProgressEvent> progress, CancellationToken cancel)
    {
        var rows = new List<RagQuestionScore>(slice.Count);
        progress.Report(new ProgressCount("answer", 0, slice.Count));
        foreach (var q in slice)
        {
            // the console has no synchronisation context: waiting here blocks this thread only
            var answer = answerer.AnswerAsync(searcher, q.Text, options, cancellationToken: cancel).GetAwaiter().GetResult();
            rows.Add(RagEvaluation.Score(q, answer));
            progress.Report(new ProgressCount("answer", rows.Count, slice.Count));
        }
        return rows;
    }

    /// <summary>The options the report records, in the CLI's words.</summary>
    static OrderedDictionary<string, object?> Settings(ParseResult pr, RagArguments rag, RagOptions options, LocalAnswerer local, SearchMode mode,
        string questionsPath, string qrelsPath, int skip, int? limit)
    {
        var s = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["questions"] = Path.GetFullPath(questionsPath),
            ["qrels"] = Path.GetFullPath(qrelsPath),
            ["skip"] = skip,
            ["limit"] = limit,
            ["mode"] = mode.ToString().ToLowerInvariant(),
            ["recall_k"] = options.RecallK,
            ["max_sources"] = options.MaxSources,
            ["source_tokens"] = options.SourceTokens,
            ["max_new_tokens"] = options.MaxNewTokens,
            ["decoding"] = options.Greedy ? "greedy" : $"temperature {options.Temperature.ToString(CultureInfo.InvariantCulture)}",
            ["seed"] = options.Seed,
            ["instructions"] = pr.GetValue(rag.Instructions) is { } file ? Path.GetFullPath(file) : "default",
            ["model"] = Path.GetFullPath(local.Folder),
            ["model_dtype"] = pr.GetValue(rag.Rerank.DType),
            ["device"] = pr.GetValue(rag.Device),
            ["rerank"] = local.Reranker is not null,
        };
        if (local.Reranker is { } r)
        {
            s["rerank_method"] = r.Scorer.Method;
            s["rerank_depth"] = r.Options.Depth;
            s["rerank_weight"] = r.Options.Weight;
        }
        return s;
    }

    /// <summary>A report path, checked before any work: not a folder; its folder is created when missing.</summary>
    static string? ReportPath(string? path, string setting)
    {
        if (path is null) return null;
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException($"--{setting} needs a file name") { Setting = setting };
        if (Directory.Exists(path)) throw new InvalidInputException($"--{setting} {path} is a folder, not a file") { Setting = setting };
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null) Directory.CreateDirectory(parent);
        return path;
    }
}
