using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

namespace DeepSeek.Search.Text.Tokenization;

/// <summary>A token of <c>added_tokens</c> in <c>tokenizer.json</c> (special or not): matched in the raw text before pre-tokenisation.</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool LeftStrip = false, bool RightStrip = false, bool SingleWord = false);

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> byte-level BPE tokenizer, as DeepSeek ships it (V2, V3, R1: <c>LlamaTokenizerFast</c> with a
/// <c>Sequence</c> of regex <c>Split</c> pre-tokenizers ending in <c>ByteLevel</c>, a BPE model, a <c>ByteLevel</c> decoder), read
/// from the file's own description. The pipeline of the <c>tokenizers</c> library, one type per section (in <c>ByteLevelBpe/</c>):
/// <list type="number">
/// <item><see cref="AddedVocabulary"/> (<c>added_tokens</c>): <c>&lt;｜begin▁of▁sentence｜&gt;</c>, <c>&lt;｜User｜&gt;</c>, ... are split
/// out of the raw text first;</item>
/// <item><see cref="Normalizer"/> (<c>normalizer</c>) rewrites the text between them;</item>
/// <item><see cref="PreTokenizer"/> (<c>pre_tokenizer</c>) cuts it into words of <see cref="ByteLevel"/> characters;</item>
/// <item><see cref="BpeModel"/> (<c>model</c>) merges each word into vocabulary ids;</item>
/// <item><see cref="TemplatePostProcessor"/> (<c>post_processor</c>, else <c>tokenizer_config.json</c>'s
/// <c>add_bos_token</c>/<c>add_eos_token</c>) adds BOS/EOS;</item>
/// <item><see cref="ByteLevelDecoder"/> (<c>decoder</c>) turns ids back into text.</item>
/// </list>
/// Checked on the DeepSeek-V3 tokenizer against the transformers.js implementation (ids identical on English, code, CJK, kana,
/// digits, whitespace runs, emoji and special tokens). Thread-safe after construction.
/// </summary>
public sealed class ByteLevelBpeTokenizer
{
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    readonly AddedVocabulary _added;
    readonly Normalizer? _normalizer;
    readonly PreTokenizer _preTokenizer;
    readonly BpeModel _model;
    readonly TemplatePostProcessor _postProcessor;
    readonly string[] _idToToken;
    readonly bool _cleanUpSpaces;

    ByteLevelBpeTokenizer(JsonObject root, JsonObject? config, string where)
    {
        var model = BpeModel.FromJson(root["model"] as JsonObject ?? throw new CheckpointException($"{where}: no \"model\""), where);
        _added = AddedVocabulary.FromJson(root["added_tokens"] as JsonArray);
        AddedTokens = _added.Tokens;

        var vocab = model.Vocab;
        int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, AddedTokens.Count == 0 ? 0 : AddedTokens.Max(a => a.Id) + 1);
        _idToToken = new string[size];
        foreach (var (token, id) in vocab) _idToToken[id] = token;
        foreach (var a in AddedTokens) _idToToken[a.Id] = a.Content;
        _model = model.UnkToken is string unk && (model.TokenToId(unk) ?? _added.IdOf(unk)) is int u ? model.WithUnknownId(u) : model;

        _normalizer = Normalizer.FromJson(root["normalizer"] as JsonObject, where);
        _preTokenizer = PreTokenizer.FromJson(root["pre_tokenizer"] as JsonObject, where);

        _postProcessor = TemplatePostProcessor.FromJson(root["post_processor"] as JsonObject, TokenToId, where)
            ?? (config == null ? TemplatePostProcessor.None : TemplatePostProcessor.BosEos(
                config["add_bos_token"]?.GetValue<bool>() == true ? SpecialFromConfig(config, "bos_token") : null,
                config["add_eos_token"]?.GetValue<bool>() == true ? SpecialFromConfig(config, "eos_token") : null));
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

    public int? TokenToId(string token) => _model.TokenToId(token) ?? _added.IdOf(token);

    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Whether <paramref name="id"/> is a special added token (skipped by <see cref="Decode"/> with skipSpecialTokens).</summary>
    public bool IsSpecial(int id) => _added.TryGet(id, out var a) && a.Special;

    /// <summary>
    /// Token ids of <paramref name="text"/>. <paramref name="addSpecialTokens"/> adds the post-processor's tokens (BOS for DeepSeek).
    /// Special-token text in <paramref name="text"/> becomes the special token unless <paramref name="splitSpecialTokens"/> is set,
    /// in which case it is encoded as plain text (use that for untrusted input).
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = true, bool splitSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        foreach (var (segment, addedId) in _added.Split(text, splitSpecialTokens))
        {
            if (addedId is int a) { ids.Add(a); continue; }
            foreach (var word in PreTokenize(segment)) ids.AddRange(_model.Tokenize(word));
        }
        return addSpecialTokens ? _postProcessor.Process(ids) : ids.ToArray();
    }

    /// <summary>
    /// The byte-level words of <paramref name="text"/> that the BPE model sees: normalizers and pre-tokenizers applied, added tokens
    /// treated as plain text (what <c>BpeTrainer</c> counts, so learned merges apply to exactly these pieces).
    /// </summary>
    public List<string> PreTokenize(string text) =>
        _preTokenizer.PreTokenize(new List<string> { _normalizer?.Normalize(text) ?? text });

    /// <summary>The 256 characters GPT-2's byte-level alphabet maps the bytes 0..255 to.</summary>
    public static IReadOnlyList<char> ByteAlphabet => ByteLevel.Alphabet;

    /// <summary>Text of <paramref name="ids"/>: byte-level pieces are joined and decoded as UTF-8 (invalid bytes become U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        string text = ByteLevelDecoder.Decode(Pieces(ids, skipSpecialTokens));
        return _cleanUpSpaces ? ByteLevelDecoder.CleanUpTokenizationSpaces(text) : text;
    }

    /// <summary>What <see cref="ByteLevelDecoder"/> joins: vocabulary tokens, and added tokens verbatim (a skipped one as "", still ending a byte run).</summary>
    IEnumerable<(string Text, bool Verbatim)> Pieces(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        foreach (int id in ids)
        {
            if (_added.TryGet(id, out var added)) yield return (skipSpecialTokens && added.Special ? "" : added.Content, true);
            else yield return (IdToToken(id) ?? throw new InvalidInputException($"token id {id} is outside the vocabulary of {VocabSize}"), false);
        }
    }

    /// <summary>HF <c>SplitDelimiterBehavior</c> over code points; empty pieces are dropped.</summary>
    public static List<string> Split(string s, Regex regex, string behavior, bool invert) => SplitPreTokenizer.Split(s, regex, behavior, invert);

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
