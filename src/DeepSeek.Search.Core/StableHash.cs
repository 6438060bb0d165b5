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

    /// <summary>
    /// <see cref="Fnv1a"/> passed through MurmurHash3's 32-bit finaliser: FNV-1a alone leaves texts that differ only in
    /// their last characters close together in the top bits and correlated in the low ones, so every assignment by hash
    /// (experiment arms, shards) uses this.
    /// </summary>
    public static uint Mixed(string text)
    {
        uint h = Fnv1a(text);
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }

    /// <summary>
    /// The shard of <paramref name="shards"/> (≥ 1) that owns document <paramref name="documentId"/>: <see cref="Mixed"/> of
    /// the id modulo the shard count. The one routing rule of a sharded collection: the splitter, the query front's writes
    /// and its document reads all use it.
    /// </summary>
    public static int ShardOf(string documentId, int shards)
    {
        ArgumentNullException.ThrowIfNull(documentId);
        if (shards < 1) throw new InvalidInputException($"shard count must be at least 1, got {shards}");
        return (int)(Mixed(documentId) % (uint)shards);
    }
}
