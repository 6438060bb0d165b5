using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Generate;

/// <summary>Which DeepSeek family a config describes: it decides the router (V2 softmax, V3 sigmoid with a correction bias).</summary>
public enum DeepSeekVersion { V2, V3 }

/// <summary>
/// The hyper-parameters of a DeepSeek-V2 or DeepSeek-V3 causal LM, as in a Hugging Face <c>config.json</c> (<c>model_type</c>
/// <c>deepseek_v2</c> or <c>deepseek_v3</c>), read in both the transformers 4.x style (<c>rope_theta</c> + <c>rope_scaling</c>) and the
/// 5.x style (<c>rope_parameters</c>); integers are accepted where floats are expected and the official configs' <c>q_lora_rank: 0</c>
/// means no q-LoRA. Defaults are those of the transformers 5.x config classes for the model type (they differ between V2 and V3).
/// Keys this engine does not use are kept (<see cref="Source"/>) and written back by <see cref="Save"/>.
/// </summary>
public sealed record DeepSeekConfig
{
    public const string FileName = "config.json";

    public DeepSeekVersion Version { get; init; } = DeepSeekVersion.V3;
    public int VocabSize { get; init; } = 129280;
    public int HiddenSize { get; init; } = 7168;
    public int IntermediateSize { get; init; } = 18432;
    public int MoeIntermediateSize { get; init; } = 2048;
    public int NumHiddenLayers { get; init; } = 61;
    public int NumAttentionHeads { get; init; } = 128;
    public int NumKeyValueHeads { get; init; } = 128;
    public int NSharedExperts { get; init; } = 1;
    public int NRoutedExperts { get; init; } = 256;
    public double RoutedScalingFactor { get; init; } = 2.5;
    public int KvLoraRank { get; init; } = 512;

    /// <summary>Rank of the query compression; null = a single <c>q_proj</c>.</summary>
    public int? QLoraRank { get; init; } = 1536;
    public int QkRopeHeadDim { get; init; } = 64;
    public int QkNopeHeadDim { get; init; } = 128;
    public int VHeadDim { get; init; } = 128;
    public int? NGroup { get; init; } = 8;
    public int? TopkGroup { get; init; } = 4;
    public int NumExpertsPerTok { get; init; } = 8;
    public int FirstKDenseReplace { get; init; } = 3;
    public bool NormTopkProb { get; init; } = true;

    /// <summary>V2 routing: <c>greedy</c> or <c>group_limited_greedy</c>; V3: <c>noaux_tc</c> (the only one).</summary>
    public string TopkMethod { get; init; } = "noaux_tc";
    public RopeParameters Rope { get; init; } = new();
    public bool RopeInterleave { get; init; } = true;
    public int MaxPositionEmbeddings { get; init; } = 4096;
    public double RmsNormEps { get; init; } = 1e-6;
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public int? BosTokenId { get; init; } = 0;
    public IReadOnlyList<int> EosTokenIds { get; init; } = new[] { 1 };
    public int? PadTokenId { get; init; }
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Layers beyond <see cref="NumHiddenLayers"/> that hold multi-token-prediction weights (ignored on load).</summary>
    public int NumNextnPredictLayers { get; init; }

    /// <summary>FP8 block size [rows, columns] from <c>quantization_config.weight_block_size</c>; null when the weights are not FP8.</summary>
    public int[]? Fp8BlockSize { get; init; }

    /// <summary>The <c>config.json</c> this was read from (null for configs made in code).</summary>
    public JsonObject? Source { get; init; }

    public string ModelType => Version == DeepSeekVersion.V3 ? "deepseek_v3" : "deepseek_v2";
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    /// <summary>The attention softmax scale: (dn+dr)^-½ · m² (HF <c>DeepseekV3Attention.scaling</c>; HF V2 omits m², see remarks).</summary>
    public double SoftmaxScale => Math.Pow(QkHeadDim, -0.5) * Rope.SoftmaxScaleFactor;

