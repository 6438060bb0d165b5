using System.Text.Json.Nodes;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// The special tokens put around one encoded sequence: the <c>TemplateProcessing</c> of <c>tokenizer.json</c>'s
/// <c>post_processor</c> (its <c>single</c> template; inside a <c>Sequence</c> too), or, without one, what <c>LlamaTokenizerFast</c>
/// makes of <c>tokenizer_config.json</c>'s <c>add_bos_token</c>/<c>add_eos_token</c>.
/// </summary>
internal sealed class TemplatePostProcessor
{
    readonly int[] _prefix, _suffix;

    TemplatePostProcessor(int[] prefix, int[] suffix)
    {
        _prefix = prefix;
        _suffix = suffix;
    }

    /// <summary>Adds nothing.</summary>
    public static TemplatePostProcessor None { get; } = new(Array.Empty<int>(), Array.Empty<int>());

    /// <summary>
    /// The template of a <c>post_processor</c> section; null when it has no <c>TemplateProcessing</c> (other processors, such as
    /// <c>ByteLevel</c>'s offset trimming, add no tokens). Template tokens take their id from <c>special_tokens</c>, else
    /// <paramref name="tokenToId"/>.
    /// </summary>
    public static TemplatePostProcessor? FromJson(JsonObject? post, Func<string, int?> tokenToId, string where)
    {
        if (post == null) return null;
        var prefix = new List<int>();
        var suffix = new List<int>();
        return Read(post, prefix, suffix, tokenToId, where) ? new TemplatePostProcessor(prefix.ToArray(), suffix.ToArray()) : null;
    }

    /// <summary><c>add_bos_token</c>/<c>add_eos_token</c>: a BOS before, an EOS after (each when given).</summary>
    public static TemplatePostProcessor BosEos(int? bos, int? eos) =>
        new(bos is int b ? new[] { b } : Array.Empty<int>(), eos is int e ? new[] { e } : Array.Empty<int>());

    /// <summary><paramref name="ids"/> with the template's tokens around them.</summary>
    public int[] Process(List<int> ids)
    {
        var result = new int[_prefix.Length + ids.Count + _suffix.Length];
        _prefix.CopyTo(result, 0);
        ids.CopyTo(result, _prefix.Length);
        _suffix.CopyTo(result, _prefix.Length + ids.Count);
        return result;
    }

    static bool Read(JsonObject post, List<int> prefix, List<int> suffix, Func<string, int?> tokenToId, string where)
    {
        string type = (string?)post["type"] ?? "";
        if (type == "Sequence")
        {
            bool any = false;
            foreach (var child in post["processors"] as JsonArray ?? new JsonArray()) any |= Read((JsonObject)child!, prefix, suffix, tokenToId, where);
            return any;
        }
        if (type != "TemplateProcessing") return false;
        var special = post["special_tokens"] as JsonObject;
        bool seenSequence = false;
        foreach (var item in post["single"] as JsonArray ?? new JsonArray())
        {
            var o = (JsonObject)item!;
            if (o["Sequence"] != null) { seenSequence = true; continue; }
            if (o["SpecialToken"] is JsonObject st)
            {
                string name = (string)st["id"]!;
                int id = special?[name] is JsonObject def && def["ids"] is JsonArray ids && ids.Count > 0 ? ids[0]!.GetValue<int>()
                    : tokenToId(name) ?? throw new CheckpointException($"{where}: template token '{name}' is not in the vocabulary");
                (seenSequence ? suffix : prefix).Add(id);
            }
        }
        return true;
    }
}
