using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// The <c>normalizer</c> of <c>tokenizer.json</c>: rewrites each stretch of text between added tokens before pre-tokenisation.
/// Supported: <c>Sequence</c>, <c>NFC</c>/<c>NFD</c>/<c>NFKC</c>/<c>NFKD</c>, <c>Lowercase</c>, <c>Replace</c>, <c>Prepend</c>.
/// (BERT's normalisation is <see cref="BertBasicTokenizer"/>'s own: it keeps character offsets, which these do not.)
/// </summary>
internal abstract class Normalizer
{
    public abstract string Normalize(string text);

    /// <summary>The normalizer a <c>normalizer</c> section describes; null when there is none.</summary>
    public static Normalizer? FromJson(JsonObject? node, string where) => node == null ? null : Parse(node, where);

    static Normalizer Parse(JsonObject n, string where)
    {
        string type = (string?)n["type"] ?? "";
        switch (type)
        {
            case "Sequence":
                return new SequenceNormalizer((n["normalizers"] as JsonArray ?? new JsonArray()).Select(child => Parse((JsonObject)child!, where)).ToArray());
            case "NFC": return new UnicodeNormalizer(NormalizationForm.FormC);
            case "NFD": return new UnicodeNormalizer(NormalizationForm.FormD);
            case "NFKC": return new UnicodeNormalizer(NormalizationForm.FormKC);
            case "NFKD": return new UnicodeNormalizer(NormalizationForm.FormKD);
            case "Lowercase": return new LowercaseNormalizer();
            case "Prepend": return new PrependNormalizer((string?)n["prepend"] ?? "");
            case "Replace":
            {
                string content = (string?)n["content"] ?? "";
                return new ReplaceNormalizer(TokenizerPattern.FromJson(n["pattern"] as JsonObject, where), content);
            }
            default:
                throw new CheckpointException($"{where}: normalizer '{type}' is not supported");
        }
    }
}

/// <summary><c>Sequence</c>: each normalizer in turn.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<Normalizer> normalizers) : Normalizer
{
    public override string Normalize(string text)
    {
        foreach (var n in normalizers) text = n.Normalize(text);
        return text;
    }
}

/// <summary><c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>.</summary>
internal sealed class UnicodeNormalizer(NormalizationForm form) : Normalizer
{
    public override string Normalize(string text) => text.Normalize(form);
}

internal sealed class LowercaseNormalizer : Normalizer
{
    public override string Normalize(string text) => text.ToLowerInvariant();
}

/// <summary><c>Prepend</c>: a prefix before non-empty text.</summary>
internal sealed class PrependNormalizer(string prepend) : Normalizer
{
    public override string Normalize(string text) => text.Length == 0 ? text : prepend + text;
}

/// <summary><c>Replace</c>: every match of the pattern becomes <c>content</c> (taken literally).</summary>
internal sealed class ReplaceNormalizer(Regex pattern, string content) : Normalizer
{
    readonly string _replacement = content.Replace("$", "$$");

    public override string Normalize(string text) => pattern.Replace(text, _replacement);
}