    /// <summary>Whether layer <paramref name="layer"/> has a mixture-of-experts MLP.</summary>
    public bool IsMoeLayer(int layer) => layer >= FirstKDenseReplace && NRoutedExperts > 0;

    /// <summary>The transformers 5.x DeepseekV2Config defaults (V2-Lite-like shape).</summary>
    public static DeepSeekConfig V2Defaults => new()
    {
        Version = DeepSeekVersion.V2, VocabSize = 32000, HiddenSize = 4096, IntermediateSize = 11008, MoeIntermediateSize = 1407,
        NumHiddenLayers = 32, NumAttentionHeads = 32, NumKeyValueHeads = 32, NSharedExperts = 2, NRoutedExperts = 64,
        RoutedScalingFactor = 1.0, KvLoraRank = 512, QLoraRank = 1536, NGroup = null, TopkGroup = null, NumExpertsPerTok = 6,
        FirstKDenseReplace = 0, NormTopkProb = false, TopkMethod = "greedy", MaxPositionEmbeddings = 2048, BosTokenId = 1,
        EosTokenIds = new[] { 2 },
    };

    static readonly string[] Activations = { "silu", "swish", "gelu", "gelu_pytorch_tanh", "gelu_new", "relu" };

    /// <summary>Throws <see cref="CheckpointException"/> naming the first inconsistent setting.</summary>
    public void Validate(string where = "config")
    {
        void Positive(long v, string name) { if (v <= 0) throw new CheckpointException($"{where}: {name} must be positive (got {v})"); }
        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(KvLoraRank, "kv_lora_rank");
        Positive(QkRopeHeadDim, "qk_rope_head_dim");
        Positive(VHeadDim, "v_head_dim");
        if (QkNopeHeadDim < 0) throw new CheckpointException($"{where}: qk_nope_head_dim must not be negative");
        if (QkRopeHeadDim % 2 != 0) throw new CheckpointException($"{where}: qk_rope_head_dim must be even (got {QkRopeHeadDim})");
        if (QLoraRank is int q && q <= 0) throw new CheckpointException($"{where}: q_lora_rank must be positive or null (got {q})");
        if (NumKeyValueHeads != NumAttentionHeads)
            throw new CheckpointException($"{where}: num_key_value_heads ({NumKeyValueHeads}) must equal num_attention_heads ({NumAttentionHeads}) for MLA");
        if (FirstKDenseReplace > 0 || NRoutedExperts <= 0) Positive(IntermediateSize, "intermediate_size");
        if (FirstKDenseReplace < 0) throw new CheckpointException($"{where}: first_k_dense_replace must not be negative");
        if (!(RmsNormEps > 0)) throw new CheckpointException($"{where}: rms_norm_eps must be positive (got {RmsNormEps})");
        if (!Activations.Contains(HiddenAct)) throw new CheckpointException($"{where}: unsupported hidden_act '{HiddenAct}' (supported: {string.Join(", ", Activations)})");
        Rope.Validate(where);
        if (NRoutedExperts > 0 && FirstKDenseReplace < NumHiddenLayers)
        {
            Positive(MoeIntermediateSize, "moe_intermediate_size");
            Positive(NumExpertsPerTok, "num_experts_per_tok");
            if (NSharedExperts < 0) throw new CheckpointException($"{where}: n_shared_experts must not be negative");
            if (NumExpertsPerTok > NRoutedExperts)
                throw new CheckpointException($"{where}: num_experts_per_tok ({NumExpertsPerTok}) is more than n_routed_experts ({NRoutedExperts})");
            bool grouped = Version == DeepSeekVersion.V3 || TopkMethod == "group_limited_greedy";
            if (Version == DeepSeekVersion.V2 && TopkMethod is not ("greedy" or "group_limited_greedy"))
                throw new CheckpointException($"{where}: unsupported topk_method '{TopkMethod}' for deepseek_v2 (greedy, group_limited_greedy)");
            if (grouped)
            {
                int groups = NGroup ?? 1, keep = TopkGroup ?? groups;
                if (groups <= 0 || NRoutedExperts % groups != 0)
                    throw new CheckpointException($"{where}: n_routed_experts ({NRoutedExperts}) must be a positive multiple of n_group ({groups})");
                if (Version == DeepSeekVersion.V3 && NRoutedExperts / groups < 2)
                    throw new CheckpointException($"{where}: each expert group needs at least 2 experts (n_routed_experts {NRoutedExperts}, n_group {groups})");
                if (keep <= 0 || keep > groups) throw new CheckpointException($"{where}: topk_group ({keep}) must be within 1..n_group ({groups})");
                if (keep * (NRoutedExperts / groups) < NumExpertsPerTok)
                    throw new CheckpointException($"{where}: topk_group·experts per group ({keep * (NRoutedExperts / groups)}) is less than num_experts_per_tok ({NumExpertsPerTok})");
            }
        }
        if (BosTokenId is int b && (b < 0 || b >= VocabSize)) throw new CheckpointException($"{where}: bos_token_id {b} is outside the vocabulary");
        foreach (var e in EosTokenIds)
            if (e < 0 || e >= VocabSize) throw new CheckpointException($"{where}: eos_token_id {e} is outside the vocabulary");
    }

