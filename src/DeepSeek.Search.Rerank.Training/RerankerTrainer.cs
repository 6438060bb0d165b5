using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Rerank.Training;

/// <summary>What a <c>dss train-reranker</c> run mined and trained.</summary>
public sealed record RerankerTrainResult(string OutputPath, string PairsFile, MinedPairs Mined, int SeqLen, LmTrainResult Training);

/// <summary>
/// <c>dss train-reranker</c>: a pointwise re-ranker fine-tuned from a DeepSeek generator on judged pairs.
/// <list type="number">
/// <item>the judged queries' pairs are mined from the collection's own first stage (<see cref="NegativeMining"/>);</item>
/// <item>each pair becomes a supervised example: the prompt of <see cref="PointwisePrompt"/> (the one the scorer reads, cut to the
/// sequence length less the answer) as token ids, the answer <c>yes</c> or <c>no</c> (loss on the answer and EOS only), written as
/// JSONL in <c>OUT.pairs.jsonl</c>, shuffled (seeded) so the held-out slice spans queries;</item>
/// <item>the LM trainer fine-tunes the model on them (<see cref="LmTrainer"/>: fully, or with LoRA adapters), in <c>OUT.partial</c>,
/// renamed to OUT when it succeeds;</item>
/// <item>the pairs file moves into OUT as <see cref="PairsFile"/> and <see cref="RerankerModel.MarkerFile"/> is written last: a folder
/// is a pointwise re-ranker only once it holds a finished model and the marker.</item>
/// </list>
/// </summary>
public static class RerankerTrainer
{
    public const string PairsFile = "reranker_pairs.jsonl";

    public static RerankerTrainResult Train(RerankerTrainOptions options, CollectionSearcher searcher, IProgress<ProgressEvent>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(searcher);
        options.Validate();
        if (!File.Exists(Path.Combine(options.ModelPath, DeepSeekConfig.FileName)))
            throw new InvalidInputException($"--model {options.ModelPath} has no {DeepSeekConfig.FileName}: the re-ranker is fine-tuned from a full DeepSeek model folder") { Setting = "model" };
        string output = Path.GetFullPath(options.OutputPath);
        RunFolders.CheckOutput(output, options.Training.Resume, options.Training.Overwrite); // before the mining, not after it
        var tokenizer = ByteLevelBpeTokenizer.Load(options.ModelPath);
        var version = DeepSeekConfig.Load(Path.Combine(options.ModelPath, DeepSeekConfig.FileName)).Version;
        var (yes, no) = (Answer(tokenizer, PointwisePrompt.Yes), Answer(tokenizer, PointwisePrompt.No));
        PointwisePrompt.AnswerTokens(tokenizer); // the tokenizer must tell yes from no by their first token
        int seqLen = options.SeqLen ?? QueryLikelihoodScorer.TrainedContext(options.ModelPath) ?? RerankerTrainOptions.DefaultSeqLen;
        int promptCap = seqLen - Math.Max(yes, no) - 1;

        var queries = QueriesReader.Read(options.QueriesPath);
        var qrels = QrelsReader.Read(options.QrelsPath);
        var mined = NegativeMining.Mine(searcher, queries, qrels, options.Negatives, options.Depth, options.Mode, options.Training.Seed, progress, cancellationToken);
        progress?.Report(new ProgressNote(
            $"mined {mined.Pairs.Count:N0} pairs for {mined.Queries:N0} judged queries: {mined.Positives:N0} positive ({mined.PositivesRetrieved:N0} in the first stage's top {options.Depth}), " +
            $"{mined.Negatives:N0} negative" + (mined.UnknownDocuments.Count > 0 ? $"; {mined.UnknownDocuments.Count} judged id(s) not in the collection, e.g. '{mined.UnknownDocuments[0]}'" : "")));

        string pairsPath = output + ".pairs.jsonl";
        WritePairs(pairsPath, mined.Pairs, tokenizer, version, promptCap, options.Training.Seed, cancellationToken);

        var result = LmTrainer.TrainPairs(options.Training, options.ModelPath, pairsPath, seqLen, output, progress, cancellationToken);

        string kept = Path.Combine(result.OutputPath, PairsFile);
        File.Move(pairsPath, kept, overwrite: true);
        RerankerModel.MarkPointwise(result.OutputPath, new JsonObject
        {
            ["base_model"] = Path.GetFullPath(options.ModelPath),
            ["lora"] = options.Training.Lora != null,
            ["queries"] = Path.GetFullPath(options.QueriesPath),
            ["qrels"] = Path.GetFullPath(options.QrelsPath),
            ["first_stage"] = options.Mode?.ToString().ToLowerInvariant() ?? (searcher.HasDense ? "hybrid" : "bm25"),
            ["depth"] = options.Depth,
            ["negatives_per_query"] = options.Negatives,
            ["judged_queries"] = mined.Queries,
            ["pairs"] = mined.Pairs.Count,
            ["positives"] = mined.Positives,
            ["positives_retrieved"] = mined.PositivesRetrieved,
            ["negatives"] = mined.Negatives,
            ["seq_len"] = seqLen,
            ["steps"] = result.Steps,
            ["final_validation_loss"] = result.FinalValidationLoss,
        });
        return new RerankerTrainResult(result.OutputPath, kept, mined, seqLen, result);
    }

    static int Answer(ByteLevelBpeTokenizer tokenizer, string answer) => tokenizer.Encode(answer, addSpecialTokens: false, splitSpecialTokens: true).Length;

    /// <summary>The pairs as supervised examples (prompt ids + answer), in a seeded shuffle, written atomically.</summary>
    static void WritePairs(string path, IReadOnlyList<JudgedPair> pairs, ByteLevelBpeTokenizer tokenizer, DeepSeekVersion version, int promptCap, long seed,
        CancellationToken cancellationToken)
    {
        var order = Enumerable.Range(0, pairs.Count).ToArray();
        new Random(unchecked((int)seed)).Shuffle(order);
        var text = new StringBuilder();
        foreach (int i in order)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var p = pairs[i];
            var ids = PointwisePrompt.Ids(tokenizer, version, p.Passage, p.Query, promptCap);
            var line = new JsonObject
            {
                ["prompt_ids"] = new JsonArray(ids.Select(x => (JsonNode)x).ToArray()),
                ["response"] = p.Relevant ? PointwisePrompt.Yes : PointwisePrompt.No,
                ["query_id"] = p.QueryId,
                ["doc_id"] = p.DocumentId,
                ["first_stage_rank"] = p.Rank,
            };
            text.Append(line.ToJsonString()).Append('\n');
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
