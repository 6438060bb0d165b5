using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Text.Tokenization;

/// <summary>A token of <c>added_tokens</c> in <c>tokenizer.json</c> (special or not): matched in the raw text before pre-tokenisation.</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool LeftStrip = false, bool RightStrip = false, bool SingleWord = false);

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> byte-level BPE tokenizer, as DeepSeek ships it (V2, V3, R1: <c>LlamaTokenizerFast</c> with a
/// <c>Sequence</c> of regex <c>Split</c> pre-tokenizers ending in <c>ByteLevel</c>, a BPE model, a <c>ByteLevel</c> decoder), read
/// from the file's own description:
/// <list type="bullet">
/// <item>added tokens (<c>&lt;｜begin▁of▁sentence｜&gt;</c>, <c>&lt;｜User｜&gt;</c>, ...) are split out of the raw text first, leftmost-longest,
/// honouring <c>lstrip</c>/<c>rstrip</c>/<c>single_word</c>;</item>
/// <item>normalizers: <c>Sequence</c>, <c>NFC</c>/<c>NFD</c>/<c>NFKC</c>/<c>NFKD</c>, <c>Lowercase</c>, <c>Replace</c>, <c>Prepend</c>;</item>
/// <item>pre-tokenizers: <c>Sequence</c>, <c>Split</c> (string or regex pattern, all five behaviours, <c>invert</c>),
/// <c>ByteLevel</c> (<c>add_prefix_space</c>, <c>use_regex</c> with the GPT-2 pattern), <c>Digits</c>; regexes run on code points
/// (see <see cref="CategoryPreservingText"/>) like the Rust library;</item>
/// <item>the BPE model (merges as <c>"a b"</c> strings or pairs, <c>ignore_merges</c>), <c>TemplateProcessing</c> post-processing, and
/// <c>tokenizer_config.json</c>'s <c>add_bos_token</c>/<c>add_eos_token</c> (what <c>LlamaTokenizerFast</c> turns into its template).</item>
/// </list>
/// Checked on the DeepSeek-V3 tokenizer against the transformers.js implementation (ids identical on English, code, CJK, kana,
/// digits, whitespace runs, emoji and special tokens). Thread-safe after construction.
/// </summary>
public sealed class ByteLevelBpeTokenizer
{
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    readonly Dictionary<string, int> _vocab;
    readonly string[] _idToToken;
    readonly Dictionary<(string, string), int> _merges;
    readonly bool _ignoreMerges;
    readonly int? _unkId;
    readonly List<Func<string, string>> _normalizers = new();
    readonly List<Func<List<string>, List<string>>> _preTokenizers = new();
    readonly Dictionary<char, AddedToken[]> _addedByFirstChar;
    readonly Dictionary<int, AddedToken> _addedById;
    readonly int[] _prefixIds, _suffixIds;
    readonly bool _cleanUpSpaces;
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    bool _hasByteLevel;

    ByteLevelBpeTokenizer(JsonObject root, JsonObject? config, string where)
    {
        var model = root["model"] as JsonObject ?? throw new CheckpointException($"{where}: no \"model\"");
        string modelType = (string?)model["type"] ?? "BPE";
        if (modelType != "BPE") throw new CheckpointException($"{where}: model type '{modelType}' is not supported (BPE only)");
        if (model["byte_fallback"]?.GetValue<bool>() == true) throw new CheckpointException($"{where}: byte_fallback BPE is not supported (byte-level BPE only)");
        if (model["continuing_subword_prefix"] is JsonValue csp && csp.GetValue<string>() is { Length: > 0 })
            throw new CheckpointException($"{where}: continuing_subword_prefix is not supported");
        if (model["end_of_word_suffix"] is JsonValue ews && ews.GetValue<string>() is { Length: > 0 })
            throw new CheckpointException($"{where}: end_of_word_suffix is not supported");

        _vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in model["vocab"] as JsonObject ?? throw new CheckpointException($"{where}: model.vocab missing"))
            _vocab[token] = id!.GetValue<int>();
        _merges = new Dictionary<(string, string), int>();
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
            _merges.TryAdd(pair, rank++);
        }
        _ignoreMerges = model["ignore_merges"]?.GetValue<bool>() ?? false;

        var added = new List<AddedToken>();
        foreach (var t in root["added_tokens"] as JsonArray ?? new JsonArray())
        {
            var o = (JsonObject)t!;
            added.Add(new AddedToken(o["id"]!.GetValue<int>(), o["content"]!.GetValue<string>(), o["special"]?.GetValue<bool>() ?? false,
                o["lstrip"]?.GetValue<bool>() ?? false, o["rstrip"]?.GetValue<bool>() ?? false, o["single_word"]?.GetValue<bool>() ?? false));
        }
        AddedTokens = added;
        _addedById = added.GroupBy(a => a.Id).ToDictionary(g => g.Key, g => g.First());
        _addedByFirstChar = added.Where(a => a.Content.Length > 0).GroupBy(a => a.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(a => a.Content.Length).ToArray());

        int size = Math.Max(_vocab.Count == 0 ? 0 : _vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(a => a.Id) + 1);
        _idToToken = new string[size];
        foreach (var (token, id) in _vocab) _idToToken[id] = token;
        foreach (var a in added) _idToToken[a.Id] = a.Content;
        if ((string?)model["unk_token"] is string unk && TokenToId(unk) is int u) _unkId = u;

        if (root["normalizer"] is JsonObject normalizer) AddNormalizer(normalizer, where);
        if (root["pre_tokenizer"] is JsonObject pre) AddPreTokenizer(pre, where);
        if (!_hasByteLevel) _preTokenizers.Add(ByteLevelStep(addPrefixSpace: false, useRegex: false));

        // special tokens around a sequence: TemplateProcessing, else tokenizer_config's add_bos_token/add_eos_token (LlamaTokenizerFast)
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool template = false;
        if (root["post_processor"] is JsonObject post) template = ReadTemplate(post, prefix, suffix, where);
        if (!template && config != null)
        {
            if (config["add_bos_token"]?.GetValue<bool>() == true && SpecialFromConfig(config, "bos_token") is int bos) prefix.Add(bos);
            if (config["add_eos_token"]?.GetValue<bool>() == true && SpecialFromConfig(config, "eos_token") is int eos) suffix.Add(eos);
        }
        _prefixIds = prefix.ToArray();
        _suffixIds = suffix.ToArray();
        _cleanUpSpaces = config?["clean_up_tokenization_spaces"]?.GetValue<bool>() ?? false;
        BosTokenId = SpecialFromConfig(config, "bos_token");
        EosTokenId = SpecialFromConfig(config, "eos_token");
        PadTokenId = SpecialFromConfig(config, "pad_token");
        ChatTemplateSource = config?["chat_template"] is JsonValue ct && ct.TryGetValue<string>(out var cts) ? cts : null;
    }

    /// <summary>Loads <c>tokenizer.json</c> (and <c>tokenizer_config.json</c> when present) from a folder.</summary>
    public static ByteLevelBpeTokenizer Load(string directory)
    {
        string path = Path.Combine(directory, TokenizerFile);
        if (!File.Exists(path)) throw new CheckpointException($"{directory}: no {TokenizerFile} (a DeepSeek tokenizer is needed to encode text; pass token ids instead)");
        string configPath = Path.Combine(directory, TokenizerConfigFile);
        return FromJson(File.ReadAllText(path), File.Exists(configPath) ? File.ReadAllText(configPath) : null, path);
    }

    /// <summary>Builds a tokenizer from the text of <c>tokenizer.json</c> and optionally <c>tokenizer_config.json</c>.</summary>
    public static ByteLevelBpeTokenizer FromJson(string tokenizerJson, string? tokenizerConfigJson = null, string where = TokenizerFile)
    {
        JsonObject root;
        JsonObject? config = null;
        try
        {
            root = JsonNode.Parse(tokenizerJson) as JsonObject ?? throw new CheckpointException($"{where}: not a JSON object");
            if (tokenizerConfigJson != null) config = JsonNode.Parse(tokenizerConfigJson) as JsonObject;
        }
        catch (JsonException e) { throw new CheckpointException($"{where}: invalid JSON ({e.Message})", e); }
        try { return new ByteLevelBpeTokenizer(root, config, where); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or NullReferenceException)
        {
            throw new CheckpointException($"{where}: unreadable tokenizer ({e.Message})", e);
        }
    }

    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Size of the id space (largest id + 1).</summary>
    public int VocabSize => _idToToken.Length;

    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }

    /// <summary>The Jinja <c>chat_template</c> of tokenizer_config.json, if any (used to pick a <see cref="ChatTemplate"/>).</summary>
    public string? ChatTemplateSource { get; }

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : AddedTokens.FirstOrDefault(a => a.Content == token)?.Id;

    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Whether <paramref name="id"/> is a special added token (skipped by <see cref="Decode"/> with skipSpecialTokens).</summary>
    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out var a) && a.Special;

    /// <summary>
    /// Token ids of <paramref name="text"/>. <paramref name="addSpecialTokens"/> adds the post-processor's tokens (BOS for DeepSeek).
    /// Special-token text in <paramref name="text"/> becomes the special token unless <paramref name="splitSpecialTokens"/> is set,
    /// in which case it is encoded as plain text (use that for untrusted input).
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = true, bool splitSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addSpecialTokens) ids.AddRange(_prefixIds);
        foreach (var (segment, addedId) in SplitAdded(text, splitSpecialTokens))
        {
            if (addedId is int a) { ids.Add(a); continue; }
            string normalized = segment;
            foreach (var n in _normalizers) normalized = n(normalized);
            var pieces = new List<string> { normalized };
            foreach (var p in _preTokenizers) pieces = p(pieces);
            foreach (var piece in pieces) ids.AddRange(Bpe(piece));
        }
        if (addSpecialTokens) ids.AddRange(_suffixIds);
        return ids.ToArray();
    }

    /// <summary>
    /// The byte-level words of <paramref name="text"/> that the BPE model sees: normalizers and pre-tokenizers applied, added tokens
    /// treated as plain text (what <see cref="BpeTrainer"/> counts, so learned merges apply to exactly these pieces).
    /// </summary>
    public List<string> PreTokenize(string text)
    {
        string normalized = text;
        foreach (var n in _normalizers) normalized = n(normalized);
        var pieces = new List<string> { normalized };
        foreach (var p in _preTokenizers) pieces = p(pieces);
        return pieces;
    }

    /// <summary>The 256 characters GPT-2's byte-level alphabet maps the bytes 0..255 to.</summary>
    public static IReadOnlyList<char> ByteAlphabet => ByteToChar;

    /// <summary>Text of <paramref name="ids"/>: byte-level pieces are joined and decoded as UTF-8 (invalid bytes become U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
        foreach (int id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                Flush();
                if (!(skipSpecialTokens && added.Special)) sb.Append(added.Content);
                continue;
            }
            string token = IdToToken(id) ?? throw new InvalidInputException($"token id {id} is outside the vocabulary of {VocabSize}");
            foreach (char c in token)
            {
                if (CharToByte.TryGetValue(c, out var b)) bytes.Add(b);
                else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        Flush();
        string text = sb.ToString();
        return _cleanUpSpaces ? CleanUp(text) : text;
    }

    static string CleanUp(string s) => s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    IEnumerable<(string Text, int? Added)> SplitAdded(string text, bool splitSpecial)
    {
        var result = new List<(string, int?)>();
        int start = 0, i = 0;
        while (i < text.Length)
        {
            AddedToken? match = null;
            if (_addedByFirstChar.TryGetValue(text[i], out var candidates))
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

    int[] Bpe(string word)
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
        lock (_cache) if (_cache.Count < 100_000) _cache[word] = ids;
        return ids;
    }

    void AddNormalizer(JsonObject n, string where)
    {
        string type = (string?)n["type"] ?? "";
        switch (type)
        {
            case "Sequence":
                foreach (var child in n["normalizers"] as JsonArray ?? new JsonArray()) AddNormalizer((JsonObject)child!, where);
                break;
            case "NFC": _normalizers.Add(s => s.Normalize(NormalizationForm.FormC)); break;
            case "NFD": _normalizers.Add(s => s.Normalize(NormalizationForm.FormD)); break;
            case "NFKC": _normalizers.Add(s => s.Normalize(NormalizationForm.FormKC)); break;
            case "NFKD": _normalizers.Add(s => s.Normalize(NormalizationForm.FormKD)); break;
            case "Lowercase": _normalizers.Add(s => s.ToLowerInvariant()); break;
            case "Prepend":
            {
                string prepend = (string?)n["prepend"] ?? "";
                _normalizers.Add(s => s.Length == 0 ? s : prepend + s);
                break;
            }
            case "Replace":
            {
                string content = (string?)n["content"] ?? "";
                var regex = Pattern(n["pattern"] as JsonObject, where);
                _normalizers.Add(s => regex.Replace(s, content.Replace("$", "$$")));
                break;
            }
            default:
                throw new CheckpointException($"{where}: normalizer '{type}' is not supported");
        }
    }

    void AddPreTokenizer(JsonObject p, string where)
    {
        string type = (string?)p["type"] ?? "";
        switch (type)
        {
            case "Sequence":
                foreach (var child in p["pretokenizers"] as JsonArray ?? new JsonArray()) AddPreTokenizer((JsonObject)child!, where);
                break;
            case "Split":
            {
                var regex = Pattern(p["pattern"] as JsonObject, where);
                string behavior = (string?)p["behavior"] ?? "Isolated";
                bool invert = p["invert"]?.GetValue<bool>() ?? false;
                if (behavior is not ("Removed" or "Isolated" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                    throw new CheckpointException($"{where}: Split behavior '{behavior}' is not supported");
                _preTokenizers.Add(pieces => pieces.SelectMany(s => Split(s, regex, behavior, invert)).ToList());
                break;
            }
            case "ByteLevel":
                _hasByteLevel = true;
                _preTokenizers.Add(ByteLevelStep(p["add_prefix_space"]?.GetValue<bool>() ?? false, p["use_regex"]?.GetValue<bool>() ?? true));
                break;
            case "Digits":
            {
                var regex = new Regex(p["individual_digits"]?.GetValue<bool>() == true ? @"\p{Nd}" : @"\p{Nd}+", RegexOptions.CultureInvariant);
                _preTokenizers.Add(pieces => pieces.SelectMany(s => Split(s, regex, "Isolated", false)).ToList());
                break;
            }
            default:
                throw new CheckpointException($"{where}: pre-tokenizer '{type}' is not supported");
        }
    }

    static Func<List<string>, List<string>> ByteLevelStep(bool addPrefixSpace, bool useRegex)
    {
        var regex = useRegex ? new Regex(Gpt2Pattern, RegexOptions.CultureInvariant) : null;
        return new ByteLevelPreTokenizer(addPrefixSpace, regex).Apply;
    }

    sealed class ByteLevelPreTokenizer(bool addPrefixSpace, Regex? regex)
    {
        public List<string> Apply(List<string> pieces)
        {
            var result = new List<string>();
            foreach (var raw in pieces)
            {
                string s = addPrefixSpace && raw.Length > 0 && raw[0] != ' ' ? " " + raw : raw;
                var parts = regex == null ? new List<string> { s } : Split(s, regex, "Isolated", false);
                foreach (var part in parts) result.Add(ToByteLevel(part));
            }
            return result;
        }
    }

    /// <summary>GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.</summary>
    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    static string ToByteLevel(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    static Regex Pattern(JsonObject? pattern, string where)
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

    /// <summary>HF <c>SplitDelimiterBehavior</c> over code points; empty pieces are dropped.</summary>
    public static List<string> Split(string s, Regex regex, string behavior, bool invert)
    {
        var view = CategoryPreservingText.Create(s);
        var spans = new List<(int Start, int End, bool Match)>();
        int last = 0;
        for (var m = regex.Match(view.Text); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            int start = view.ToOriginal(m.Index), end = view.ToOriginal(m.Index + m.Length);
            if (start > last) spans.Add((last, start, false));
            spans.Add((start, end, true));
            last = end;
        }
        if (last < s.Length) spans.Add((last, s.Length, false));
        if (invert) spans = spans.Select(x => (x.Start, x.End, !x.Match)).ToList();

        var pieces = new List<string>();
        switch (behavior)
        {
            case "Removed":
                pieces.AddRange(spans.Where(x => !x.Match).Select(x => s[x.Start..x.End]));
                break;
            case "Isolated":
                pieces.AddRange(spans.Select(x => s[x.Start..x.End]));
                break;
            case "Contiguous":
                for (int i = 0; i < spans.Count; i++)
                {
                    int start = spans[i].Start, end = spans[i].End;
                    while (spans[i].Match && i + 1 < spans.Count && spans[i + 1].Match) end = spans[++i].End;
                    pieces.Add(s[start..end]);
                }
                break;
            case "MergedWithPrevious":
            {
                var sb = new StringBuilder();
                foreach (var x in spans)
                {
                    sb.Append(s, x.Start, x.End - x.Start);
                    if (x.Match) { pieces.Add(sb.ToString()); sb.Clear(); }
                }
                if (sb.Length > 0) pieces.Add(sb.ToString());
                break;
            }
            case "MergedWithNext":
            {
                var sb = new StringBuilder();
                foreach (var x in spans)
                {
                    if (x.Match && sb.Length > 0) { pieces.Add(sb.ToString()); sb.Clear(); }
                    sb.Append(s, x.Start, x.End - x.Start);
                }
                if (sb.Length > 0) pieces.Add(sb.ToString());
                break;
            }
        }
        return pieces.Where(p => p.Length > 0).ToList();
    }

    bool ReadTemplate(JsonObject post, List<int> prefix, List<int> suffix, string where)
    {
        string type = (string?)post["type"] ?? "";
        if (type == "Sequence")
        {
            bool any = false;
            foreach (var child in post["processors"] as JsonArray ?? new JsonArray()) any |= ReadTemplate((JsonObject)child!, prefix, suffix, where);
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
                    : TokenToId(name) ?? throw new CheckpointException($"{where}: template token '{name}' is not in the vocabulary");
                (seenSequence ? suffix : prefix).Add(id);
            }
        }
        return true;
    }

    int? SpecialFromConfig(JsonObject? config, string key)
    {
        var node = config?[key];
        string? content = node switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonObject o => (string?)o["content"],
            _ => null,
        };
        return content == null ? null : TokenToId(content);
    }
}
