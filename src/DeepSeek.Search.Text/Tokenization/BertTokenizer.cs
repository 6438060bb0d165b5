using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Text.Tokenization;

/// <summary>
/// Hugging Face-exact BERT WordPiece tokenizer: the ids equal those of <c>transformers.BertTokenizerFast</c> (Rust tokenizers'
/// BertNormalizer + BertPreTokenizer + WordPiece + <c>[CLS] $A [SEP]</c> template), checked against
/// <c>fixtures/bert-golden/tokenizer_golden.json</c> (all-MiniLM-L6-v2 vocabulary: accents, CJK, URLs, symbols, empty text, truncation).
/// Every piece carries its character span in the input text, which <see cref="Chunking.TextChunker"/> relies on.
/// <para>
/// Special tokens (<c>[CLS] [SEP] [PAD] [UNK] [MASK]</c>, or a tokenizer.json's special added tokens) written literally in the text are
/// recognised and kept whole, as HF does by default (see <see cref="BertTokenizerOptions.RecognizeSpecialTokens"/>).
/// Instances are immutable and thread-safe.
/// </para>
/// </summary>
public sealed class BertTokenizer
{
    readonly Dictionary<string, int> _vocab;
    readonly string?[] _idToToken;
    readonly BertBasicTokenizer _basic;
    readonly WordPiece _wordPiece;
    readonly (string Text, int Id)[] _specials; // longest first
    readonly string _specialFirstChars;

    BertTokenizer(Dictionary<string, int> vocab, BertTokenizerOptions options, IEnumerable<string>? specialTokens)
    {
        if (options.MaxLength < 2) throw new InvalidInputException($"tokenizer MaxLength must be at least 2 (got {options.MaxLength})");
        if (options.MaxInputCharsPerWord < 1) throw new InvalidInputException($"tokenizer MaxInputCharsPerWord must be positive (got {options.MaxInputCharsPerWord})");
        _vocab = vocab;
        Options = options;
        VocabSize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        _idToToken = new string?[VocabSize];
        foreach (var (token, id) in vocab)
            if (id < 0) throw new CheckpointException($"vocabulary token '{token}' has a negative id {id}");
            else _idToToken[id] ??= token;

        UnkId = Require(options.UnkToken, "unknown");
        ClsId = Require(options.ClsToken, "classifier");
        SepId = Require(options.SepToken, "separator");
        PadId = Require(options.PadToken, "padding");
        MaskId = vocab.TryGetValue(options.MaskToken, out var m) ? m : null;

        _basic = new BertBasicTokenizer(options);
        _wordPiece = new WordPiece(vocab, options.ContinuingSubwordPrefix, options.MaxInputCharsPerWord, UnkId);

        var specials = specialTokens ?? new[] { options.PadToken, options.UnkToken, options.ClsToken, options.SepToken, options.MaskToken };
        _specials = options.RecognizeSpecialTokens
            ? specials.Where(s => !string.IsNullOrEmpty(s) && vocab.ContainsKey(s)).Distinct()
                .Select(s => (s, vocab[s])).OrderByDescending(p => p.s.Length).ThenBy(p => p.s, StringComparer.Ordinal).ToArray()
            : [];
        _specialFirstChars = new string(_specials.Select(s => s.Text[0]).Distinct().ToArray());

        int Require(string token, string what) => vocab.TryGetValue(token, out var id)
            ? id
            : throw new CheckpointException($"the vocabulary has no {what} token '{token}'");
    }

    /// <summary>Settings in effect.</summary>
    public BertTokenizerOptions Options { get; }

    /// <summary>Number of ids (highest id + 1): the size of the model's word embedding table.</summary>
    public int VocabSize { get; }

    public int ClsId { get; }
    public int SepId { get; }
    public int PadId { get; }
    public int UnkId { get; }
    public int? MaskId { get; }

    /// <summary>Creates a tokenizer from a BERT <c>vocab.txt</c> (one token per line, id = line number).</summary>
    public static BertTokenizer FromVocabFile(string path, BertTokenizerOptions? options = null)
    {
        if (!File.Exists(path)) throw new CheckpointException($"vocabulary file not found: {path}");
        return FromVocabulary(ReadVocabTxt(path), options);
    }

    /// <summary>Number of entries in the bundled vocabulary (Google BERT uncased, also bert-base-uncased and all-MiniLM-L6-v2).</summary>
    public const int BundledUncasedVocabularySize = 30522;

