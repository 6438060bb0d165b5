namespace DeepSeek.Search.Encode;

/// <summary>
/// Numeric precision of the encoder's weights and activations. Half precisions are for GPUs; on the CPU, float32 or
/// <see cref="Int8"/>: the linear layers dynamically quantized (<see cref="BertModel.QuantizeInt8"/>), for CPU inference only.
/// </summary>
public enum EncoderPrecision { Float32, Float16, BFloat16, Int8 }

/// <summary>
/// Run-time settings of a <see cref="TextEncoder"/>. The nullable settings override the folder's <c>dual_encoder.json</c> when set.
/// </summary>
public sealed record EncoderOptions
{
    /// <summary><c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (see <see cref="TorchRuntime.ResolveDevice"/>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Sequences per forward pass.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Where to read the tokenizer from when the encoder folder has none (vocab.txt / tokenizer.json).</summary>
    public string? TokenizerDirectory { get; init; }

    public EncoderPrecision Precision { get; init; } = EncoderPrecision.Float32;

    /// <summary>CPU threads for libtorch; null leaves <see cref="TorchRuntime"/>'s choice.</summary>
    public int? Threads { get; init; }

    public PoolingMode? Pooling { get; init; }
    public bool? Normalize { get; init; }
    public int? MaxQueryLength { get; init; }
    public int? MaxDocumentLength { get; init; }

    /// <summary>Overrides the identity name (default: dual_encoder.json's name, else the folder name).</summary>
    public string? Name { get; init; }
}