    /// <summary>Reads and validates a <c>config.json</c>; problems are <see cref="CheckpointException"/>s naming the file.</summary>
    public static DeepSeekConfig Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"model config not found: {path}");
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new CheckpointException($"{path}: invalid JSON ({e.Message})", e); }
        return FromJson(o, path);
    }

    /// <summary>Parses a config object (see the type remarks); <paramref name="where"/> names it in errors.</summary>
    public static DeepSeekConfig FromJson(JsonObject o, string where = "config")
    {
        string? modelType = Str(o, "model_type", where);
        var version = modelType switch
        {
            "deepseek_v3" => DeepSeekVersion.V3,
            "deepseek_v2" => DeepSeekVersion.V2,
            null => throw new CheckpointException($"{where}: no model_type (expected deepseek_v3 or deepseek_v2)"),
            _ => throw new CheckpointException($"{where}: unknown model_type '{modelType}' (supported: deepseek_v3, deepseek_v2)"),
        };
        var d = version == DeepSeekVersion.V3 ? new DeepSeekConfig() : V2Defaults;
        try
        {
            int? qLora = o.ContainsKey("q_lora_rank") ? NullableInt(o, "q_lora_rank", where) : d.QLoraRank;
            if (qLora == 0) qLora = null;
            int heads = Int(o, "num_attention_heads", where) ?? d.NumAttentionHeads;
            int layers = Int(o, "num_hidden_layers", where) ?? d.NumHiddenLayers;
            var c = new DeepSeekConfig
            {
                Version = version,
                VocabSize = Int(o, "vocab_size", where) ?? d.VocabSize,
                HiddenSize = Int(o, "hidden_size", where) ?? d.HiddenSize,
                IntermediateSize = Int(o, "intermediate_size", where) ?? d.IntermediateSize,
                MoeIntermediateSize = Int(o, "moe_intermediate_size", where) ?? d.MoeIntermediateSize,
                NumHiddenLayers = layers,
                NumAttentionHeads = heads,
                NumKeyValueHeads = Int(o, "num_key_value_heads", where) ?? heads,
                NSharedExperts = Int(o, "n_shared_experts", where) ?? (o.ContainsKey("n_shared_experts") ? 0 : d.NSharedExperts),
                NRoutedExperts = Int(o, "n_routed_experts", where) ?? Int(o, "num_local_experts", where) ?? d.NRoutedExperts,
                RoutedScalingFactor = Double(o, "routed_scaling_factor", where) ?? d.RoutedScalingFactor,
                KvLoraRank = Int(o, "kv_lora_rank", where) ?? d.KvLoraRank,
                QLoraRank = qLora,
                QkRopeHeadDim = Int(o, "qk_rope_head_dim", where) ?? d.QkRopeHeadDim,
                QkNopeHeadDim = Int(o, "qk_nope_head_dim", where) ?? d.QkNopeHeadDim,
                VHeadDim = Int(o, "v_head_dim", where) ?? d.VHeadDim,
                NGroup = o.ContainsKey("n_group") ? NullableInt(o, "n_group", where) : d.NGroup,
                TopkGroup = o.ContainsKey("topk_group") ? NullableInt(o, "topk_group", where) : d.TopkGroup,
                NumExpertsPerTok = Int(o, "num_experts_per_tok", where) ?? d.NumExpertsPerTok,
                FirstKDenseReplace = Int(o, "first_k_dense_replace", where) ?? d.FirstKDenseReplace,
                NormTopkProb = Bool(o, "norm_topk_prob", where) ?? d.NormTopkProb,
                TopkMethod = version == DeepSeekVersion.V3 ? "noaux_tc" : Str(o, "topk_method", where) ?? d.TopkMethod,
                Rope = ParseRope(o, where),
                RopeInterleave = Bool(o, "rope_interleave", where) ?? true,
                MaxPositionEmbeddings = Int(o, "max_position_embeddings", where) ?? d.MaxPositionEmbeddings,
                RmsNormEps = Double(o, "rms_norm_eps", where) ?? d.RmsNormEps,
                TieWordEmbeddings = Bool(o, "tie_word_embeddings", where) ?? false,
                AttentionBias = Bool(o, "attention_bias", where) ?? false,
                HiddenAct = Str(o, "hidden_act", where) ?? "silu",
                BosTokenId = o.ContainsKey("bos_token_id") ? NullableInt(o, "bos_token_id", where) : d.BosTokenId,
                EosTokenIds = ParseEos(o, where) ?? d.EosTokenIds,
                PadTokenId = NullableInt(o, "pad_token_id", where),
                InitializerRange = Double(o, "initializer_range", where) ?? 0.02,
                NumNextnPredictLayers = Int(o, "num_nextn_predict_layers", where) ?? 0,
                Fp8BlockSize = ParseFp8(o, where),
                Source = (JsonObject)o.DeepClone(),
            };
            if (version == DeepSeekVersion.V3 && Str(o, "scoring_func", where) is string sf && sf != "sigmoid")
                throw new CheckpointException($"{where}: scoring_func '{sf}' is not supported for deepseek_v3 (sigmoid)");
            c.Validate(where);
            return c;
        }
        catch (InvalidOperationException e) { throw new CheckpointException($"{where}: {e.Message}", e); }
    }

    static RopeParameters ParseRope(JsonObject o, string where)
    {
        // 5.x: rope_parameters {rope_theta, rope_type, ...}; 4.x: rope_theta + rope_scaling {type|rope_type, ...} or null
        JsonObject? p = o["rope_parameters"] as JsonObject;
        double theta = Double(o, "rope_theta", where) ?? 10000.0;
        if (p == null)
        {
            p = o["rope_scaling"] as JsonObject;
            if (p == null) return new RopeParameters { Theta = theta };
        }
        theta = Double(p, "rope_theta", where) ?? theta;
        string type = Str(p, "rope_type", where) ?? Str(p, "type", where) ?? "default";
        return new RopeParameters
        {
            RopeType = type,
            Theta = theta,
            Factor = Double(p, "factor", where) ?? 1.0,
            OriginalMaxPositionEmbeddings = NullableInt(p, "original_max_position_embeddings", where),
            BetaFast = Double(p, "beta_fast", where),
            BetaSlow = Double(p, "beta_slow", where),
            Mscale = Double(p, "mscale", where),
            MscaleAllDim = Double(p, "mscale_all_dim", where),
            AttentionFactor = Double(p, "attention_factor", where),
            Truncate = Bool(p, "truncate", where) ?? true,
        };
    }

    static IReadOnlyList<int>? ParseEos(JsonObject o, string where)
    {
        var n = o["eos_token_id"];
        if (n == null) return o.ContainsKey("eos_token_id") ? Array.Empty<int>() : null;
        if (n is JsonArray a) return a.Select(x => x?.GetValue<int>() ?? throw new CheckpointException($"{where}: eos_token_id holds a null")).ToArray();
        return new[] { Int(o, "eos_token_id", where)!.Value };
    }

    static int[]? ParseFp8(JsonObject o, string where)
    {
        if (o["quantization_config"] is not JsonObject q) return null;
        string? method = Str(q, "quant_method", where);
        if (method != null && method != "fp8") throw new CheckpointException($"{where}: quantization_config.quant_method '{method}' is not supported (only fp8)");
        if (q["weight_block_size"] is JsonArray b && b.Count == 2) return new[] { b[0]!.GetValue<int>(), b[1]!.GetValue<int>() };
        return new[] { 128, 128 };
    }

    static string? Str(JsonObject o, string key, string where) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => throw new CheckpointException($"{where}: '{key}' must be a string (got {other.ToJsonString()})"),
    };

    static int? NullableInt(JsonObject o, string key, string where) => Int(o, key, where);

    static int? Int(JsonObject o, string key, string where)
    {
        var n = o[key];
        if (n == null) return null;
        if (n is JsonValue v)
        {
            if (v.TryGetValue<int>(out var i)) return i;
            if (v.TryGetValue<double>(out var dd) && dd == Math.Floor(dd) && Math.Abs(dd) < int.MaxValue) return (int)dd;
        }
        throw new CheckpointException($"{where}: '{key}' must be an integer (got {n.ToJsonString()})");
    }

    static double? Double(JsonObject o, string key, string where)
    {
        var n = o[key];
        if (n == null) return null;
        if (n is JsonValue v && v.TryGetValue<double>(out var dd)) return dd;
        throw new CheckpointException($"{where}: '{key}' must be a number (got {n.ToJsonString()})");
    }

    static bool? Bool(JsonObject o, string key, string where)
    {
        var n = o[key];
        if (n == null) return null;
        if (n is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
        throw new CheckpointException($"{where}: '{key}' must be true or false (got {n.ToJsonString()})");
    }

    /// <summary>
    /// This config as a <c>config.json</c> object. A config read from a file keeps that file's keys and style (4.x
    /// <c>rope_scaling</c> or 5.x <c>rope_parameters</c>) with the values of this record written over them; one made in code is
    /// written in the 5.x style. <paramref name="dtype"/> is recorded as <c>dtype</c> (and <c>torch_dtype</c> when the source had it).
    /// FP8 quantisation settings are dropped when the weights are saved dequantised (<paramref name="keepQuantization"/> false).
    /// </summary>
    public JsonObject ToJson(string? dtype = null, bool keepQuantization = false)
    {
        var o = Source?.DeepClone() as JsonObject ?? new JsonObject();
        bool legacyRope = Source != null && !Source.ContainsKey("rope_parameters") && (Source.ContainsKey("rope_theta") || Source.ContainsKey("rope_scaling"));
        o["architectures"] = new JsonArray(Version == DeepSeekVersion.V3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM");
        o["model_type"] = ModelType;
        o["vocab_size"] = VocabSize;
        o["hidden_size"] = HiddenSize;
        o["intermediate_size"] = IntermediateSize;
        o["moe_intermediate_size"] = MoeIntermediateSize;
        o["num_hidden_layers"] = NumHiddenLayers;
        o["num_attention_heads"] = NumAttentionHeads;
        o["num_key_value_heads"] = NumKeyValueHeads;
        o["n_shared_experts"] = NSharedExperts;
        o["n_routed_experts"] = NRoutedExperts;
        o["routed_scaling_factor"] = Real(RoutedScalingFactor);
        o["kv_lora_rank"] = KvLoraRank;
        o["q_lora_rank"] = QLoraRank is int q ? JsonValue.Create(q) : null;
        o["qk_rope_head_dim"] = QkRopeHeadDim;
        o["qk_nope_head_dim"] = QkNopeHeadDim;
        o["v_head_dim"] = VHeadDim;
        o["n_group"] = NGroup is int g ? JsonValue.Create(g) : null;
        o["topk_group"] = TopkGroup is int tg ? JsonValue.Create(tg) : null;
        o["num_experts_per_tok"] = NumExpertsPerTok;
        o["first_k_dense_replace"] = FirstKDenseReplace;
        o["norm_topk_prob"] = NormTopkProb;
        if (Version == DeepSeekVersion.V2 || Source?.ContainsKey("topk_method") == true) o["topk_method"] = TopkMethod;
        o["rope_interleave"] = RopeInterleave;
        o["max_position_embeddings"] = MaxPositionEmbeddings;
        o["rms_norm_eps"] = Real(RmsNormEps);
        o["tie_word_embeddings"] = TieWordEmbeddings;
        o["attention_bias"] = AttentionBias;
        o["hidden_act"] = HiddenAct;
        o["bos_token_id"] = BosTokenId is int b ? JsonValue.Create(b) : null;
        o["eos_token_id"] = EosTokenIds.Count == 1 ? JsonValue.Create(EosTokenIds[0]) : new JsonArray(EosTokenIds.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray());
        o["pad_token_id"] = PadTokenId is int p ? JsonValue.Create(p) : null;
        o["initializer_range"] = Real(InitializerRange);
        o["qk_head_dim"] = QkHeadDim;
        o["head_dim"] = QkRopeHeadDim;

        var rope = new JsonObject();
        if (Rope.RopeType != "default" || !legacyRope)
        {
            rope["rope_type"] = Rope.RopeType;
            if (Rope.RopeType != "default")
            {
                rope["factor"] = Real(Rope.Factor);
                if (Rope.OriginalMaxPositionEmbeddings is int l0) rope["original_max_position_embeddings"] = l0;
                if (Rope.BetaFast is double bf) rope["beta_fast"] = Real(bf);
                if (Rope.BetaSlow is double bs) rope["beta_slow"] = Real(bs);
                if (Rope.Mscale is double m) rope["mscale"] = Real(m);
                if (Rope.MscaleAllDim is double ma) rope["mscale_all_dim"] = Real(ma);
                if (Rope.AttentionFactor is double af) rope["attention_factor"] = Real(af);
                if (!Rope.Truncate) rope["truncate"] = false;
            }
        }
        if (legacyRope)
        {
            o["rope_theta"] = Real(Rope.Theta);
            o["rope_scaling"] = Rope.RopeType == "default" ? null : rope;
        }
        else
        {
            o.Remove("rope_theta");
            o.Remove("rope_scaling");
            rope["rope_theta"] = Real(Rope.Theta);
            o["rope_parameters"] = rope;
        }
        if (!keepQuantization) o.Remove("quantization_config");
        if (dtype != null)
        {
            o["dtype"] = dtype;
            if (Source?.ContainsKey("torch_dtype") == true) o["torch_dtype"] = dtype;
        }
        return o;
    }

    /// <summary>
    /// A float-typed setting written with a decimal point (1.0, not 1), as Python's json writes floats: transformers 5.x validates
    /// config fields strictly and refuses an integer where a float is declared (<c>routed_scaling_factor</c>, <c>rope_theta</c>, …).
    /// </summary>
    static JsonNode Real(double value)
    {
        if (!double.IsFinite(value)) throw new InvalidInputException($"config value {value} is not a finite number");
        string text = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (text.IndexOfAny(['.', 'E', 'e']) < 0) text += ".0";
        return JsonNode.Parse(text)!;
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> (indented).</summary>
    public void Save(string path, string? dtype = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, ToJson(dtype).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