    /// <summary>
    /// A tokenizer over the vocabulary embedded in this assembly: Google BERT's uncased WordPiece vocabulary
    /// (30,522 entries, Apache-2.0), lower-casing and stripping accents as bert-base-uncased does.
    /// </summary>
    public static BertTokenizer BundledUncased()
    {
        using var stream = typeof(BertTokenizer).Assembly.GetManifestResourceStream("DeepSeek.Search.Text.bert-base-uncased-vocab.txt")
            ?? throw new InvalidOperationException("bundled vocabulary resource missing from the assembly");
        using var reader = new StreamReader(stream);
        var tokens = new List<string>(BundledUncasedVocabularySize);
        while (reader.ReadLine() is { } line) tokens.Add(line.TrimEnd('\r'));
        return FromVocabulary(tokens, new BertTokenizerOptions { LowerCase = true });
    }

    /// <summary>Creates a tokenizer from tokens in id order.</summary>
    public static BertTokenizer FromVocabulary(IEnumerable<string> tokens, BertTokenizerOptions? options = null)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int i = 0;
        foreach (var t in tokens) vocab[t] = i++; // a repeated token keeps its last line, as HF's load_vocab does
        if (vocab.Count == 0) throw new CheckpointException("the vocabulary is empty");
        return new BertTokenizer(vocab, options ?? new BertTokenizerOptions(), null);
    }

    /// <summary>
    /// Creates a tokenizer from a Hugging Face model or tokenizer folder: the vocabulary from <c>vocab.txt</c>, or else from
    /// <c>tokenizer.json</c>'s WordPiece model; settings from tokenizer.json's BertNormalizer and WordPiece model, then
    /// <c>tokenizer_config.json</c> (<c>do_lower_case</c>, <c>strip_accents</c>, <c>tokenize_chinese_chars</c>, special tokens,
    /// <c>model_max_length</c>), which wins where both speak, as in <c>BertTokenizerFast</c>.
    /// </summary>
    public static BertTokenizer FromFolder(string dir)
    {
        if (!Directory.Exists(dir)) throw new CheckpointException($"tokenizer folder not found: {dir}");
        string vocabTxt = Path.Combine(dir, "vocab.txt");
        string tokJson = Path.Combine(dir, "tokenizer.json");
        string tokConfig = Path.Combine(dir, "tokenizer_config.json");
        string specialMap = Path.Combine(dir, "special_tokens_map.json");
        if (!File.Exists(vocabTxt) && !File.Exists(tokJson))
            throw new CheckpointException($"no tokenizer in {dir}: expected vocab.txt or tokenizer.json");

        var options = new BertTokenizerOptions();
        Dictionary<string, int>? vocab = null;
        List<string>? specials = null;

        if (File.Exists(tokJson))
        {
            var root = ParseJson(tokJson);
            var model = root["model"] as JsonObject ?? throw new CheckpointException($"{tokJson}: no 'model' section");
            string type = model["type"]?.GetValue<string>() ?? "";
            if (type != "WordPiece")
                throw new CheckpointException($"{tokJson}: the model is '{type}', not a BERT WordPiece tokenizer");
            options = options with
            {
                UnkToken = model["unk_token"]?.GetValue<string>() ?? options.UnkToken,
                ContinuingSubwordPrefix = model["continuing_subword_prefix"]?.GetValue<string>() ?? options.ContinuingSubwordPrefix,
                MaxInputCharsPerWord = model["max_input_chars_per_word"]?.GetValue<int>() ?? options.MaxInputCharsPerWord,
            };
            if (root["normalizer"] is JsonObject norm && norm["type"]?.GetValue<string>() == "BertNormalizer")
            {
                options = options with
                {
                    LowerCase = norm["lowercase"]?.GetValue<bool>() ?? options.LowerCase,
                    StripAccents = norm["strip_accents"] is JsonValue sa ? sa.GetValue<bool>() : null,
                    TokenizeChineseChars = norm["handle_chinese_chars"]?.GetValue<bool>() ?? options.TokenizeChineseChars,
                    CleanText = norm["clean_text"]?.GetValue<bool>() ?? options.CleanText,
                };
            }
            if (root["added_tokens"] is JsonArray added)
                specials = added.OfType<JsonObject>().Where(a => a["special"]?.GetValue<bool>() == true)
                    .Select(a => a["content"]?.GetValue<string>()).OfType<string>().ToList();
            if (!File.Exists(vocabTxt))
            {
                var v = model["vocab"] as JsonObject ?? throw new CheckpointException($"{tokJson}: the WordPiece model has no vocab");
                vocab = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var (token, id) in v) vocab[token] = id!.GetValue<int>();
                if (root["added_tokens"] is JsonArray add2)
                    foreach (var a in add2.OfType<JsonObject>())
                        if (a["content"]?.GetValue<string>() is string c && a["id"] is JsonNode idNode) vocab.TryAdd(c, idNode.GetValue<int>());
            }
        }

        foreach (var cfgPath in new[] { specialMap, tokConfig })
        {
            if (!File.Exists(cfgPath)) continue;
            var cfg = ParseJson(cfgPath);
            options = options with
            {
                UnkToken = TokenName(cfg["unk_token"]) ?? options.UnkToken,
                ClsToken = TokenName(cfg["cls_token"]) ?? options.ClsToken,
                SepToken = TokenName(cfg["sep_token"]) ?? options.SepToken,
                PadToken = TokenName(cfg["pad_token"]) ?? options.PadToken,
                MaskToken = TokenName(cfg["mask_token"]) ?? options.MaskToken,
            };
            if (cfgPath == tokConfig)
            {
                if (cfg["do_lower_case"] is JsonValue lc) options = options with { LowerCase = lc.GetValue<bool>() };
                if (cfg.ContainsKey("strip_accents"))
                    options = options with { StripAccents = cfg["strip_accents"] is JsonValue sa ? sa.GetValue<bool>() : null };
                if (cfg["tokenize_chinese_chars"] is JsonValue tc) options = options with { TokenizeChineseChars = tc.GetValue<bool>() };
                if (cfg["model_max_length"] is JsonValue ml && ml.TryGetValue<double>(out var max) && max >= 2 && max <= 1_000_000)
                    options = options with { MaxLength = (int)max };
            }
        }

        vocab ??= FromVocabulary(ReadVocabTxt(vocabTxt), options)._vocab;
        if (specials != null)
            specials.AddRange(new[] { options.PadToken, options.UnkToken, options.ClsToken, options.SepToken, options.MaskToken });
        return new BertTokenizer(vocab, options, specials);

        static string? TokenName(JsonNode? n) => n switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonObject o => o["content"]?.GetValue<string>(),
            _ => null,
        };
    }

    static JsonObject ParseJson(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object");
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: invalid JSON ({e.Message})", e); }
        catch (InvalidOperationException e) { throw new CheckpointException($"{path}: unexpected value type ({e.Message})", e); }
    }

    static List<string> ReadVocabTxt(string path)
    {
        // One token per line; like HF's load_vocab, a final newline does not add an empty token.
        return File.ReadAllLines(path).ToList();
    }

    /// <summary>
    /// Writes <c>vocab.txt</c> (one token per id; gaps of a tokenizer.json vocabulary become <c>[unused_gapN]</c>) and a
    /// <c>tokenizer_config.json</c> with the casing, accent, CJK, special-token and length settings, so that <see cref="FromFolder"/>
    /// (and HF's <c>BertTokenizerFast.from_pretrained</c>) read the same tokenizer back.
    /// </summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var lines = new string[VocabSize];
        for (int i = 0; i < VocabSize; i++) lines[i] = _idToToken[i] ?? $"[unused_gap{i}]";
        File.WriteAllText(Path.Combine(dir, "vocab.txt"), string.Join("\n", lines) + "\n");
        var cfg = new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = Options.LowerCase,
            ["strip_accents"] = Options.StripAccents is bool b ? JsonValue.Create(b) : null,
            ["tokenize_chinese_chars"] = Options.TokenizeChineseChars,
            ["unk_token"] = Options.UnkToken,
            ["cls_token"] = Options.ClsToken,
            ["sep_token"] = Options.SepToken,
            ["pad_token"] = Options.PadToken,
            ["mask_token"] = Options.MaskToken,
            ["model_max_length"] = Options.MaxLength,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The token of an id.</summary>
    public string IdToToken(int id) =>
        id >= 0 && id < _idToToken.Length && _idToToken[id] is string t ? t : throw new ArgumentOutOfRangeException(nameof(id), $"id {id} is not in the vocabulary");

    /// <summary>The token of an id, false for ids outside the vocabulary (or gaps in a tokenizer.json vocabulary).</summary>
    public bool TryGetToken(int id, [NotNullWhen(true)] out string? token)
    {
        token = id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;
        return token != null;
    }

    /// <summary>The id of a vocabulary entry, or null.</summary>
    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    /// <summary>Tokens of a sequence of ids (e.g. <see cref="BertEncoding.Ids"/>).</summary>
    public IReadOnlyList<string> ConvertIdsToTokens(IEnumerable<int> ids) => ids.Select(IdToToken).ToList();

    /// <summary>
    /// The wordpieces of <paramref name="text"/> with their character spans, no special tokens added and no truncation.
    /// </summary>
    public IReadOnlyList<TokenSpan> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<TokenSpan>();
        int segStart = 0;
        if (_specials.Length > 0)
        {
            int i = 0;
            while (i < text.Length)
            {
                int rel = text.AsSpan(i).IndexOfAny(_specialFirstChars);
                if (rel < 0) break;
                i += rel;
                int m = MatchSpecial(text, i);
                if (m < 0) { i++; continue; }
                TokenizeSegment(text, segStart, i, output);
                var (s, id) = _specials[m];
                output.Add(new TokenSpan(id, i, i + s.Length));
                i += s.Length;
                segStart = i;
            }
        }
        TokenizeSegment(text, segStart, text.Length, output);
        return output;
    }

    /// <summary>Index in <see cref="_specials"/> of the longest special token starting at <paramref name="at"/>, or -1.</summary>
    int MatchSpecial(string text, int at)
    {
        for (int k = 0; k < _specials.Length; k++)
            if (text.AsSpan(at).StartsWith(_specials[k].Text, StringComparison.Ordinal)) return k;
        return -1;
    }

    void TokenizeSegment(string text, int from, int to, List<TokenSpan> output)
    {
        if (from >= to) return;
        var norm = new BertBasicTokenizer.Normalized();
        _basic.Normalize(text, from, to, norm);
        var words = new List<(int Start, int End)>();
        BertBasicTokenizer.Split(norm.Text, words);
        if (words.Count == 0) return;
        string normalized = norm.Text.ToString();
        var pieces = new List<(int Id, int Start, int End)>();
        foreach (var (ws, we) in words)
        {
            pieces.Clear();
            _wordPiece.Tokenize(normalized.AsSpan(ws, we - ws), pieces);
            foreach (var (id, ps, pe) in pieces)
                output.Add(new TokenSpan(id, norm.Start[ws + ps], norm.End[ws + pe - 1]));
        }
    }

    /// <summary>Encodes with <see cref="BertTokenizerOptions.MaxLength"/>.</summary>
    public BertEncoding Encode(string text) => Encode(text, Options.MaxLength);

    /// <summary>
    /// <c>[CLS] pieces [SEP]</c>, pieces cut so that the whole sequence has at most <paramref name="maxLength"/> tokens
    /// (HF <c>truncation=True, max_length=maxLength</c>).
    /// </summary>
    public BertEncoding Encode(string text, int maxLength)
    {
        if (maxLength < 2) throw new InvalidInputException($"maxLength must be at least 2 to hold [CLS] and [SEP] (got {maxLength})");
        var pieces = Tokenize(text);
        int keep = Math.Min(pieces.Count, maxLength - 2);
        var ids = new int[keep + 2];
        var offsets = new (int, int)[keep + 2];
        var special = new bool[keep + 2];
        ids[0] = ClsId; special[0] = true;
        for (int i = 0; i < keep; i++)
        {
            ids[i + 1] = pieces[i].Id;
            offsets[i + 1] = (pieces[i].Start, pieces[i].End);
        }
        ids[keep + 1] = SepId; special[keep + 1] = true;
        return new BertEncoding(ids, offsets, special, pieces.Count + 2);
    }

    /// <summary>Encodes every text (each truncated to <paramref name="maxLength"/>) and pads the batch to its longest sequence.</summary>
    public BertBatchEncoding EncodeBatch(IReadOnlyList<string> texts, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (maxLength < 2) throw new InvalidInputException($"maxLength must be at least 2 to hold [CLS] and [SEP] (got {maxLength})");
        var items = new BertEncoding[texts.Count];
        if (texts.Count >= 64)
            Parallel.For(0, texts.Count, i => items[i] = Encode(texts[i], maxLength));
        else
            for (int i = 0; i < texts.Count; i++) items[i] = Encode(texts[i], maxLength);
        return new BertBatchEncoding(items, PadId);
    }

    /// <summary>Encodes with <see cref="BertTokenizerOptions.MaxLength"/> and pads to the longest.</summary>
    public BertBatchEncoding EncodeBatch(IReadOnlyList<string> texts) => EncodeBatch(texts, Options.MaxLength);
}
