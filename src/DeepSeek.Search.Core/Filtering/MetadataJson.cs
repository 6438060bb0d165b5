using System.Text.Json;

namespace DeepSeek.Search.Core.Filtering;

/// <summary>A document's metadata as filters read it: a JSON object whose keys and strings are all valid text.</summary>
public static class MetadataJson
{
    /// <summary>
    /// Parses metadata text; the caller disposes the result. Invalid JSON, a value other than an object, or a key or string
    /// that is not valid UTF-16 (an escaped unpaired surrogate such as <c>\ud800</c>) is an <see cref="InvalidInputException"/>.
    /// </summary>
    public static JsonDocument Parse(string metadataJson)
    {
        ArgumentNullException.ThrowIfNull(metadataJson);
        JsonDocument json;
        try { json = JsonDocument.Parse(metadataJson); }
        catch (JsonException ex) { throw new InvalidInputException("metadata is not valid JSON: " + ex.Message.ReplaceLineEndings(" "), ex); }
        string? problem = Problem(json.RootElement);
        if (problem is not null)
        {
            json.Dispose();
            throw new InvalidInputException("metadata " + problem);
        }
        return json;
    }

    /// <summary>
    /// Why <paramref name="metadata"/> cannot be metadata (e.g. <c>must be a JSON object, got an array</c>, <c>holds a key that
    /// is not valid text (an unpaired surrogate escape)</c>), or null when it can.
    /// </summary>
    public static string? Problem(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object) return $"must be a JSON object, got {FilterText.Kind(metadata.ValueKind)}";
        return TextProblem(metadata);
    }

    static string? TextProblem(JsonElement node)
    {
        try
        {
            switch (node.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in node.EnumerateObject())
                    {
                        _ = p.Name;
                        if (TextProblem(p.Value) is string inner) return inner;
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var e in node.EnumerateArray())
                        if (TextProblem(e) is string inner) return inner;
                    break;
                case JsonValueKind.String:
                    _ = node.GetString();
                    break;
                default:
                    break;
            }
            return null;
        }
        catch (InvalidOperationException)
        {
            return "holds a key or string that is not valid text (an unpaired surrogate escape)";
        }
    }
}
