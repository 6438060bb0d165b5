using System.Text.Json.Serialization;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// One API key as the keys file stores it: never the key itself, only a random salt and SHA-256(salt ‖ UTF-8 key), hex.
/// <see cref="Rights"/> maps a collection name, or <see cref="AllCollections"/>, to read / write / admin.
/// </summary>
public sealed record ApiKeyEntry
{
    /// <summary>The rights key that stands for every collection.</summary>
    public const string AllCollections = "*";

    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("salt")] public required string Salt { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("principal")] public required string Principal { get; init; }
    [JsonPropertyName("groups")] public IReadOnlyList<string> Groups { get; init; } = [];
    [JsonPropertyName("rights")] public required IReadOnlyDictionary<string, AccessRight> Rights { get; init; }
    [JsonPropertyName("created_utc")] public DateTime CreatedUtc { get; init; }
}
