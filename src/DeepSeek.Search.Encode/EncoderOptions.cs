using DeepSeek.Search.Core;

namespace DeepSeek.Search.Encode;

/// <summary>
/// Numeric precision of the encoder's weights and activations. Half precisions are for GPUs; on the CPU, float32 or
/// <see cref="Int8"/>: the linear layers dynamically quantized (<see cref="BertModel.QuantizeInt8"/>), for CPU inference only.
/// </summary>
public enum EncoderPrecision { Float32, Float16, BFloat16, Int8 }

/// <summary>The names of <see cref="EncoderPrecision"/> on the command line (<c>--encoder-precision fp32|int8</c>) and in a
/// collection's manifest (<c>dense.precision</c>: absent for float32, <c>int8</c>), so that every later write of the collection
/// encodes as its build did.</summary>
public static class EncoderPrecisions
{
    /// <summary>The precisions a collection's documents may be encoded in.</summary>
    public static readonly IReadOnlyList<string> DocumentNames = ["fp32", "int8"];

    /// <summary>The manifest's name of <paramref name="precision"/>: null for float32 (the field is then left out).</summary>
    public static string? ManifestName(EncoderPrecision precision) => precision switch
    {
        EncoderPrecision.Float32 => null,
        EncoderPrecision.Int8 => "int8",
        _ => throw new InvalidInputException($"documents are encoded in fp32 or int8, not {precision}") { Setting = "encoder-precision" },
    };

    /// <summary>fp32 / float32 / null → Float32, int8 → Int8; any other name is an <see cref="InvalidInputException"/> naming it.</summary>
    public static EncoderPrecision Parse(string? name) => name switch
    {
        null or "" or "fp32" or "float32" => EncoderPrecision.Float32,
        "int8" => EncoderPrecision.Int8,
        _ => throw new InvalidInputException($"encoder precision must be fp32 or int8, got '{name}'") { Setting = "encoder-precision" },
    };
}

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
