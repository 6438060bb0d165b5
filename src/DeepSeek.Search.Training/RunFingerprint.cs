using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace DeepSeek.Search.Training;

/// <summary>
/// A run's fingerprint: SHA-256 (lower-case hex) of the JSON of every setting and input that shapes its trajectory. A checkpoint records
/// it, and only a run with the same fingerprint resumes from it.
/// </summary>
public static class RunFingerprint
{
    public static string Of(JsonObject parts) => Sha256(Encoding.UTF8.GetBytes(parts.ToJsonString()));

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>What identifies an input file or folder (<see cref="RunFolders.FileIdentity"/>).</summary>
    public static string FileIdentity(string? path) => RunFolders.FileIdentity(path);
}
