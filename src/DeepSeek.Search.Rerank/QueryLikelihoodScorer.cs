using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Rerank;

/// <summary>
/// Unsupervised re-ranking by query likelihood (Sachan et al. 2022, "Improving Passage Retrieval with Zero-Shot Question
/// Generation"; Zhuang et al. 2021): a passage scores the mean log-probability, under the generator, of the query's
/// tokens given the passage, <c>log p(q | d) / |q|</c>.
/// <para>
/// Each input is BOS, the passage's tokens (at most <see cref="MaxPassageTokens"/>), the <see cref="Separator"/>'s tokens,
/// then the query's (at most <see cref="MaxQueryTokens"/>); passage and query are encoded with special-token text kept
/// as text. Inputs are sorted by length and scored <see cref="BatchSize"/> at a time, left-padded so the query's tokens
/// end every row (padding masked, positions counting real tokens as in <see cref="DeepSeekGenerator"/>), under
/// <c>no_grad</c>, on the model's device (CPU or CUDA), log-softmax in float32 whatever the model's dtype.
/// </para>
/// The default separator is a blank line: what a model from <c>dss train-lm</c> saw between a document's title and its text
/// (a separator the model never saw leaves its predictions after it barely conditioned on the passage).
/// One call at a time per scorer (calls wait for each other).
/// </summary>
public sealed class QueryLikelihoodScorer : IPassageScorer
{
    public const string DefaultSeparator = "\n\n";

    readonly DeepSeekModel _model;
    readonly ByteLevelBpeTokenizer _tokenizer;
    readonly Lock _gate = new();

    public QueryLikelihoodScorer(DeepSeekGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _model = generator.Model;
        _tokenizer = generator.Tokenizer ?? throw new InvalidInputException("the re-ranking model has no tokenizer.json: query likelihood needs text");
    }

    public string Method => "query-likelihood";
    public int BatchSize { get; init; } = 16;
    public int MaxPassageTokens { get; init; } = 256;
    public int MaxQueryTokens { get; init; } = 64;
    /// <summary>
    /// The longest input (BOS, passage, separator, query) in tokens: the passage is cut to fit. Null: no cap beyond
    /// <see cref="MaxPassageTokens"/>. Set it to the context the model was trained on (<see cref="TrainedContext"/>): positions a
    /// model never saw in training give it arbitrary predictions, which would penalise long passages.
    /// </summary>
    public int? MaxInputTokens { get; init; }

    /// <summary>
    /// The context length the model of <paramref name="folder"/> was trained on: <c>seq_len</c> of the <c>train_lm.json</c>
    /// that <c>dss train-lm</c> writes beside it; null when there is none (a checkpoint from elsewhere: trust its config).
    /// </summary>
    public static int? TrainedContext(string folder)
    {
        string path = Path.Combine(folder, "train_lm.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("result", out var r) && r.TryGetProperty("seq_len", out var s) && s.TryGetInt32(out int n) && n > 0 ? n : null;
        }
        catch (System.Text.Json.JsonException) { return null; }
    }
    public string Separator { get; init; } = DefaultSeparator;

    public float[] Score(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(passages);
        if (BatchSize < 1) throw new InvalidInputException($"re-ranking batch size must be at least 1, got {BatchSize}");
        var q = _tokenizer.Encode(query.Trim(), addSpecialTokens: false, splitSpecialTokens: true);
        if (q.Length == 0) throw new InvalidInputException("query likelihood needs a query with at least one token");
        if (q.Length > MaxQueryTokens) q = q[..MaxQueryTokens];
        var separator = _tokenizer.Encode(Separator, addSpecialTokens: false, splitSpecialTokens: true);
        int passageRoom = MaxPassageTokens;
        if (MaxInputTokens is int cap)
        {
            int room = cap - q.Length - separator.Length - 1;
            if (room < 1) throw new InvalidInputException($"a query of {q.Length} tokens leaves no room for a passage in the re-ranker's input of {cap} tokens");
            passageRoom = Math.Min(passageRoom, room);
        }
        var prefixes = new int[passages.Count][];
        for (int i = 0; i < passages.Count; i++)
        {
            var p = _tokenizer.Encode(passages[i] ?? "", addSpecialTokens: false, splitSpecialTokens: true);
            if (p.Length > passageRoom) p = p[..passageRoom];
            var prefix = new List<int>(p.Length + separator.Length + 1);
            if (_tokenizer.BosTokenId is int bos) prefix.Add(bos);
            prefix.AddRange(p);
            prefix.AddRange(separator);
            if (prefix.Count == 0) prefix.Add(q[0]); // no BOS, no passage, no separator: condition on nothing but one token
            prefixes[i] = prefix.ToArray();
        }
        var rows = prefixes.Select(p => p.Concat(q).ToArray()).ToArray();
        lock (_gate) return LeftPadded.ScoreSorted(rows, BatchSize, batch => ScoreBatch(batch, q), cancellationToken);
    }

    /// <summary>Mean log p(query | prefix) of each row (prefix + query), in one forward pass.</summary>
    float[] ScoreBatch(int[][] rows, int[] query)
    {
        int b = rows.Length, qn = query.Length, longest = rows.Max(r => r.Length);
        using var scope = NewDisposeScope();
        var logits = LeftPadded.Logits(_model, rows, LeftPadded.PadId(_model, _tokenizer));
        // the logits at position t predict token t + 1: the query's tokens sit at the last qn positions
        var predicting = logits.narrow(1, longest - qn - 1, qn).to(ScalarType.Float32);
        var logProbs = predicting.log_softmax(-1);
        var targets = tensor(query.Select(x => (long)x).ToArray(), new long[] { 1, qn, 1 }).to(logProbs.device).expand(b, qn, 1);
        var mean = logProbs.gather(-1, targets).squeeze(-1).mean(new long[] { 1 }).cpu();
        return mean.data<float>().ToArray();
    }
}
