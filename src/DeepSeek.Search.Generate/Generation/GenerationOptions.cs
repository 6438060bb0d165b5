using DeepSeek.Search.Core;

namespace DeepSeek.Search.Generate;

/// <summary>
/// Decoding settings of <see cref="DeepSeekGenerator"/>, with the semantics of Hugging Face <c>generate()</c>'s logits processors:
/// repetition penalty (logit/p for positive, logit·p for negative logits of every token already in the sequence), then temperature,
/// top-k and top-p (nucleus: the smallest set of most likely tokens whose probability reaches <see cref="TopP"/>), then sampling.
/// <see cref="Greedy"/> takes the arg-max after the repetition penalty and ignores the sampling settings.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens generated per sequence (default 32).</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Arg-max decoding (deterministic).</summary>
    public bool Greedy { get; init; }

    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens; 0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling threshold in (0, 1]; 1 = off.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>HF <c>repetition_penalty</c>; 1 = off.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Seed of the sampler; null = nondeterministic.</summary>
    public int? Seed { get; init; }

    /// <summary>A sequence stops when its decoded text contains one of these (the text is cut before it; the tokens are kept).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = Array.Empty<string>();

    /// <summary>Token ids that end a sequence (kept as its last token); null = the model's and tokenizer's EOS ids.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>Generate through EOS (for parity tests; HF's explicit arg-max loops do the same).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>What the attention cache keeps (the compressed MLA latent saves memory; results agree to float rounding).</summary>
    public KvCacheMode CacheMode { get; init; } = KvCacheMode.Full;

    /// <summary>Decode special tokens (BOS/EOS/chat tags) into the text; false drops them (the default).</summary>
    public bool IncludeSpecialTokensInText { get; init; }

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new InvalidInputException($"max new tokens must not be negative (got {MaxNewTokens})");
        if (!(Temperature > 0)) throw new InvalidInputException($"temperature must be positive (got {Temperature})");
        if (TopK < 0) throw new InvalidInputException($"top-k must not be negative (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) throw new InvalidInputException($"top-p must be in (0, 1] (got {TopP})");
        if (!(RepetitionPenalty > 0)) throw new InvalidInputException($"repetition penalty must be positive (got {RepetitionPenalty})");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new InvalidInputException("stop strings must not be empty");
    }
}

/// <summary>Why a sequence stopped.</summary>
public enum FinishReason { Length, EndOfSequence, StopString }

/// <summary>One generated token as streamed: its sequence, its index among that sequence's new tokens, the new text it completes.</summary>
/// <param name="Sequence">Index of the prompt in the batch.</param>
/// <param name="Index">0-based index of the token among the sequence's generated tokens.</param>
/// <param name="TokenId">The token.</param>
/// <param name="Text">Text that became final with this token (empty while a multi-byte character or a possible stop string is incomplete).</param>
/// <param name="Finish">Set on the sequence's last token.</param>
public sealed record GeneratedToken(int Sequence, int Index, int TokenId, string Text, FinishReason? Finish);

/// <summary>The outcome for one prompt.</summary>
public sealed record GeneratedSequence(int[] PromptIds, int[] GeneratedIds, string Text, FinishReason Finish);
