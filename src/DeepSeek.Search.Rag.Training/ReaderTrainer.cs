using System.Text;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.Rag.Evaluation;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Rag.Training;

/// <summary>How many of a <c>dss train-reader</c> run's questions became which kind of example.</summary>
public sealed record ReaderPairs(int Questions, int Gold, int Other, int NotInSources, int NoSources, int TooLong)
{
    public int Pairs => Gold + Other + NotInSources;
}

/// <summary>What a <c>dss train-reader</c> run built and trained.</summary>
public sealed record ReaderTrainResult(string OutputPath, string PairsFile, ReaderPairs Pairs, int SeqLen, LmTrainResult? Training);

/// <summary>
/// <c>dss train-reader</c>: a RAG reader fine-tuned from a DeepSeek generator on questions with gold answers.
/// <list type="number">
/// <item>each question of the slice is prepared exactly as <c>dss ask</c> prepares it (<see cref="RagAnswerer.PrepareAsync"/>: the
/// collection's recall, the sources packed into the budget the model's trained context leaves, the chat prompt as token ids);</item>
/// <item>its taught answer is <see cref="ReaderExamples.Target"/>'s: the gold answer cited as <c>[n]</c> of the source that holds it,
/// or the not-in-sources sentence (a question with no recalled source, or whose answer would not fit in <c>max_new_tokens</c>, is
/// left out and counted);</item>
/// <item>the pairs (prompt ids + answer, loss on the answer and EOS only) are written, seeded-shuffled, to <c>OUT.pairs.jsonl</c>, and
/// the LM trainer fine-tunes the model on them (<see cref="LmTrainer"/>: fully, or with LoRA adapters) at the model's trained context
/// (or the longest pair, when the prompt's fixed parts outgrow it);</item>
/// <item>the pairs file moves into OUT as <see cref="PairsFile"/> and <see cref="MarkerFile"/> (what it was trained on) is written last.</item>
/// </list>
/// </summary>
public static class ReaderTrainer
{
    public const string PairsFile = "reader_pairs.jsonl", MarkerFile = "reader.json";

