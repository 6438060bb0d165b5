using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// The API keys file: <c>{"format": 1, "keys": [ApiKeyEntry…]}</c>, written through <see cref="AtomicFile"/> with mode 0600.
/// A key is <c>dss_</c> + 32 random bytes in base64url; the file keeps its salted SHA-256 only, so a key is shown once, when
/// it is made (<see cref="Add"/>).
/// </summary>
public sealed class ApiKeyFile
{
    /// <summary>The prefix of every key.</summary>
    public const string KeyPrefix = "dss_";
    const int FormatVersion = 1;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    ApiKeyFile(string path, List<ApiKeyEntry> keys)
    {
        Path = path;
        Keys = keys;
    }

    public string Path { get; }
    public IReadOnlyList<ApiKeyEntry> Keys { get; private set; }

    /// <summary>Reads <paramref name="path"/>; a missing file is an empty set of keys.</summary>
    public static ApiKeyFile Load(string path)
    {
        if (!File.Exists(path)) return new ApiKeyFile(path, []);
        try
        {
            var doc = JsonSerializer.Deserialize<FileBody>(File.ReadAllText(path), Json)
                      ?? throw new InvalidInputException($"keys file {path} is empty");
            if (doc.Format != FormatVersion) throw new InvalidInputException($"keys file {path} has format {doc.Format}, expected {FormatVersion}");
            foreach (var k in doc.Keys)
                if (string.IsNullOrEmpty(k.Id) || string.IsNullOrEmpty(k.Principal) || k.Rights.Count == 0)
                    throw new InvalidInputException($"keys file {path}: entry '{k.Id}' lacks an id, a principal or rights");
            return new ApiKeyFile(path, [.. doc.Keys]);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"keys file {path} is not valid: {e.Message}", e);
        }
    }

    /// <summary>Adds a new key and saves the file; returns the entry and the key (the only time the key exists in clear).</summary>
    public (ApiKeyEntry Entry, string Key) Add(string principal, IEnumerable<string> groups, AccessRight right, IEnumerable<string> collections)
    {
        var caller = Caller.Of(principal, groups);
        var names = collections.Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0) names.Add(ApiKeyEntry.AllCollections);
        foreach (var c in names)
            if (c != ApiKeyEntry.AllCollections) _ = DeepSeek.Search.Store.CollectionStore.At(".", c);   // validates the name
        string key = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        var entry = new ApiKeyEntry
        {
            Id = "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)),
            Salt = Convert.ToBase64String(salt),
            Sha256 = Convert.ToHexStringLower(Hash(salt, key)),
            Principal = caller.Principal,
            Groups = caller.Groups,
            Rights = names.ToDictionary(n => n, _ => right, StringComparer.Ordinal),
            CreatedUtc = new DateTime(DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, DateTimeKind.Utc),
        };
        Keys = [.. Keys, entry];
        Save();
        return (entry, key);
    }

    /// <summary>Removes the key <paramref name="id"/> and saves the file; an unknown id is an <see cref="InvalidInputException"/>.</summary>
    public void Revoke(string id)
    {
        if (!Keys.Any(k => k.Id == id)) throw new InvalidInputException($"no key with id '{id}' in {Path}");
        Keys = Keys.Where(k => k.Id != id).ToList();
        Save();
    }

    /// <summary>The entry whose hash matches <paramref name="key"/>, comparing every entry in constant time; null if none.</summary>
    public ApiKeyEntry? Find(string key)
    {
        ApiKeyEntry? found = null;
        foreach (var e in Keys)
        {
            byte[] expected, salt;
            try
            {
                expected = Convert.FromHexString(e.Sha256);
                salt = Convert.FromBase64String(e.Salt);
            }
            catch (FormatException) { continue; }
            if (CryptographicOperations.FixedTimeEquals(Hash(salt, key), expected) && found is null) found = e;
        }
        return found;
    }

    static byte[] Hash(byte[] salt, string key)
    {
        var bytes = new byte[salt.Length + Encoding.UTF8.GetByteCount(key)];
        salt.CopyTo(bytes, 0);
        Encoding.UTF8.GetBytes(key, bytes.AsSpan(salt.Length));
        return SHA256.HashData(bytes);
    }

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    void Save()
    {
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) is { } dir) Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path, JsonSerializer.Serialize(new FileBody { Format = FormatVersion, Keys = [.. Keys] }, Json) + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    sealed class FileBody
    {
        [JsonPropertyName("format")] public int Format { get; set; }
        [JsonPropertyName("keys")] public List<ApiKeyEntry> Keys { get; set; } = [];
    }
}
