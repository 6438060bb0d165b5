using System.Runtime.CompilerServices;
using DeepSeek.Search.Core;
using static TorchSharp.torch;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Generate;

/// <summary>
/// Text generation with a <see cref="DeepSeekModel"/> and (optionally) its <see cref="ByteLevelBpeTokenizer"/>. Prompts of a batch are
/// left-padded and prefilled in one forward pass (padding masked; position ids count real tokens, as HF <c>generate()</c>), then decoded
/// one token per step through a <see cref="KvCache"/>. Each sequence stops at <see cref="GenerationOptions.MaxNewTokens"/>, at an EOS
/// token or at a stop string; the batch stops when all have. <see cref="StreamAsync"/> yields tokens as they are made (with the text
/// they complete); cancellation is checked before every forward pass. One generation at a time per generator.
/// </summary>
public sealed class DeepSeekGenerator : IDisposable
{
    readonly bool _ownsModel;
    readonly SemaphoreSlim _gate = new(1, 1);

    public DeepSeekGenerator(DeepSeekModel model, ByteLevelBpeTokenizer? tokenizer = null, bool ownsModel = false)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer;
        _ownsModel = ownsModel;
    }

    /// <summary>Loads the model of <paramref name="directory"/> and its tokenizer.json when there is one.</summary>
    public static DeepSeekGenerator Load(string directory, DeepSeekModelOptions? options = null)
    {
        var model = DeepSeekCheckpoint.Load(directory, options);
        try
        {
            var tokenizer = File.Exists(Path.Combine(directory, ByteLevelBpeTokenizer.TokenizerFile)) ? ByteLevelBpeTokenizer.Load(directory) : null;
            return new DeepSeekGenerator(model, tokenizer, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public DeepSeekModel Model { get; }
    public ByteLevelBpeTokenizer? Tokenizer { get; }

    ByteLevelBpeTokenizer RequireTokenizer() =>
        Tokenizer ?? throw new InvalidInputException("this model folder has no tokenizer.json: pass token ids instead of text");

    /// <summary>Token ids of a plain-text prompt (BOS added as the tokenizer config says).</summary>
    public int[] EncodePrompt(string text) => RequireTokenizer().Encode(text);

    /// <summary>Token ids of a conversation in the tokenizer's chat format (see <see cref="ChatTemplate"/>), ending with the generation prompt.</summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages) =>
        RequireTokenizer().Encode(FormatChat(messages), addSpecialTokens: false);

    /// <summary>
    /// The prompt text of a conversation in the tokenizer's chat format, ending with the generation prompt (BOS and the role tags
    /// as special-token text: encode it with special tokens parsed and without adding another BOS).
    /// </summary>
    public string FormatChat(IReadOnlyList<ChatMessage> messages)
    {
        return ChatTemplate.Format(RequireTokenizer(), Model.Config.Version, messages);
    }

    /// <summary>Generates for every prompt and returns the finished sequences.</summary>
    public GeneratedSequence[] Generate(IReadOnlyList<int[]> prompts, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        var state = Start(prompts, options);
        try
        {
            while (!state.Done)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Step(state);
            }
            return state.Results();
        }
        finally { Finish(state); }
    }

    /// <summary>Generates for every prompt, yielding each new token (see <see cref="GeneratedToken"/>).</summary>
    public async IAsyncEnumerable<GeneratedToken> StreamAsync(IReadOnlyList<int[]> prompts, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        State? state = null;
        try
        {
            state = Start(prompts, options, takeGate: false);
            while (!state.Done)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var token in Step(state)) yield return token;
                await Task.Yield();
            }
        }
        finally
        {
            if (state != null) state.Cache.Dispose();
            _gate.Release();
        }
    }

    /// <summary>Streams one prompt and collects the result.</summary>
    public async Task<GeneratedSequence> GenerateAsync(int[] prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var ids = new List<int>();
        FinishReason finish = FinishReason.Length;
        await foreach (var t in StreamAsync(new[] { prompt }, options, cancellationToken).ConfigureAwait(false))
        {
            ids.Add(t.TokenId);
            if (t.Finish is FinishReason f) finish = f;
        }
        string text = Tokenizer == null ? "" : CutAtStop(Tokenizer.Decode(ids, skipSpecialTokens: !(options?.IncludeSpecialTokensInText ?? false)), options?.StopStrings ?? Array.Empty<string>()).Text;
        return new GeneratedSequence(prompt, ids.ToArray(), text, finish);
    }

    sealed class State
    {
        public required GenerationOptions Options;
        public required KvCache Cache;
        public required int[][] Prompts;
        public required List<int>[] Generated;
        public required FinishReason?[] Finished;
        public required string[] EmittedText;
        public required long[] NextPosition;
        public required HashSet<int> Eos;
        public required LogitsSampler Sampler;
        public bool Prefilled;
        public int Steps;
        public bool OwnsGate;
        public bool Done => Finished.All(f => f != null);

        public GeneratedSequence[] Results() => Prompts.Select((p, i) => new GeneratedSequence(p, Generated[i].ToArray(), EmittedText[i], Finished[i] ?? FinishReason.Length)).ToArray();
    }

    State Start(IReadOnlyList<int[]> prompts, GenerationOptions options, bool takeGate = true)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        options.Validate();
        if (prompts.Count == 0) throw new InvalidInputException("no prompt to generate from");
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] == null || prompts[i].Length == 0) throw new InvalidInputException($"prompt {i} is empty");
            foreach (int id in prompts[i])
                if (id < 0 || id >= Model.Config.VocabSize) throw new InvalidInputException($"prompt {i}: token id {id} is outside the vocabulary of {Model.Config.VocabSize}");
        }
        if (takeGate && !_gate.Wait(0)) throw new InvalidOperationException("this generator is already generating");
        var eos = new HashSet<int>(options.EosTokenIds ?? Model.Config.EosTokenIds);
        if (options.EosTokenIds == null && Tokenizer?.EosTokenId is int te) eos.Add(te);
        if (options.IgnoreEos) eos.Clear();
        var state = new State
        {
            Options = options,
            Cache = Model.CreateCache(options.CacheMode),
            Prompts = prompts.Select(p => p.ToArray()).ToArray(),
            Generated = prompts.Select(_ => new List<int>()).ToArray(),
            Finished = new FinishReason?[prompts.Count],
            EmittedText = prompts.Select(_ => "").ToArray(),
            NextPosition = new long[prompts.Count],
            Eos = eos,
            Sampler = new LogitsSampler(options),
            OwnsGate = takeGate,
        };
        if (options.MaxNewTokens == 0)
            for (int i = 0; i < state.Finished.Length; i++) state.Finished[i] = FinishReason.Length;
        return state;
    }

    void Finish(State state)
    {
        state.Cache.Dispose();
        if (state.OwnsGate) _gate.Release();
    }

    /// <summary>One forward pass (the prefill, or one new token per sequence) and the choice of the next tokens.</summary>
    List<GeneratedToken> Step(State s)
    {
        int batch = s.Prompts.Length;
        // plain arg-max needs no logits on the host: the device picks the tokens (ties to the lowest id, as LogitsSampler.ArgMax)
        // and only B ids are copied instead of B × vocab floats
        bool pickOnDevice = s.Options.Greedy && s.Options.RepetitionPenalty == 1.0;
        float[][]? rows = null;
        long[]? picks = null;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            Tensor logits;
            if (!s.Prefilled)
            {
                int longest = s.Prompts.Max(p => p.Length);
                int pad = Model.Config.PadTokenId ?? (Model.Config.EosTokenIds.Count > 0 ? Model.Config.EosTokenIds[0] : 0);
                var ids = new long[batch * longest];
                var mask = new long[batch * longest];
                var positions = new long[batch * longest];
                for (int b = 0; b < batch; b++)
                {
                    int offset = longest - s.Prompts[b].Length;
                    for (int j = 0; j < longest; j++)
                    {
                        bool real = j >= offset;
                        ids[b * longest + j] = real ? s.Prompts[b][j - offset] : pad;
                        mask[b * longest + j] = real ? 1 : 0;
                        positions[b * longest + j] = real ? j - offset : 0;
                    }
                    s.NextPosition[b] = s.Prompts[b].Length;
                }
                var shape = new long[] { batch, longest };
                logits = Model.Forward(tensor(ids, shape), s.Cache, tensor(mask, shape), tensor(positions, shape), lastPositionOnly: true);
                s.Prefilled = true;
            }
            else
            {
                var ids = new long[batch];
                var positions = new long[batch];
                for (int b = 0; b < batch; b++)
                {
                    ids[b] = s.Generated[b].Count > 0 ? s.Generated[b][^1] : s.Prompts[b][^1];
                    positions[b] = s.NextPosition[b]++;
                }
                logits = Model.Forward(tensor(ids, new long[] { batch, 1 }), s.Cache, positionIds: tensor(positions, new long[] { batch, 1 }), lastPositionOnly: true);
            }
            if (pickOnDevice)
            {
                var best = logits.reshape(batch, -1).argmax(-1).cpu();
                picks = best.data<long>().ToArray();
            }
            else
            {
                var cpu = logits.reshape(batch, -1).to(ScalarType.Float32).cpu();
                rows = Enumerable.Range(0, batch).Select(b => cpu[b].data<float>().ToArray()).ToArray();
            }
        }

        var tokens = new List<GeneratedToken>();
        s.Steps++;
        for (int b = 0; b < batch; b++)
        {
            if (s.Finished[b] != null) continue;
            int next = picks != null ? (int)picks[b] : s.Sampler.Next(rows![b], s.Prompts[b].Concat(s.Generated[b]));
            s.Generated[b].Add(next);
            FinishReason? finish = null;
            string delta = "";
            if (s.Eos.Contains(next)) finish = FinishReason.EndOfSequence;
            if (Tokenizer != null)
            {
                string text = Tokenizer.Decode(s.Generated[b], skipSpecialTokens: !s.Options.IncludeSpecialTokensInText);
                var (cut, stopped) = CutAtStop(text, s.Options.StopStrings);
                if (stopped) finish ??= FinishReason.StopString;
                if (finish == null && s.Generated[b].Count >= s.Options.MaxNewTokens) finish = FinishReason.Length;
                string final = finish != null ? cut : StablePrefix(cut, s.Options.StopStrings);
                if (final.Length > s.EmittedText[b].Length && final.StartsWith(s.EmittedText[b], StringComparison.Ordinal))
                {
                    delta = final[s.EmittedText[b].Length..];
                    s.EmittedText[b] = final;
                }
            }
            if (finish == null && s.Generated[b].Count >= s.Options.MaxNewTokens) finish = FinishReason.Length;
            s.Finished[b] = finish;
            tokens.Add(new GeneratedToken(b, s.Generated[b].Count - 1, next, delta, finish));
        }
        return tokens;
    }

    /// <summary>The text before the first stop string, and whether one was found.</summary>
    static (string Text, bool Stopped) CutAtStop(string text, IReadOnlyList<string> stops)
    {
        int cut = -1;
        foreach (var stop in stops)
        {
            int i = text.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        return cut < 0 ? (text, false) : (text[..cut], true);
    }

    /// <summary>The part of <paramref name="text"/> that can no longer change: no trailing U+FFFD (an incomplete UTF-8 sequence) and no tail that may begin a stop string.</summary>
    static string StablePrefix(string text, IReadOnlyList<string> stops)
    {
        int end = text.Length;
        while (end > 0 && text[end - 1] == '\uFFFD') end--;
        int hold = 0;
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, end); k > hold; k--)
                if (string.CompareOrdinal(text, end - k, stop, 0, k) == 0) { hold = k; break; }
        end -= hold;
        if (end > 0 && char.IsHighSurrogate(text[end - 1])) end--;
        return text[..end];
    }

    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
        _gate.Dispose();
    }
}
