namespace DeepSeek.Search.Core;

/// <summary>
/// A hash of text that is the same in every process and on every machine (string.GetHashCode is randomised per process):
/// 32-bit FNV-1a over the UTF-16 code units, for seeds and assignments that must repeat.
/// </summary>
public static class StableHash
{
    public static uint Fnv1a(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        uint h = 2166136261;
        foreach (char c in text) { h ^= c; h *= 16777619; }
        return h;
    }
}
