using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>What a <see cref="KvCache"/> keeps per layer.</summary>
public enum KvCacheMode
{
    /// <summary>
    /// The expanded keys and values of every head, as HF <c>DynamicCache</c>: K [B, nH, P, dn+dr] (after RoPE) and V [B, nH, P, dv].
    /// </summary>
    Full,

    /// <summary>
    /// The compressed MLA latent (official "absorb" mode): the normalised <c>c</c> [B, P, kv_lora_rank] and the rotated shared key
    /// [B, P, dr]; queries are projected into the latent space through <c>kv_b_proj</c>. Per token and layer it holds rkv+dr values
    /// instead of nH·(dn+dr+dv): 576 instead of 40,960 for DeepSeek-V3.
    /// </summary>
    Latent,
}

/// <summary>
/// The attention cache of one generation: per layer two tensors that grow along the sequence (capacity doubles, so appending is
/// amortised O(1) per token), plus the key padding mask [B, P] of every cached position. Made by
/// <see cref="DeepSeekModel.CreateCache"/>; the model appends to it in <see cref="DeepSeekModel.Forward"/> and advances
/// <see cref="Length"/> when a forward pass completes. Not thread-safe; dispose it when the generation ends.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] _first, _second;
    readonly long[] _capacity;
    Tensor? _keyMask;
    bool _disposed;

    internal KvCache(int layers, KvCacheMode mode)
    {
        Mode = mode;
        _first = new Tensor?[layers];
        _second = new Tensor?[layers];
        _capacity = new long[layers];
    }

    public KvCacheMode Mode { get; }

    /// <summary>Number of cached positions P.</summary>
    public long Length { get; private set; }

    /// <summary>Batch size (0 before the first forward pass).</summary>
    public long BatchSize { get; private set; }

    /// <summary>Bytes held by the cache tensors (allocated capacity).</summary>
    public long AllocatedBytes => _first.Concat(_second).Where(t => t is not null).Sum(t => t!.NumberOfElements * t.ElementSize);

    /// <summary>Key padding mask [B, P] (true = a real token) of the cached positions; null while empty.</summary>
    internal Tensor? KeyMask => _keyMask;

    /// <summary>
    /// Writes <paramref name="a"/> and <paramref name="b"/> (the new positions, along <paramref name="seqDim"/>) after the cached ones
    /// of <paramref name="layer"/> and returns views of all P+T positions.
    /// </summary>
    internal (Tensor A, Tensor B) Append(int layer, Tensor a, Tensor b, int seqDim)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long p = Length, t = a.size(seqDim), needed = p + t;
        if (_first[layer] is null || needed > _capacity[layer])
        {
            long capacity = Math.Max(needed, Math.Max(16, 2 * _capacity[layer]));
            _first[layer] = Grow(_first[layer], a, seqDim, p, capacity);
            _second[layer] = Grow(_second[layer], b, seqDim, p, capacity);
            _capacity[layer] = capacity;
        }
        using (var slotA = _first[layer]!.narrow(seqDim, p, t)) slotA.copy_(a);
        using (var slotB = _second[layer]!.narrow(seqDim, p, t)) slotB.copy_(b);
        return (_first[layer]!.narrow(seqDim, 0, needed), _second[layer]!.narrow(seqDim, 0, needed));
    }

    static Tensor Grow(Tensor? old, Tensor like, int seqDim, long used, long capacity)
    {
        var shape = TensorShape.Of(like);
        shape[seqDim] = capacity;
        var fresh = empty(shape, like.dtype, like.device).DetachFromDisposeScope();
        if (old is not null)
        {
            if (used > 0)
            {
                using var dst = fresh.narrow(seqDim, 0, used);
                using var src = old.narrow(seqDim, 0, used);
                dst.copy_(src);
            }
            old.Dispose();
        }
        return fresh;
    }

    /// <summary>Whether any cached position was recorded as (possibly) padding; then every later pass over this cache is padded too.</summary>
    internal bool Padded { get; private set; }

    /// <summary>Records T new positions with their padding mask [B, T] (the model calls this after each forward pass);
    /// <paramref name="padded"/> = the mask may hold padding (not known on the host to be all ones).</summary>
    internal void Advance(Tensor newMask, bool padded)
    {
        Padded |= padded;
        var mask = _keyMask is null ? newMask.clone() : cat(new[] { _keyMask, newMask }, 1);
        _keyMask?.Dispose();
        _keyMask = mask.DetachFromDisposeScope();
        BatchSize = newMask.size(0);
        Length += newMask.size(1);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _first.Concat(_second)) t?.Dispose();
        _keyMask?.Dispose();
    }
}
