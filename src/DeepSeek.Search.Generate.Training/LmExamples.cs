using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>One batch of training examples: token ids [rows, T], the targets [rows, T] (−100 where no loss is taken) and the real tokens in it.</summary>
public sealed record LmBatch(Tensor Ids, Tensor Labels, long Tokens) : IDisposable
{
    public void Dispose()
    {
        Ids.Dispose();
        if (!ReferenceEquals(Labels, Ids)) Labels.Dispose();
    }
}

/// <summary>
/// What a language-model run learns from: plain text packed into blocks (<see cref="PackedBlocks"/>, loss on every token) or
/// supervised prompt/response pairs (<see cref="SftExamples"/>, loss on the response only). Examples are numbered; some train,
/// a deterministic slice validates.
/// </summary>
public interface ILmExamples
{
    /// <summary>Documents (plain text) or pairs (supervised).</summary>
    int Documents { get; }

    /// <summary>Tokens of all examples.</summary>
    long Tokens { get; }

    IReadOnlyList<int> Train { get; }
    IReadOnlyList<int> Validation { get; }

    /// <summary>The examples <paramref name="indices"/> as one batch on <paramref name="device"/>.</summary>
    LmBatch Batch(IEnumerable<int> indices, Device device);
}

/// <summary>
/// Supervised fine-tuning pairs (<c>dss train-lm --sft FILE.jsonl</c>, one <c>{"prompt", "response"}</c> object per line, with an
/// optional <c>"system"</c>; or <c>{"prompt_ids": [...], "response"}</c> with the prompt already tokenised, used as it is): each pair is the model's chat prompt for the prompt (system turn, user turn, generation prompt, as
/// <see cref="ChatTemplate.Format"/> writes it and <see cref="DeepSeekGenerator.FormatChat"/> builds it at inference) followed by the
/// response and EOS; the loss is on the response and EOS only (every prompt position's target is −100, as transformers' SFT collators
/// mask it). A pair longer than the sequence length keeps its response and the end of its prompt (the prompt is cut from the left,
/// BOS kept). Batches are right-padded to their longest pair; the causal mask keeps padding from changing any real position.
/// Every k-th pair (k = round(1 / validation fraction)) is held out.
/// </summary>
public sealed class SftExamples : ILmExamples
{
    readonly List<(int[] Ids, int PromptLength)> _pairs;
    readonly int _pad;

    SftExamples(List<(int[], int)> pairs, int pad, int[] train, int[] validation)
    {
        _pairs = pairs;
        _pad = pad;
        Train = train;
        Validation = validation;
    }

    public int Documents => _pairs.Count;
    public long Tokens => _pairs.Sum(p => (long)p.Ids.Length);
    public IReadOnlyList<int> Train { get; }
    public IReadOnlyList<int> Validation { get; }

    /// <summary>The token ids and prompt length of pair <paramref name="index"/> (for tests and reports).</summary>
    public (int[] Ids, int PromptLength) Pair(int index) => _pairs[index];

