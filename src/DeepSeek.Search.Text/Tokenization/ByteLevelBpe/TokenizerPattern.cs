using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>A <c>pattern</c> of <c>tokenizer.json</c> (<c>Replace</c> normalizer, <c>Split</c> pre-tokenizer): <c>{"String": ...}</c> or <c>{"Regex": ...}</c>.</summary>
internal static class TokenizerPattern
{
    public static Regex FromJson(JsonObject? pattern, string where)
    {
        if (pattern == null) throw new CheckpointException($"{where}: pattern missing");
        if (pattern["String"] is JsonValue s) return new Regex(Regex.Escape(s.GetValue<string>()), RegexOptions.CultureInvariant);
        if (pattern["Regex"] is JsonValue r)
        {
            try { return new Regex(r.GetValue<string>(), RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw new CheckpointException($"{where}: regex '{r}' is not supported ({e.Message})", e); }
        }
        throw new CheckpointException($"{where}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}");
    }
}
