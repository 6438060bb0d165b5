using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Nodes;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// The <c>added_tokens</c> of <c>tokenizer.json</c> (special or not). They are split out of the raw text before normalisation,
/// leftmost-longest, honouring <c>lstrip</c>/<c>rstrip</c> (whitespace beside the token is swallowed) and <c>single_word</c> (the token
/// only matches as a whole word); decoding writes their content verbatim.
/// </summary>
internal sealed class AddedVocabulary
{
    readonly Dictionary<char, AddedToken[]> _byFirstChar;
    readonly Dictionary<int, AddedToken> _byId;

    AddedVocabulary(List<AddedToken> tokens)
    {
        Tokens = tokens;
        _byId = tokens.GroupBy(a => a.Id).ToDictionary(g => g.Key, g => g.First());
        _byFirstChar = tokens.Where(a => a.Content.Length > 0).GroupBy(a => a.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(a => a.Content.Length).ToArray());
    }

    public static AddedVocabulary FromJson(JsonArray? addedTokens)
    {
        var tokens = new List<AddedToken>();
        foreach (var t in addedTokens ?? new JsonArray())
        {
            var o = (JsonObject)t!;
            tokens.Add(new AddedToken(o["id"]!.GetValue<int>(), o["content"]!.GetValue<string>(), o["special"]?.GetValue<bool>() ?? false,
                o["lstrip"]?.GetValue<bool>() ?? false, o["rstrip"]?.GetValue<bool>() ?? false, o["single_word"]?.GetValue<bool>() ?? false));
        }
        return new AddedVocabulary(tokens);
    }

    /// <summary>In file order.</summary>
    public IReadOnlyList<AddedToken> Tokens { get; }

    /// <summary>The id of the first added token with this content.</summary>
    public int? IdOf(string content) => Tokens.FirstOrDefault(a => a.Content == content)?.Id;

    public bool TryGet(int id, [MaybeNullWhen(false)] out AddedToken token) => _byId.TryGetValue(id, out token);

    /// <summary>
    /// <paramref name="text"/> cut into added tokens (with their id) and the plain text between them (id null). Special tokens are
    /// left in the text when <paramref name="splitSpecial"/> is set.
    /// </summary>
    public List<(string Text, int? Added)> Split(string text, bool splitSpecial)
    {
        var result = new List<(string, int?)>();
        int start = 0, i = 0;
        while (i < text.Length)
        {
            AddedToken? match = null;
            if (_byFirstChar.TryGetValue(text[i], out var candidates))
                foreach (var c in candidates)
                    if (!(splitSpecial && c.Special) && string.CompareOrdinal(text, i, c.Content, 0, c.Content.Length) == 0 && WordBoundaryOk(text, i, c))
                    { match = c; break; }
            if (match == null) { i++; continue; }
            int matchStart = i, matchEnd = i + match.Content.Length;
            if (match.LeftStrip) while (matchStart > start && char.IsWhiteSpace(text[matchStart - 1])) matchStart--;
            if (match.RightStrip) while (matchEnd < text.Length && char.IsWhiteSpace(text[matchEnd])) matchEnd++;
            if (matchStart > start) result.Add((text[start..matchStart], null));
            result.Add((match.Content, match.Id));
            start = i = matchEnd;
        }
        if (start < text.Length) result.Add((text[start..], null));
        return result;
    }

    static bool WordBoundaryOk(string text, int i, AddedToken t)
    {
        if (!t.SingleWord) return true;
        int end = i + t.Content.Length;
        bool leftOk = i == 0 || !char.IsLetterOrDigit(text[i - 1]) && text[i - 1] != '_';
        bool rightOk = end >= text.Length || !char.IsLetterOrDigit(text[end]) && text[end] != '_';
        return leftOk && rightOk;
    }
}
