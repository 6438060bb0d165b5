using System.Numerics;
using System.Runtime.InteropServices;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// A set of 64-bit ids drawn from [0, <see cref="Capacity"/>), kept as a bitmap: the filter of a filtered
/// <see cref="FaissIndex.Search(ReadOnlySpan{float}, int, IdSelection?)"/> or <see cref="ExactVectors.Search"/>.
/// <para>
/// Bit layout: id i is bit (i &amp; 7) of byte i &gt;&gt; 3 — FAISS's <c>IDSelectorBitmap</c> layout, so the bytes go to
/// FAISS as they are, without a copy. Memory is Capacity / 8 bytes whatever the number of ids set.
/// </para>
/// <para>
/// Thread safety: not safe to change (<see cref="Add"/>, <see cref="AddRange"/>) while anything else uses it; once built,
/// any number of threads may read it and search with it at once.
/// </para>
/// </summary>
public sealed class IdSelection
{
    readonly byte[] _bits;

    /// <summary>An empty selection over the ids [0, <paramref name="capacity"/>).</summary>
    /// <exception cref="InvalidInputException">capacity is negative, or larger than one byte array can cover.</exception>
    public IdSelection(long capacity)
    {
        if (capacity < 0)
            throw new InvalidInputException($"id selection capacity must not be negative (got {capacity})");
        long bytes = capacity / 8 + (capacity % 8 == 0 ? 0 : 1);
        if (bytes > Array.MaxLength)
            throw new InvalidInputException(
                $"id selection capacity {capacity} is too large: at most {(long)Array.MaxLength * 8} ids fit in one bitmap");
        Capacity = capacity;
        _bits = new byte[bytes];
    }

    /// <summary>Ids in [0, Capacity) can be selected; <see cref="Contains"/> is false for every other id.</summary>
    public long Capacity { get; }

    /// <summary>Number of ids selected.</summary>
    public long Count { get; private set; }

    /// <summary>The bitmap (FAISS layout), (Capacity + 7) / 8 bytes; bits at or beyond Capacity are always clear.</summary>
    internal ReadOnlySpan<byte> Bits => _bits;

    /// <summary>Selects <paramref name="id"/> (selecting it again changes nothing).</summary>
    /// <exception cref="InvalidInputException">id is negative or not below <see cref="Capacity"/>.</exception>
    public void Add(long id)
    {
        if ((ulong)id >= (ulong)Capacity)
            throw new InvalidInputException($"id {id} is outside this id selection's range [0, {Capacity}) (capacity {Capacity})");
        Set(id);
    }

    /// <summary>Selects the <paramref name="count"/> ids first, first + 1, …, first + count − 1.</summary>
    /// <exception cref="InvalidInputException">count is negative, or the range does not lie in [0, Capacity).</exception>
    public void AddRange(long first, long count)
    {
        if (count < 0) throw new InvalidInputException($"id range count must not be negative (got {count})");
        if (count == 0) return;
        if (first < 0 || first >= Capacity || count > Capacity - first)
        {
            long outside = first < 0 || first >= Capacity ? first : Capacity;
            throw new InvalidInputException(
                $"id range of {count} ids from {first} is outside this id selection's range [0, {Capacity}) " +
                $"(capacity {Capacity}): id {outside} cannot be selected");
        }
        long end = first + count; // exclusive
        long firstWhole = (first + 7) >> 3, endWhole = end >> 3; // bytes filled entirely: [firstWhole, endWhole)
        if (firstWhole >= endWhole)
        {
            // The range lies within one or two partial bytes.
            for (long id = first; id < end; id++) Set(id);
        }
        else
        {
            for (long id = first; id < firstWhole << 3; id++) Set(id);
            var whole = _bits.AsSpan((int)firstWhole, (int)(endWhole - firstWhole));
            long before = 0;
            foreach (ulong word in MemoryMarshal.Cast<byte, ulong>(whole)) before += BitOperations.PopCount(word);
            for (int i = whole.Length & ~7; i < whole.Length; i++) before += BitOperations.PopCount(whole[i]);
            whole.Fill(0xFF);
            Count += ((long)whole.Length << 3) - before;
            for (long id = endWhole << 3; id < end; id++) Set(id);
        }
    }

    /// <summary>Whether <paramref name="id"/> is selected; false for every id outside [0, Capacity).</summary>
    public bool Contains(long id) => (ulong)id < (ulong)Capacity && (_bits[id >> 3] & (1 << (int)(id & 7))) != 0;

    public override string ToString() => $"IdSelection({Count} of [0, {Capacity}))";

    void Set(long id)
    {
        ref byte cell = ref _bits[id >> 3];
        byte mask = (byte)(1 << (int)(id & 7));
        if ((cell & mask) != 0) return;
        cell |= mask;
        Count++;
    }
}