    public static ReaderTrainResult Train(ReaderTrainOptions options, CollectionSearcher searcher, IProgress<ProgressEvent>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(searcher);
        options.Validate();
        if (!File.Exists(Path.Combine(options.ModelPath, DeepSeekConfig.FileName)))
            throw new InvalidInputException($"--model {options.ModelPath} has no {DeepSeekConfig.FileName}: the reader is fine-tuned from a full DeepSeek model folder") { Setting = "model" };
        string output = Path.GetFullPath(options.OutputPath);
        RunFolders.CheckOutput(output, options.Training.Resume, options.Training.Overwrite); // before the questions are answered, not after
        var all = RagQuestions.Read(options.QuestionsPath, options.QrelsPath);
        var slice = RagQuestions.Slice(all, options.Skip, options.Limit, options.QuestionsPath);

        string pairsPath = output + ".pairs.jsonl";
        int seqLen;
        ReaderPairs counts;
        using (var generator = DeepSeekGenerator.Load(options.ModelPath))
        {
            var answerer = new RagAnswerer(generator) { TrainedContext = QueryLikelihoodScorer.TrainedContext(options.ModelPath) };
            (counts, int longest) = WritePairs(pairsPath, answerer, generator, searcher, slice, options, progress, cancellationToken);
            // the model's context, or the longest pair when a prompt's fixed parts outgrow it (never past max_position_embeddings)
            seqLen = Math.Min(generator.Model.Config.MaxPositionEmbeddings, Math.Max(answerer.Positions, longest));
        }
        if (counts.Pairs == 0)
        {
            File.Delete(pairsPath);
            throw new InvalidInputException($"none of the {slice.Count} questions gave a training pair ({counts.NoSources} without a recalled source, {counts.TooLong} with an answer longer than max_new_tokens {options.Rag.MaxNewTokens})") { Setting = "questions" };
        }
        progress?.Report(new ProgressNote(
            $"{counts.Pairs:N0} pairs from {counts.Questions:N0} questions: {counts.Gold:N0} cite the gold passage, {counts.Other:N0} another source holding the answer, " +
            $"{counts.NotInSources:N0} teach the not-in-sources answer; left out: {counts.NoSources:N0} with no source, {counts.TooLong:N0} too long"));

        if (options.PairsOnly) return new ReaderTrainResult(output, pairsPath, counts, seqLen, null);

        var result = LmTrainer.TrainPairs(options.Training, options.ModelPath, pairsPath, seqLen, output, progress, cancellationToken);

        string kept = Path.Combine(result.OutputPath, PairsFile);
        File.Move(pairsPath, kept, overwrite: true);
        var rag = options.Rag;
        AtomicFile.WriteAllText(Path.Combine(result.OutputPath, MarkerFile), new JsonObject
        {
            ["base_model"] = Path.GetFullPath(options.ModelPath),
            ["lora"] = options.Training.Lora != null,
            ["questions"] = Path.GetFullPath(options.QuestionsPath),
            ["qrels"] = Path.GetFullPath(options.QrelsPath ?? RagQuestions.DefaultQrels(options.QuestionsPath)),
            ["skip"] = options.Skip,
            ["limit"] = options.Limit,
            ["first_stage"] = rag.Mode?.ToString().ToLowerInvariant() ?? (searcher.HasDense ? "hybrid" : "bm25"),
            ["recall_k"] = rag.RecallK,
            ["max_sources"] = rag.MaxSources,
            ["source_tokens"] = rag.SourceTokens,
            ["max_new_tokens"] = rag.MaxNewTokens,
            ["instructions"] = rag.Instructions == null ? "default" : "custom",
            ["questions_used"] = counts.Questions,
            ["pairs"] = counts.Pairs,
            ["cite_gold"] = counts.Gold,
            ["cite_other"] = counts.Other,
            ["not_in_sources"] = counts.NotInSources,
            ["no_sources"] = counts.NoSources,
            ["too_long"] = counts.TooLong,
            ["seq_len"] = seqLen,
            ["steps"] = result.Steps,
            ["final_validation_loss"] = result.FinalValidationLoss,
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        return new ReaderTrainResult(result.OutputPath, kept, counts, seqLen, result);
    }

    /// <summary>Each question's prepared prompt and taught answer as a supervised pair, in a seeded shuffle, written atomically.</summary>
    static (ReaderPairs Counts, int Longest) WritePairs(string path, RagAnswerer answerer, DeepSeekGenerator generator, CollectionSearcher searcher, IReadOnlyList<RagQuestion> slice,
        ReaderTrainOptions options, IProgress<ProgressEvent>? progress, CancellationToken cancellationToken)
    {
        var tokenizer = RagPrompt.TokenizerOf(generator);
        var lines = new List<string>(slice.Count);
        int gold = 0, other = 0, none = 0, noSources = 0, tooLong = 0, longest = 0;
        progress?.Report(new ProgressCount("prompts", 0, slice.Count));
        foreach (var q in slice)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // the console has no synchronisation context: waiting here blocks this thread only
            var context = answerer.PrepareAsync(searcher, q.Text, options.Rag, cancellationToken: cancellationToken).GetAwaiter().GetResult();
            progress?.Report(new ProgressCount("prompts", lines.Count + noSources + tooLong + 1, slice.Count));
            if (context.Sources.Count == 0) { noSources++; continue; }
            var target = ReaderExamples.Target(q, context.Sources);
            // the answer and its EOS must fit in what the reader will be allowed to generate
            int answerTokens = tokenizer.Encode(target.Response, addSpecialTokens: false, splitSpecialTokens: true).Length + 1;
            if (answerTokens > options.Rag.MaxNewTokens) { tooLong++; continue; }
            longest = Math.Max(longest, context.Prompt.Length + answerTokens);
            switch (target.Kind)
            {
                case ReaderTargetKind.Gold: gold++; break;
                case ReaderTargetKind.Other: other++; break;
                default: none++; break;
            }
            lines.Add(new JsonObject
            {
                ["prompt_ids"] = new JsonArray(context.Prompt.Select(x => (JsonNode)x).ToArray()),
                ["response"] = target.Response,
                ["question_id"] = q.Id,
                ["kind"] = target.Kind switch { ReaderTargetKind.Gold => "gold", ReaderTargetKind.Other => "other", _ => "not_in_sources" },
                ["sources"] = new JsonArray(context.Sources.Select(s => (JsonNode)s.DocumentId).ToArray()),
            }.ToJsonString());
        }
        var order = Enumerable.Range(0, lines.Count).ToArray();
        new Random(unchecked((int)options.Training.Seed)).Shuffle(order);
        var text = new StringBuilder();
        foreach (int i in order) text.Append(lines[i]).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
        return (new ReaderPairs(slice.Count, gold, other, none, noSources, tooLong), longest);
    }
}
