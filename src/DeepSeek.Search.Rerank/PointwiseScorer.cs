using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Rerank;

/// <summary>
/// The prompt of the pointwise re-ranker, the one place it is built (for training pairs in <c>dss train-reranker</c> and for
/// scoring): a user turn <c>Passage: P⏎⏎Question: Q⏎⏎Does the passage answer the question? Answer yes or no.</c> in the model's
/// chat format, ending with the generation prompt; passage and question are encoded as text (<see cref="PromptSlots"/>), the
/// passage cut (at a token) so the prompt fits the model's trained context. The answer is <c>yes</c> or <c>no</c>.
/// </summary>
public static class PointwisePrompt
{
    public const string Yes = "yes", No = "no";
    public const string Instruction = "Does the passage answer the question? Answer yes or no.";
    public const int MaxQuestionTokens = 64;

    /// <summary>The prompt's token ids for (<paramref name="passage"/>, <paramref name="question"/>), at most <paramref name="maxTokens"/> long (null: no cap).</summary>
    public static int[] Ids(ByteLevelBpeTokenizer tokenizer, DeepSeekVersion version, string passage, string question, int? maxTokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var q = tokenizer.Encode(question.Trim(), addSpecialTokens: false, splitSpecialTokens: true);
        if (q.Length == 0) throw new InvalidInputException("pointwise re-ranking needs a query with at least one token");
        string questionText = q.Length > MaxQuestionTokens ? tokenizer.Decode(q[..MaxQuestionTokens]) : question.Trim();
        int[] Build(string p)
        {
            var slots = new PromptSlots();
            string user = $"Passage: {slots.Add(p)}\n\nQuestion: {slots.Add(questionText)}\n\n{Instruction}";
            return slots.Encode(tokenizer, ChatTemplate.Format(tokenizer, version, [ChatMessage.User(user)])).Ids;
        }
        var ids = Build(passage ?? "");
        if (maxTokens is not int cap || ids.Length <= cap) return ids;
        int overhead = Build("").Length;
        if (overhead >= cap) throw new InvalidInputException($"a query of {q.Length} tokens leaves no room for a passage in the re-ranker's input of {cap} tokens");
        var p = tokenizer.Encode(passage ?? "", addSpecialTokens: false, splitSpecialTokens: true);
        for (int keep = Math.Min(p.Length, cap - overhead); keep >= 0; keep -= Math.Max(1, (ids.Length - cap)))
        {
            ids = Build(tokenizer.Decode(p[..keep]));
            if (ids.Length <= cap) return ids;
        }
        return Build("");
    }

    /// <summary>The first token of "yes" and of "no": the logits the score compares.</summary>
    public static (int Yes, int No) AnswerTokens(ByteLevelBpeTokenizer tokenizer)
    {
        var yes = tokenizer.Encode(Yes, addSpecialTokens: false, splitSpecialTokens: true);
        var no = tokenizer.Encode(No, addSpecialTokens: false, splitSpecialTokens: true);
        if (yes.Length == 0 || no.Length == 0 || yes[0] == no[0])
            throw new InvalidInputException("the tokenizer does not tell \"yes\" from \"no\" by their first token: a pointwise re-ranker needs it");
        return (yes[0], no[0]);
    }
}

/// <summary>
/// Pointwise relevance (Nogueira et al. 2020, "Document Ranking with a Pretrained Sequence-to-Sequence Model", monoT5's
/// true/false, here with yes/no on a causal LM): a passage scores logit(yes) − logit(no) at the end of <see cref="PointwisePrompt"/>,
/// after fine-tuning on judged pairs (<c>dss train-reranker</c>). Batched by length, left-padded, under <c>no_grad</c>, on the
/// model's device; one call at a time per scorer.
/// </summary>
public sealed class PointwiseScorer : IPassageScorer
{
    readonly DeepSeekModel _model;
    readonly ByteLevelBpeTokenizer _tokenizer;
    readonly int _yes, _no;
    readonly Lock _gate = new();

    public PointwiseScorer(DeepSeekGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _model = generator.Model;
        _tokenizer = generator.Tokenizer ?? throw new InvalidInputException("the re-ranking model has no tokenizer.json: pointwise re-ranking needs text");
        (_yes, _no) = PointwisePrompt.AnswerTokens(_tokenizer);
    }

    public string Method => "pointwise";
    public int BatchSize { get; init; } = 16;

    /// <summary>The longest prompt in tokens (passages are cut to fit): the context the model was trained on.</summary>
    public int? MaxInputTokens { get; init; }

    public float[] Score(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(passages);
        if (BatchSize < 1) throw new InvalidInputException($"re-ranking batch size must be at least 1, got {BatchSize}");
        var rows = passages.Select(p => PointwisePrompt.Ids(_tokenizer, _model.Config.Version, p ?? "", query, MaxInputTokens)).ToArray();
        lock (_gate) return LeftPadded.ScoreSorted(rows, BatchSize, ScoreBatch, cancellationToken);
    }

    float[] ScoreBatch(int[][] rows)
    {
        using var scope = NewDisposeScope();
        var logits = LeftPadded.Logits(_model, rows, LeftPadded.PadId(_model, _tokenizer));
        var last = logits.select(1, logits.shape[1] - 1).to(ScalarType.Float32); // [B, V]: every row ends at the last position
        var margin = (last.select(1, _yes) - last.select(1, _no)).cpu();
        return margin.data<float>().ToArray();
    }
}

/// <summary>
/// What a re-ranking model folder is: a pointwise re-ranker when it holds the <see cref="MarkerFile"/> that
/// <c>dss train-reranker</c> writes, else a generator used by query likelihood.
/// </summary>
public static class RerankerModel
{
    public const string MarkerFile = "reranker.json";

    /// <summary>"pointwise" or "query-likelihood".</summary>
    public static string MethodOf(string folder)
    {
        string path = Path.Combine(folder, MarkerFile);
        if (!File.Exists(path)) return "query-likelihood";
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["method"]?.GetValue<string>() switch
            {
                "pointwise" => "pointwise",
                var other => throw new CheckpointException($"{path}: unknown re-ranker method '{other}'"),
            };
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: invalid JSON ({e.Message})", e); }
    }

    /// <summary>The scorer the folder's model is for (inputs capped at the context it was trained on).</summary>
    public static IPassageScorer Scorer(DeepSeekGenerator generator, string folder, int batchSize = 16) =>
        MethodOf(folder) == "pointwise"
            ? new PointwiseScorer(generator) { BatchSize = batchSize, MaxInputTokens = QueryLikelihoodScorer.TrainedContext(folder) }
            : new QueryLikelihoodScorer(generator) { BatchSize = batchSize, MaxInputTokens = QueryLikelihoodScorer.TrainedContext(folder) };

    /// <summary>Marks <paramref name="folder"/> as a pointwise re-ranker.</summary>
    public static void MarkPointwise(string folder, JsonObject details)
    {
        details["method"] = "pointwise";
        details["prompt"] = PointwisePrompt.Instruction;
        AtomicFile.WriteAllText(Path.Combine(folder, MarkerFile), details.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