    public static SftExamples Read(string path, ByteLevelBpeTokenizer tokenizer, DeepSeekVersion version, int seqLen, double validationFraction,
        CancellationToken cancellation = default)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"--sft file not found: {path}") { Setting = "sft" };
        int eos = tokenizer.EosTokenId ?? throw new InvalidInputException("supervised pairs need a tokenizer with an EOS token (the response's end)");
        int pad = tokenizer.PadTokenId ?? eos;
        var pairs = new List<(int[], int)>();
        int lineNo = 0, cut = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            cancellation.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? prompt, response, system;
            int[]? promptTokens = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}:{lineNo}: not a JSON object");
                string? Field(string name) => doc.RootElement.TryGetProperty(name, out var v)
                    ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new InvalidInputException($"{path}:{lineNo}: \"{name}\" is a {v.ValueKind}, not a string")
                    : null;
                prompt = Field("prompt");
                response = Field("response");
                system = Field("system");
                if (doc.RootElement.TryGetProperty("prompt_ids", out var pid))
                {
                    if (prompt != null || system != null) throw new InvalidInputException($"{path}:{lineNo}: \"prompt_ids\" excludes \"prompt\" and \"system\"");
                    if (pid.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"{path}:{lineNo}: \"prompt_ids\" is a {pid.ValueKind}, not an array of token ids");
                    promptTokens = pid.EnumerateArray().Select(v => v.TryGetInt32(out int id) && id >= 0 && id < tokenizer.VocabSize ? id
                        : throw new InvalidInputException($"{path}:{lineNo}: \"prompt_ids\" holds {v}, not a token id of the {tokenizer.VocabSize}-id vocabulary")).ToArray();
                    if (promptTokens.Length == 0) throw new InvalidInputException($"{path}:{lineNo}: \"prompt_ids\" is empty");
                    prompt = "(ids)";
                }
            }
            catch (JsonException e) { throw new InvalidInputException($"{path}:{lineNo}: invalid JSON ({e.Message})", e) { Setting = "sft" }; }
            if (string.IsNullOrWhiteSpace(prompt)) throw new InvalidInputException($"{path}:{lineNo}: no \"prompt\" (each line is {{\"prompt\": ..., \"response\": ...}})") { Setting = "sft" };
            if (string.IsNullOrEmpty(response)) throw new InvalidInputException($"{path}:{lineNo}: no \"response\"") { Setting = "sft" };
            var messages = new List<ChatMessage>();
            if (!string.IsNullOrWhiteSpace(system)) messages.Add(ChatMessage.System(system));
            messages.Add(ChatMessage.User(prompt));
            var promptIds = promptTokens ?? tokenizer.Encode(ChatTemplate.Format(tokenizer, version, messages), addSpecialTokens: false);
            var responseIds = tokenizer.Encode(response, addSpecialTokens: false, splitSpecialTokens: true);
            int answer = responseIds.Length + 1;
            if (answer >= seqLen)
                throw new InvalidInputException($"{path}:{lineNo}: the response is {answer} tokens with EOS; it must leave room for a prompt in --seq-len {seqLen}") { Setting = "sft" };
            int keep = Math.Min(promptIds.Length, seqLen - answer);
            if (keep < promptIds.Length) cut++;
            var ids = new int[keep + answer];
            if (keep < promptIds.Length)
            {
                // keep BOS (when the prompt starts with it) and the prompt's end
                bool hasBos = tokenizer.BosTokenId is int bosId && promptIds.Length > 0 && promptIds[0] == bosId;
                int head = hasBos && keep > 1 ? 1 : 0;
                if (head == 1) ids[0] = promptIds[0];
                Array.Copy(promptIds, promptIds.Length - (keep - head), ids, head, keep - head);
            }
            else Array.Copy(promptIds, ids, keep);
            Array.Copy(responseIds, 0, ids, keep, responseIds.Length);
            ids[^1] = eos;
            pairs.Add((ids, keep));
        }
        if (pairs.Count == 0) throw new InvalidInputException($"--sft {path} holds no pairs") { Setting = "sft" };
        int every = validationFraction > 0 ? Math.Max(2, (int)Math.Round(1.0 / validationFraction)) : 0;
        var train = new List<int>();
        var validation = new List<int>();
        for (int i = 0; i < pairs.Count; i++) (every > 0 && i % every == every - 1 ? validation : train).Add(i);
        if (train.Count == 0) throw new InvalidInputException($"--sft {path}: {pairs.Count} pair(s) leave none for training after the validation slice") { Setting = "sft" };
        return new SftExamples(pairs, pad, train.ToArray(), validation.ToArray()) { PromptsCut = cut };
    }

    /// <summary>Pairs whose prompt was cut to fit the sequence length.</summary>
    public int PromptsCut { get; private init; }

    public LmBatch Batch(IEnumerable<int> indices, Device device)
    {
        var rows = indices.Select(i => _pairs[i]).ToList();
        int t = rows.Max(r => r.Ids.Length);
        var ids = new long[rows.Count * t];
        var labels = new long[rows.Count * t];
        long tokens = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            var (seq, promptLength) = rows[r];
            for (int j = 0; j < t; j++)
            {
                bool real = j < seq.Length;
                ids[r * t + j] = real ? seq[j] : _pad;
                labels[r * t + j] = real && j >= promptLength ? seq[j] : -100;
            }
            tokens += seq.Length;
        }
        return new LmBatch(tensor(ids, new long[] { rows.Count, t }, ScalarType.Int64).to(device),
            tensor(labels, new long[] { rows.Count, t }, ScalarType.Int64).to(device), tokens);
    }
}
