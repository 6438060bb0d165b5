using DeepSeek.Search.Encode.Pretrained;

namespace DeepSeek.Search.Cli;

/// <summary>
/// What an encoder option names: a folder, a pretrained encoder (<c>minilm-l6</c>, <c>arctic-xs</c>: pulled into the cache on first
/// use), or <c>none</c>. A folder of that name wins over a pretrained name.
/// </summary>
static class EncoderArgument
{
    public const string None = "none";

    public static string Help => $"an encoder folder (Hugging Face BertModel), or a pretrained encoder: {string.Join(" | ", PretrainedEncoders.All.Select(e => e.Name))} (imported on first use, no network)";

    /// <summary>The folder <paramref name="value"/> stands for; null for null or <c>none</c>.</summary>
    public static string? Resolve(string? value)
    {
        if (value is null || value.Equals(None, StringComparison.OrdinalIgnoreCase)) return null;
        if (Directory.Exists(value)) return value;
        var pretrained = PretrainedEncoders.All.FirstOrDefault(e => string.Equals(e.Name, value, StringComparison.OrdinalIgnoreCase));
        return pretrained is null ? value : PretrainedEncoders.EnsureCached(pretrained, m => Console.Error.WriteLine($"dss: {m}"));
    }
}
