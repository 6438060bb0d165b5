using System.Text.Json.Nodes;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// The <c>model</c> of <c>tokenizer.json</c> (<c>BPE</c>): a vocabulary of byte-level strings and ranked merges (as <c>"a b"</c> strings
/// or pairs). A word is split into characters (code points), then the adjacent pair of lowest merge rank is merged until none is left;
/// with <c>ignore_merges</c> a word in the vocabulary is one token as it stands. Words are cached. Byte fallback, continuing-subword
/// prefixes and end-of-word suffixes are refused.
/// </summary>
internal sealed class BpeModel
{
    const int CacheCapacity = 100_000;

    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<(string, string), int> _merges;
    readonly bool _ignoreMerges;
    readonly int? _unkId;
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    BpeModel(Dictionary<string, int> vocab, Dictionary<(string, string), int> merges, bool ignoreMerges, string? unkToken, int? unkId)
    {
        _vocab = vocab;
        _merges = merges;
        _ignoreMerges = ignoreMerges;
        UnkToken = unkToken;
        _unkId = unkId;
    }

    public static BpeModel FromJson(JsonObject model, string where)
    {
        string modelType = (string?)model["type"] ?? "BPE";
        if (modelType != "BPE") throw new CheckpointException($"{where}: model type '{modelType}' is not supported (BPE only)");
        if (model["byte_fallback"]?.GetValue<bool>() == true) throw new CheckpointException($"{where}: byte_fallback BPE is not supported (byte-level BPE only)");
        if (model["continuing_subword_prefix"] is JsonValue csp && csp.GetValue<string>() is { Length: > 0 })
            throw new CheckpointException($"{where}: continuing_subword_prefix is not supported");
        if (model["end_of_word_suffix"] is JsonValue ews && ews.GetValue<string>() is { Length: > 0 })
            throw new CheckpointException($"{where}: end_of_word_suffix is not supported");

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in model["vocab"] as JsonObject ?? throw new CheckpointException($"{where}: model.vocab missing"))
            vocab[token] = id!.GetValue<int>();
        var merges = new Dictionary<(string, string), int>();
        int rank = 0;
        foreach (var m in model["merges"] as JsonArray ?? new JsonArray())
        {
            (string, string) pair;
            if (m is JsonArray a && a.Count == 2) pair = (a[0]!.GetValue<string>(), a[1]!.GetValue<string>());
            else
            {
                string s = m!.GetValue<string>();
                int space = s.IndexOf(' ', 1);
                if (space < 0) throw new CheckpointException($"{where}: malformed merge '{s}'");
                pair = (s[..space], s[(space + 1)..]);
            }
            merges.TryAdd(pair, rank++);
        }
        bool ignoreMerges = model["ignore_merges"]?.GetValue<bool>() ?? false;
        return new BpeModel(vocab, merges, ignoreMerges, (string?)model["unk_token"], unkId: null);
    }

    /// <summary>The model's <c>unk_token</c>, if it names one (its id may be an added token's: see <see cref="WithUnknownId"/>).</summary>
    public string? UnkToken { get; }

    /// <summary>This model, with symbols outside the vocabulary becoming <paramref name="unkId"/> rather than an error.</summary>
    public BpeModel WithUnknownId(int unkId) => new(_vocab, _merges, _ignoreMerges, UnkToken, unkId);

    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    /// <summary>The ids of one pre-tokenized (byte-level) word.</summary>
    public int[] Tokenize(string word)
    {
        if (word.Length == 0) return Array.Empty<int>();
        lock (_cache) if (_cache.TryGetValue(word, out var cached)) return cached;
        int[] ids;
        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole)) ids = new[] { whole };
        else
        {
            var symbols = new List<string>();
            for (int i = 0; i < word.Length; i++)
                symbols.Add(char.IsHighSurrogate(word[i]) && i + 1 < word.Length ? word.Substring(i++, 2) : word[i].ToString());
            while (symbols.Count > 1)
            {
                int best = int.MaxValue;
                (string, string) bestPair = default;
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (_merges.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < best) { best = r; bestPair = (symbols[i], symbols[i + 1]); }
                if (best == int.MaxValue) break;
                var merged = new List<string>(symbols.Count);
                for (int i = 0; i < symbols.Count; i++)
                {
                    if (i + 1 < symbols.Count && symbols[i] == bestPair.Item1 && symbols[i + 1] == bestPair.Item2)
                    {
                        merged.Add(symbols[i] + symbols[i + 1]);
                        i++;
                    }
                    else merged.Add(symbols[i]);
                }
                symbols = merged;
            }
            var list = new List<int>(symbols.Count);
            foreach (var s in symbols)
            {
                if (_vocab.TryGetValue(s, out var id)) list.Add(id);
                else if (_unkId is int unk) list.Add(unk);
                else throw new InvalidInputException($"tokenizer: no token for '{s}' and no unk_token");
            }
            ids = list.ToArray();
        }
        lock (_cache) if (_cache.Count < CacheCapacity) _cache[word] = ids;
        return ids;
    }
}
