using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Encode;

/// <summary>
/// The <c>dual_encoder.json</c> of an encoder folder (every key optional):
/// <code>
/// {
///   "name": "minilm-l6",          // identity name; default: the folder name
///   "pooling": "mean",            // "mean" | "cls"
///   "normalize": true,            // L2-normalise embeddings
///   "max_query_length": 64,       // tokens, [CLS]/[SEP] included
///   "max_document_length": 256,
///   "tied": true,                 // false: separate towers in query/ and document/
///   "query_prefix": "",           // text put before every query (e.g. "query: " for E5 models)
///   "document_prefix": "",
///   "hybrid_fusion": "minmax",    // how hybrid search fuses BM25 with this encoder by default: "rrf" | "minmax"
///   "hybrid_alpha": 0.3           // the dense weight of minmax fusion (dss train records what suits its supervision)
/// }
/// </code>
/// When the file is absent: a sentence-transformers folder's <c>1_Pooling/config.json</c>, <c>modules.json</c> (Normalize) and
/// <c>sentence_bert_config.json</c> (max_seq_length) give pooling, normalisation and document length; otherwise the defaults
/// mean / true / 64 / 256; <c>tied</c> is false only when the folder has both <c>query/</c> and <c>document/</c> checkpoints.
/// </summary>
public sealed record DualEncoderConfig
{
    public const string FileName = "dual_encoder.json";

    /// <summary>Document length of a folder that declares none (no dual_encoder.json, no sentence_bert_config.json).</summary>
    public const int BareFolderMaxLength = 128;

    public string? Name { get; init; }
    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;
    public bool Normalize { get; init; } = true;
    public int MaxQueryLength { get; init; } = 64;
    public int MaxDocumentLength { get; init; } = 256;
    public bool Tied { get; init; } = true;
    public string QueryPrefix { get; init; } = "";
    public string DocumentPrefix { get; init; } = "";
    /// <summary>The fusion hybrid search uses with this encoder unless told otherwise ("rrf" or "minmax"); null: the engine's default.</summary>
    public string? HybridFusion { get; init; }
    /// <summary>The dense weight of min-max fusion with this encoder, in [0, 1]; null: the engine's default.</summary>
    public float? HybridAlpha { get; init; }

    public void Validate()
    {
        if (HybridFusion is not null and not "rrf" and not "minmax") throw new InvalidInputException($"hybrid_fusion must be rrf or minmax (got '{HybridFusion}')");
        if (HybridAlpha is float a && !(a >= 0 && a <= 1)) throw new InvalidInputException($"hybrid_alpha must be in [0, 1] (got {a})");
        if (MaxQueryLength < 2) throw new InvalidInputException($"max_query_length must be at least 2 (got {MaxQueryLength})");
        if (MaxDocumentLength < 2) throw new InvalidInputException($"max_document_length must be at least 2 (got {MaxDocumentLength})");
    }

    /// <summary>Reads the folder's settings (see the type remarks); problems are <see cref="CheckpointException"/>s.</summary>
    public static DualEncoderConfig Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        bool split = File.Exists(Path.Combine(dir, "query", BertCheckpoint.ConfigFile)) && File.Exists(Path.Combine(dir, "document", BertCheckpoint.ConfigFile));
        if (!File.Exists(path)) return FromSentenceTransformers(dir) with { Tied = !split };

        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new CheckpointException($"{path}: invalid JSON ({e.Message})", e); }
        try
        {
            var d = new DualEncoderConfig();
            var c = new DualEncoderConfig
            {
                Name = o["name"]?.GetValue<string>(),
                Pooling = o["pooling"] is JsonValue p ? Encode.Pooling.Parse(p.GetValue<string>()) : d.Pooling,
                Normalize = o["normalize"]?.GetValue<bool>() ?? d.Normalize,
                MaxQueryLength = o["max_query_length"]?.GetValue<int>() ?? d.MaxQueryLength,
                MaxDocumentLength = o["max_document_length"]?.GetValue<int>() ?? d.MaxDocumentLength,
                Tied = o["tied"]?.GetValue<bool>() ?? !split,
                QueryPrefix = o["query_prefix"]?.GetValue<string>() ?? "",
                DocumentPrefix = o["document_prefix"]?.GetValue<string>() ?? "",
                HybridFusion = o["hybrid_fusion"]?.GetValue<string>(),
                HybridAlpha = o["hybrid_alpha"] is JsonValue ha ? (float)ha.GetValue<double>() : null,
            };
            c.Validate();
            return c;
        }
        catch (InvalidInputException e) { throw new CheckpointException($"{path}: {e.Message}", e); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: a setting has the wrong type ({e.Message})", e);
        }
    }

    /// <summary>
    /// Settings of a folder without dual_encoder.json: from sentence-transformers' files where present; otherwise those of
    /// a bare Hugging Face BertModel, which declares no normalisation: mean pooling, raw (unnormalised) vectors, and
    /// 128-token documents (the length the bert-golden fixtures were made at).
    /// </summary>
    static DualEncoderConfig FromSentenceTransformers(string dir)
    {
        var c = new DualEncoderConfig { Normalize = false, MaxDocumentLength = BareFolderMaxLength };
        try
        {
            string pooling = Path.Combine(dir, "1_Pooling", "config.json");
            if (File.Exists(pooling) && JsonNode.Parse(File.ReadAllText(pooling)) is JsonObject p)
            {
                if (p["pooling_mode_cls_token"]?.GetValue<bool>() == true) c = c with { Pooling = PoolingMode.Cls };
                else if (p["pooling_mode_mean_tokens"]?.GetValue<bool>() == true) c = c with { Pooling = PoolingMode.Mean };
            }
            string modules = Path.Combine(dir, "modules.json");
            if (File.Exists(modules) && JsonNode.Parse(File.ReadAllText(modules)) is JsonArray m)
                c = c with { Normalize = m.OfType<JsonObject>().Any(x => (x["type"]?.GetValue<string>() ?? "").EndsWith(".Normalize", StringComparison.Ordinal)) };
            string sbert = Path.Combine(dir, "sentence_bert_config.json");
            if (File.Exists(sbert) && JsonNode.Parse(File.ReadAllText(sbert)) is JsonObject s && s["max_seq_length"] is JsonValue len)
                c = c with { MaxDocumentLength = len.GetValue<int>() };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{dir}: unreadable sentence-transformers settings ({e.Message})", e);
        }
        return c;
    }

    /// <summary>Writes <c>dual_encoder.json</c> into <paramref name="dir"/>.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var o = new JsonObject();
        if (Name != null) o["name"] = Name;
        o["pooling"] = Encode.Pooling.Name(Pooling);
        o["normalize"] = Normalize;
        o["max_query_length"] = MaxQueryLength;
        o["max_document_length"] = MaxDocumentLength;
        o["tied"] = Tied;
        if (QueryPrefix.Length > 0) o["query_prefix"] = QueryPrefix;
        if (DocumentPrefix.Length > 0) o["document_prefix"] = DocumentPrefix;
        if (HybridFusion != null) o["hybrid_fusion"] = HybridFusion;
        if (HybridAlpha is float alpha) o["hybrid_alpha"] = Math.Round(alpha, 4);
        AtomicFile.WriteAllText(Path.Combine(dir, FileName), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
