using System.Globalization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Generate;

/// <summary>What <c>dss generate</c> asks for: a model folder, prompts as text or ids, decoding settings.</summary>
public sealed record GenerationRequest
{
    public required string ModelDirectory { get; init; }

    /// <summary>Text prompts (need the folder's tokenizer.json).</summary>
    public IReadOnlyList<string> Prompts { get; init; } = Array.Empty<string>();

    /// <summary>Prompts given as token ids.</summary>
    public IReadOnlyList<int[]> PromptIds { get; init; } = Array.Empty<int[]>();

    /// <summary>Wrap each text prompt in the chat template as a user turn (after an optional system prompt).</summary>
    public bool Chat { get; init; }
    public string? SystemPrompt { get; init; }

    public GenerationOptions Options { get; init; } = new();
    public DeepSeekModelOptions Model { get; init; } = new();

    /// <summary>
    /// When set, the float32 logits [T, V] of the first prompt's full forward pass (no cache) are written to this safetensors file as
    /// <c>logits</c>, with the prompt as <c>input_ids</c> [T] (int64) — for comparing with another implementation
    /// (bench/baselines/hf_logits_check.py).
    /// </summary>
    public string? LogitsPath { get; init; }
}

/// <summary>One generated sequence as <c>dss generate --json</c> prints it.</summary>
public sealed record SequenceReport(int[] PromptIds, int[] GeneratedIds, string Text, string FinishReason);

/// <summary>The result of <see cref="GenerationRun.Execute"/>: the model folder and one report per prompt.</summary>
public sealed record GenerationReport(string Model, IReadOnlyList<SequenceReport> Sequences);

/// <summary>The logic of <c>dss generate</c>, independent of the command line: load, encode, generate, report.</summary>
public static class GenerationRun
{
    /// <summary>Parses "1,2,3" (commas and/or spaces) into token ids.</summary>
    static readonly char[] IdSeparators = [',', ' ', '\t'];

    public static int[] ParseIds(string text)
    {
        var parts = text.Split(IdSeparators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new InvalidInputException($"no token ids in '{text}' (expected e.g. 1,2,3)");
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out ids[i]) || ids[i] < 0)
                throw new InvalidInputException($"'{parts[i]}' in '{text}' is not a token id (a non-negative integer)");
        return ids;
    }

    /// <summary>
    /// Loads the model (every checkpoint problem surfaces here, before any generation), encodes the prompts and generates.
    /// <paramref name="onToken"/> receives the streamed tokens.
    /// </summary>
    public static GenerationReport Execute(GenerationRequest request, Action<GeneratedToken>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Prompts.Count == 0 && request.PromptIds.Count == 0) throw new InvalidInputException("nothing to generate from: the request has neither text prompts nor prompt token ids") { Setting = "prompts" };
        if (request.Prompts.Count > 0 && request.PromptIds.Count > 0) throw new InvalidInputException("a request takes text prompts or prompt token ids, not both") { Setting = "prompts" };
        request.Options.Validate();
        using var generator = DeepSeekGenerator.Load(request.ModelDirectory, request.Model);
        var prompts = new List<int[]>(request.PromptIds);
        foreach (var text in request.Prompts)
        {
            if (request.Chat)
            {
                var messages = new List<ChatMessage>();
                if (request.SystemPrompt != null) messages.Add(ChatMessage.System(request.SystemPrompt));
                messages.Add(ChatMessage.User(text));
                prompts.Add(generator.EncodeChat(messages));
            }
            else prompts.Add(generator.EncodePrompt(text));
        }
        if (request.LogitsPath != null) WriteLogits(generator.Model, prompts[0], request.LogitsPath);
        GeneratedSequence[] results;
        if (onToken == null) results = generator.Generate(prompts, request.Options, cancellationToken);
        else
        {
            var ids = prompts.Select(_ => new List<int>()).ToArray();
            var finish = new FinishReason[prompts.Count];
            var stream = generator.StreamAsync(prompts, request.Options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                {
                    var t = stream.Current;
                    onToken(t);
                    ids[t.Sequence].Add(t.TokenId);
                    if (t.Finish is FinishReason f) finish[t.Sequence] = f;
                }
            }
            finally { stream.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
            results = prompts.Select((p, i) => new GeneratedSequence(p, ids[i].ToArray(),
                generator.Tokenizer == null ? "" : CutText(generator.Tokenizer.Decode(ids[i], !request.Options.IncludeSpecialTokensInText), request.Options.StopStrings),
                finish[i])).ToArray();
        }
        return new GenerationReport(request.ModelDirectory, results.Select(r =>
            new SequenceReport(r.PromptIds, r.GeneratedIds, r.Text, r.Finish switch
            {
                FinishReason.EndOfSequence => "eos",
                FinishReason.StopString => "stop",
                _ => "length",
            })).ToList());
    }

    /// <summary>Writes the float32 logits [T, V] of <paramref name="prompt"/> and its ids [T] to a safetensors file (see <see cref="GenerationRequest.LogitsPath"/>).</summary>
    public static void WriteLogits(DeepSeekModel model, int[] prompt, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length == 0) throw new InvalidInputException("the prompt is empty: no logits to write");
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var _ = TorchSharp.torch.no_grad();
        var ids = TorchSharp.torch.tensor(prompt.Select(i => (long)i).ToArray(), new long[] { 1, prompt.Length }, TorchSharp.torch.ScalarType.Int64);
        var logits = model.Forward(ids)[0].to(TorchSharp.torch.ScalarType.Float32);
        SafeTensorsWriter.Write(path, new[]
        {
            new SafeTensorsItem("logits", SafeTensorsDType.F32, logits),
            new SafeTensorsItem("input_ids", SafeTensorsDType.I64, ids[0]),
        }, new Dictionary<string, string> { ["format"] = "pt" });
    }

    static string CutText(string text, IReadOnlyList<string> stops)
    {
        int cut = -1;
        foreach (var s in stops)
        {
            int i = text.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        return cut < 0 ? text : text[..cut];
    }
}
