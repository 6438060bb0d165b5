using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// The contents of <c>lexical.json</c>, written beside the Lucene files after the commit: format version, analyzer,
/// BM25 parameters, field mode and document count. <see cref="LexicalIndex.Open(string)"/> reads it back and checks it.
/// </summary>
public sealed record LexicalIndexInfo
{
    /// <summary>File name inside the index folder.</summary>
    public const string FileName = "lexical.json";

    /// <summary>The format this code writes and reads.</summary>
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public required string Analyzer { get; init; }
    public required float K1 { get; init; }
    public required float B { get; init; }
    public required LexicalFieldMode FieldMode { get; init; }
    public required int DocumentCount { get; init; }

    /// <summary>The Lucene.Net index version, for information.</summary>
    public string Lucene { get; init; } = "4.8";

    /// <summary>The build options this info records.</summary>
    [JsonIgnore]
    public Bm25Options Options => new() { K1 = K1, B = B, Analyzer = Analyzer, FieldMode = FieldMode };

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <c>lexical.json</c> from <paramref name="directory"/>; a missing or unreadable file is <see cref="IndexCorruptException"/>.</summary>
    public static LexicalIndexInfo Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new IndexCorruptException($"lexical index at {directory} has no {FileName} (not built, or its build did not finish)");
        try
        {
            return JsonSerializer.Deserialize<LexicalIndexInfo>(File.ReadAllText(path), Json)
                   ?? throw new IndexCorruptException($"{path} is empty");
        }
        catch (JsonException ex)
        {
            throw new IndexCorruptException($"{path} is not a valid lexical index description: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }

    /// <summary>Writes <c>lexical.json</c> atomically and durably (<see cref="AtomicFile"/>).</summary>
    public void Write(string directory) => AtomicFile.WriteAllText(Path.Combine(directory, FileName), ToJson());
}
