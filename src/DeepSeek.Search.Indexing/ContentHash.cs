using System.Security.Cryptography;
using System.Text;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Indexing;

/// <summary>
/// The SHA-256 of a document's content: title, text, metadata JSON and ACL, each length-prefixed (so no two different
/// documents share an encoding), lower-case hex. An upsert of a document whose hash equals its live version's changes
/// nothing (no new version, no encoding).
/// </summary>
public static class ContentHash
{
    public static string Of(Document d)
    {
        ArgumentNullException.ThrowIfNull(d);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Part(string? s)
        {
            var bytes = Encoding.UTF8.GetBytes(s ?? "");
            Span<byte> len = stackalloc byte[9];
            len[0] = s is null ? (byte)0 : (byte)1;
            BitConverter.TryWriteBytes(len[1..], (long)bytes.Length);
            sha.AppendData(len);
            sha.AppendData(bytes);
        }
        Part(d.Title);
        Part(d.Text);
        Part(d.MetadataJson);
        if (d.Acl is null) Part(null);
        else
        {
            Part(string.Join('\u001f', d.Acl.Principals));
            Part(string.Join('\u001f', d.Acl.Groups));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
