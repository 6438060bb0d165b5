using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Encode;

/// <summary>
/// The hyper-parameters of a BERT encoder, as in a Hugging Face <c>config.json</c> (<c>model_type: bert</c>). Only absolute position
/// embeddings are supported. Activations: <c>gelu</c> (erf), <c>gelu_new</c> / <c>gelu_pytorch_tanh</c> / <c>gelu_fast</c> (tanh
/// approximation), <c>quick_gelu</c>, <c>relu</c>, <c>silu</c>/<c>swish</c>, <c>tanh</c>.
/// </summary>
public sealed record BertConfig
{
    public int VocabSize { get; init; } = 30522;
    public int HiddenSize { get; init; } = 768;
    public int NumHiddenLayers { get; init; } = 12;
    public int NumAttentionHeads { get; init; } = 12;
    public int IntermediateSize { get; init; } = 3072;
    public string HiddenAct { get; init; } = "gelu";
    public int MaxPositionEmbeddings { get; init; } = 512;
    public int TypeVocabSize { get; init; } = 2;
    public double LayerNormEps { get; init; } = 1e-12;
    public double InitializerRange { get; init; } = 0.02;
    public int PadTokenId { get; init; }
    public string PositionEmbeddingType { get; init; } = "absolute";

    /// <summary>The shape of sentence-transformers/all-MiniLM-L6-v2: 6 layers, 384 hidden, 12 heads, 1536 FFN, 30522 ids.</summary>
    public static BertConfig MiniLmL6 => new() { HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536 };

    /// <summary>bert-base: 12 layers, 768 hidden, 12 heads, 3072 FFN.</summary>
    public static BertConfig BertBase => new();

    public int HeadDim => HiddenSize / NumAttentionHeads;

    static readonly string[] Activations = { "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu", "silu", "swish", "tanh" };

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        void Positive(int v, string name) { if (v <= 0) throw new InvalidInputException($"BERT config: {name} must be positive (got {v})"); }
        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(IntermediateSize, "intermediate_size");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        Positive(TypeVocabSize, "type_vocab_size");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new InvalidInputException($"BERT config: hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (!(LayerNormEps > 0)) throw new InvalidInputException($"BERT config: layer_norm_eps must be positive (got {LayerNormEps})");
        if (!Activations.Contains(HiddenAct))
            throw new InvalidInputException($"BERT config: unsupported hidden_act '{HiddenAct}' (supported: {string.Join(", ", Activations)})");
        if (PositionEmbeddingType != "absolute")
            throw new InvalidInputException($"BERT config: position_embedding_type '{PositionEmbeddingType}' is not supported (only 'absolute')");
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw new InvalidInputException($"BERT config: pad_token_id {PadTokenId} is outside the vocabulary of {VocabSize}");
    }

    /// <summary>Reads and validates a Hugging Face <c>config.json</c>; problems are <see cref="CheckpointException"/>s naming the file.</summary>
    public static BertConfig Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"model config not found: {path}");
        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object");
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: invalid JSON ({e.Message})", e); }

        string? modelType = Str(o, "model_type");
        if (modelType != null && modelType != "bert")
            throw new CheckpointException($"{path}: model_type '{modelType}' is not 'bert'");
        try
        {
            var d = new BertConfig();
            var c = new BertConfig
            {
                VocabSize = Int(o, "vocab_size") ?? d.VocabSize,
                HiddenSize = Int(o, "hidden_size") ?? d.HiddenSize,
                NumHiddenLayers = Int(o, "num_hidden_layers") ?? d.NumHiddenLayers,
                NumAttentionHeads = Int(o, "num_attention_heads") ?? d.NumAttentionHeads,
                IntermediateSize = Int(o, "intermediate_size") ?? d.IntermediateSize,
                HiddenAct = Str(o, "hidden_act") ?? d.HiddenAct,
                MaxPositionEmbeddings = Int(o, "max_position_embeddings") ?? d.MaxPositionEmbeddings,
                TypeVocabSize = Int(o, "type_vocab_size") ?? d.TypeVocabSize,
                LayerNormEps = Dbl(o, "layer_norm_eps") ?? d.LayerNormEps,
                InitializerRange = Dbl(o, "initializer_range") ?? d.InitializerRange,
                PadTokenId = Int(o, "pad_token_id") ?? d.PadTokenId,
                PositionEmbeddingType = Str(o, "position_embedding_type") ?? d.PositionEmbeddingType,
            };
            c.Validate();
            return c;
        }
        catch (InvalidInputException e) { throw new CheckpointException($"{path}: {e.Message}", e); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: a setting has the wrong type ({e.Message})", e);
        }

        static int? Int(JsonObject o, string k) => o[k] is JsonValue v ? checked((int)v.GetValue<double>()) : null;
        static double? Dbl(JsonObject o, string k) => o[k] is JsonValue v ? v.GetValue<double>() : null;
        static string? Str(JsonObject o, string k) => o[k] is JsonValue v ? v.GetValue<string>() : null;
    }

    /// <summary>Writes a Hugging Face <c>config.json</c> for <c>BertModel</c> (loadable by transformers and by <see cref="Load"/>).</summary>
    public void Save(string path)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray("BertModel"),
            ["model_type"] = "bert",
            ["attention_probs_dropout_prob"] = 0.1,
            ["hidden_dropout_prob"] = 0.1,
            ["hidden_act"] = HiddenAct,
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = InitializerRange,
            ["intermediate_size"] = IntermediateSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["pad_token_id"] = PadTokenId,
            ["position_embedding_type"] = PositionEmbeddingType,
            ["type_vocab_size"] = TypeVocabSize,
            ["vocab_size"] = VocabSize,
            ["torch_dtype"] = "float32",
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
