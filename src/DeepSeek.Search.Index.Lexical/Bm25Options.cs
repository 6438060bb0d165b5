using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// BM25 parameters and index layout of a lexical index. Defaults are Anserini's BEIR settings: k1 = 0.9, b = 0.4,
/// the <c>english</c> analyzer, and one flat "contents" field. All four are recorded in <c>lexical.json</c> at build
/// time and must match when the index is opened with explicit options.
/// </summary>
public sealed record Bm25Options
{
    /// <summary>Term-frequency saturation, ≥ 0.</summary>
    public float K1 { get; init; } = 0.9f;

    /// <summary>Length normalisation, in [0, 1].</summary>
    public float B { get; init; } = 0.4f;

    /// <summary>Analyzer name, one of <see cref="LexicalAnalyzers.Names"/>.</summary>
    public string Analyzer { get; init; } = LexicalAnalyzers.English;

    /// <summary>Flat ("contents") or multifield (title + body).</summary>
    public LexicalFieldMode FieldMode { get; init; } = LexicalFieldMode.Flat;

    /// <summary>k1 0.9, b 0.4, english, flat.</summary>
    public static Bm25Options Default { get; } = new();

    /// <summary>Throws <see cref="InvalidInputException"/> for out-of-range values or an unknown analyzer.</summary>
    public void Validate()
    {
        if (!float.IsFinite(K1) || K1 < 0) throw new InvalidInputException($"BM25 k1 must be a finite number >= 0, got {K1}");
        if (!float.IsFinite(B) || B < 0 || B > 1) throw new InvalidInputException($"BM25 b must be in [0, 1], got {B}");
        if (!LexicalAnalyzers.Names.Contains(Analyzer))
            throw new InvalidInputException($"unknown lexical analyzer '{Analyzer}' (expected one of: {string.Join(", ", LexicalAnalyzers.Names)})");
        if (!Enum.IsDefined(FieldMode)) throw new InvalidInputException($"unknown lexical field mode {(int)FieldMode}");
    }

    public override string ToString() => $"k1={K1:R}, b={B:R}, analyzer={Analyzer}, fields={FieldMode.ToString().ToLowerInvariant()}";
}
