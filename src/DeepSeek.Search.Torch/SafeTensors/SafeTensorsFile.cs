using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;
using DeepSeek.Search.Core;
using TorchSharp;
using static TorchSharp.torch;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Torch.SafeTensors;

/// <summary>Element types of the safetensors format, as spelled in its header.</summary>
public enum SafeTensorsDType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL }

/// <summary>One header entry of a <see cref="SafeTensorsFile"/>: dtype, shape and byte range <c>[Begin, End)</c> of the data section.</summary>
public sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A memory-mapped safetensors file (8-byte little-endian header length, a JSON header, then the raw little-endian data), with every
/// dtype the format defines, including the FP8 types of DeepSeek-V3's hub weights. The header is validated on open as the
/// safetensors library does: known dtypes, non-negative shapes, byte ranges whose length matches dtype × shape, ranges that tile the
/// data section exactly (no gap, no overlap, nothing past the end of the file). Any problem is a <see cref="CheckpointException"/>
/// naming the file and the tensor. Tensors are copied out of the mapping one at a time (<see cref="ReadTensor"/>), so loading a
/// checkpoint never holds more than the model plus one tensor in memory.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>The safetensors library refuses headers over 100 MB; so do we.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _base;
    readonly long _dataStart;
    bool _disposed;

    SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr, long dataStart,
        Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _base = basePtr;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public string FilePath { get; }

    /// <summary>Header entries by tensor name.</summary>
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static int ElementSize(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 or SafeTensorsDType.I32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.I16 => 2,
        SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E5M2 or SafeTensorsDType.I8 or SafeTensorsDType.U8 or SafeTensorsDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Whether the dtype holds floating-point values (FP8 included).</summary>
    public static bool IsFloat(SafeTensorsDType dtype) => dtype is SafeTensorsDType.F64 or SafeTensorsDType.F32 or SafeTensorsDType.F16
        or SafeTensorsDType.BF16 or SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E5M2;

    /// <summary>Maps and validates <paramref name="path"/>.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"safetensors file not found: {path}");
        long fileLength = new FileInfo(path).Length;
        if (fileLength < 8) throw new CheckpointException($"{path}: truncated safetensors file ({fileLength} bytes, no header length)");
        MemoryMappedFile map;
        try { map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot open ({e.Message})", e);
        }
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* ptr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
            acquired = true;
            ptr += view.PointerOffset;
            var (entries, metadata, dataStart) = ParseHeader(path, new ReadOnlySpan<byte>(ptr, (int)Math.Min(fileLength, 8 + MaxHeaderBytes)), fileLength);
            return new SafeTensorsFile(path, map, view, ptr, dataStart, entries, metadata);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    static (Dictionary<string, SafeTensorsEntry>, Dictionary<string, string>, long) ParseHeader(string path, ReadOnlySpan<byte> head, long fileLength)
    {
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLength > (ulong)MaxHeaderBytes)
            throw new CheckpointException($"{path}: header length {headerLength} is over the {MaxHeaderBytes}-byte limit (not a safetensors file?)");
        if (8 + (long)headerLength > fileLength)
            throw new CheckpointException($"{path}: truncated safetensors file (header of {headerLength} bytes, file of {fileLength} bytes)");
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(head.Slice(8, (int)headerLength).ToArray()); }
        catch (JsonException e) { throw new CheckpointException($"{path}: the safetensors header is not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: the safetensors header is not a JSON object");
            var entries = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: __metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (entries.ContainsKey(prop.Name)) throw new CheckpointException($"{path}: tensor '{prop.Name}' appears twice in the header");
                entries[prop.Name] = ParseEntry(path, prop.Name, prop.Value);
            }

            long expectedBegin = 0;
            foreach (var t in entries.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
            {
                if (t.Begin != expectedBegin)
                    throw new CheckpointException(t.Begin < expectedBegin
                        ? $"{path}: tensor '{t.Name}' overlaps the previous tensor (data_offsets [{t.Begin}, {t.End}]): the header lies about its offsets"
                        : $"{path}: gap before tensor '{t.Name}' (data_offsets [{t.Begin}, {t.End}], expected to begin at {expectedBegin}): the header lies about its offsets");
                if (t.End > dataLength)
                    throw new CheckpointException($"{path}: tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] run past the end of the data ({dataLength} bytes): truncated file or lying header");
                expectedBegin = t.End;
            }
            if (expectedBegin != dataLength)
                throw new CheckpointException($"{path}: {dataLength - expectedBegin} bytes after the last tensor are not described by the header");
            return (entries, metadata, dataStart);
        }
    }

    static SafeTensorsEntry ParseEntry(string path, string name, JsonElement e)
    {
        try
        {
            if (e.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: header entry of tensor '{name}' is not an object");
            string dt = e.GetProperty("dtype").GetString() ?? "";
            if (!Enum.TryParse<SafeTensorsDType>(dt, ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype) || int.TryParse(dt, out _))
                throw new CheckpointException($"{path}: tensor '{name}' has unsupported dtype '{dt}'");
            var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (shape.Any(d => d < 0)) throw new CheckpointException($"{path}: tensor '{name}' has a negative dimension");
            var offs = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0])
                throw new CheckpointException($"{path}: tensor '{name}' has invalid data_offsets [{string.Join(", ", offs)}]");
            var entry = new SafeTensorsEntry(name, dtype, shape, offs[0], offs[1]);
            long expected;
            try { expected = checked(entry.ElementCount * ElementSize(dtype)); }
            catch (OverflowException) { throw new CheckpointException($"{path}: tensor '{name}' shape {entry.ShapeText} is too large"); }
            if (entry.ByteLength != expected)
                throw new CheckpointException($"{path}: tensor '{name}' ({dtype} {entry.ShapeText}) needs {expected} bytes but data_offsets [{offs[0]}, {offs[1]}] give {entry.ByteLength}: the header lies about its offsets");
            return entry;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: malformed header entry for tensor '{name}' ({ex.Message})", ex);
        }
    }

    SafeTensorsEntry Entry(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Entries.TryGetValue(name, out var e) ? e : throw new CheckpointException($"{FilePath}: no tensor '{name}'");
    }

    /// <summary>The raw little-endian bytes of a tensor, as a view of the mapping (valid until the file is disposed).</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        var e = Entry(name);
        if (e.ByteLength > int.MaxValue) throw new CheckpointException($"{FilePath}: tensor '{name}' is over 2 GiB; read it with ReadTensor");
        return new ReadOnlySpan<byte>(_base + _dataStart + e.Begin, (int)e.ByteLength);
    }

    /// <summary>
    /// A floating-point tensor as float32 values, row-major, without libtorch: F32 as stored; F16, BF16 and the FP8 types widened
    /// exactly. F64 (which would round) and integer tensors are a <see cref="CheckpointException"/>.
    /// </summary>
    public float[] ReadFloats(string name)
    {
        var e = Entry(name);
        var bytes = Bytes(name);
        var result = new float[e.ElementCount];
        switch (e.DType)
        {
            case SafeTensorsDType.F32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                else for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                break;
            case SafeTensorsDType.BF16:
                for (int i = 0; i < result.Length; i++) result[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                break;
            case SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E5M2:
                var table = e.DType == SafeTensorsDType.F8_E4M3 ? Float8.E4M3Table : Float8.E5M2Table;
                for (int i = 0; i < result.Length; i++) result[i] = table[bytes[i]];
                break;
            case SafeTensorsDType.F64:
                throw new CheckpointException($"{FilePath}: tensor '{name}' is F64, which does not fit float32 exactly; read it with ReadTensor");
            default:
                throw new CheckpointException($"{FilePath}: tensor '{name}' is {e.DType}, not a floating-point tensor");
        }
        return result;
    }

    /// <summary>An integer tensor (I64, I32, I16, I8 or U8) as int64 values, row-major, without libtorch.</summary>
    public long[] ReadInt64(string name)
    {
        var e = Entry(name);
        var bytes = Bytes(name);
        var result = new long[e.ElementCount];
        switch (e.DType)
        {
            case SafeTensorsDType.I64:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]);
                break;
            case SafeTensorsDType.I32:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
                break;
            case SafeTensorsDType.I16:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(i * 2)..]);
                break;
            case SafeTensorsDType.I8:
                for (int i = 0; i < result.Length; i++) result[i] = (sbyte)bytes[i];
                break;
            case SafeTensorsDType.U8:
                for (int i = 0; i < result.Length; i++) result[i] = bytes[i];
                break;
            default:
                throw new CheckpointException($"{FilePath}: tensor '{name}' is {e.DType}, not an integer tensor");
        }
        return result;
    }

    /// <summary>
    /// A new CPU tensor with the values of <paramref name="name"/>. F32, F64, F16, BF16, I64, I32, I16, I8, U8 and BOOL keep their
    /// dtype; F8_E4M3 and F8_E5M2 (which libtorch's C# binding cannot hold) are decoded exactly to float32.
    /// </summary>
    public Tensor ReadTensor(string name)
    {
        var e = Entry(name);
        TorchRuntime.Initialize();
        byte* src = _base + _dataStart + e.Begin;
        if (e.DType is SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E5M2)
        {
            var table = e.DType == SafeTensorsDType.F8_E4M3 ? Float8.E4M3Table : Float8.E5M2Table;
            var result = empty(e.Shape, ScalarType.Float32);
            var acc = result.data<float>();
            const int chunk = 1 << 16;
            var buffer = new float[chunk];
            for (long done = 0; done < e.ElementCount; done += chunk)
            {
                int n = (int)Math.Min(chunk, e.ElementCount - done);
                for (int i = 0; i < n; i++) buffer[i] = table[src[done + i]];
                acc.CopyFrom(new ReadOnlySpan<float>(buffer, 0, n), 0, done);
            }
            return result;
        }
        var t = empty(e.Shape, TorchType(e.DType));
        CopyInto(t, src, e.ByteLength);
        return t;
    }

    /// <summary>The libtorch dtype a safetensors dtype is read as (FP8 is read as float32).</summary>
    public static ScalarType TorchType(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F64 => ScalarType.Float64,
        SafeTensorsDType.F32 or SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E5M2 => ScalarType.Float32,
        SafeTensorsDType.F16 => ScalarType.Float16,
        SafeTensorsDType.BF16 => ScalarType.BFloat16,
        SafeTensorsDType.I64 => ScalarType.Int64,
        SafeTensorsDType.I32 => ScalarType.Int32,
        SafeTensorsDType.I16 => ScalarType.Int16,
        SafeTensorsDType.I8 => ScalarType.Int8,
        SafeTensorsDType.U8 => ScalarType.Byte,
        SafeTensorsDType.BOOL => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Copies <paramref name="length"/> bytes into a fresh contiguous CPU tensor of that many bytes, 1 GiB at a time.</summary>
    static void CopyInto(Tensor t, byte* src, long length)
    {
        if (length == 0) return;
        using var flat = t.view(-1);
        long elementSize = t.ElementSize;
        const long chunkBytes = 1L << 30;
        for (long offset = 0; offset < length; offset += chunkBytes)
        {
            long n = Math.Min(chunkBytes, length - offset);
            using var part = flat.narrow(0, offset / elementSize, n / elementSize);
            part.bytes = new Span<byte>(src + offset, (int)n);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }
}

/// <summary>A tensor to write with <see cref="SafeTensorsWriter"/>: its name, stored dtype and the (any device, any dtype) tensor.</summary>
public sealed record SafeTensorsItem(string Name, SafeTensorsDType DType, Tensor Tensor)
{
    /// <summary>Float values (a new CPU float32 tensor) to be stored as <paramref name="dtype"/> (F32, F16, BF16 or F64; rounded to nearest even).</summary>
    public static SafeTensorsItem FromFloats(string name, ReadOnlySpan<float> values, long[] shape, SafeTensorsDType dtype = SafeTensorsDType.F32)
    {
        CheckCount(name, values.Length, shape);
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F64))
            throw new ArgumentException($"{dtype} is not a floating-point dtype", nameof(dtype));
        TorchRuntime.Initialize();
        return new SafeTensorsItem(name, dtype, tensor(values.ToArray(), shape));
    }

    /// <summary>Integer values (a new CPU int64 tensor) to be stored as I64 or I32 (values outside int32 are an <see cref="OverflowException"/>).</summary>
    public static SafeTensorsItem FromInt64(string name, ReadOnlySpan<long> values, long[] shape, SafeTensorsDType dtype = SafeTensorsDType.I64)
    {
        CheckCount(name, values.Length, shape);
        if (dtype is not (SafeTensorsDType.I64 or SafeTensorsDType.I32))
            throw new ArgumentException($"{dtype} is not an integer dtype", nameof(dtype));
        if (dtype == SafeTensorsDType.I32)
            foreach (var v in values) _ = checked((int)v);
        TorchRuntime.Initialize();
        return new SafeTensorsItem(name, dtype, tensor(values.ToArray(), shape));
    }

    static void CheckCount(string name, int count, long[] shape)
    {
        long expected = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Any(d => d < 0) || expected != count)
            throw new ArgumentException($"tensor '{name}': {count} values do not fill shape [{string.Join(", ", shape)}]");
    }
}

/// <summary>
/// Writes safetensors files from tensors, streaming one tensor at a time (header first, offsets in the given order, padded with spaces
/// to a multiple of 8 bytes as the safetensors library does). Floating-point tensors are converted to the item's dtype (F32, F16, BF16,
/// F64; F8_E4M3 with <see cref="Float8.ToE4M3"/>), integer ones to I64/I32. Files are written with <see cref="AtomicFile"/> (complete or
/// absent after a crash); the stream overload writes the same bytes anywhere (e.g. into a hash).
/// </summary>
public static class SafeTensorsWriter
{
    public static void Write(string path, IReadOnlyList<SafeTensorsItem> items, IReadOnlyDictionary<string, string>? metadata = null)
    {
        CheckNames(items);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, fs => WriteUnchecked(fs, items, metadata));
    }

    /// <summary>Writes the bytes <see cref="Write(string, IReadOnlyList{SafeTensorsItem}, IReadOnlyDictionary{string, string}?)"/> would put in a file to <paramref name="output"/>.</summary>
    public static void Write(Stream output, IReadOnlyList<SafeTensorsItem> items, IReadOnlyDictionary<string, string>? metadata = null)
    {
        CheckNames(items);
        WriteUnchecked(output, items, metadata);
    }

    static void CheckNames(IReadOnlyList<SafeTensorsItem> items)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!names.Add(item.Name)) throw new ArgumentException($"tensor '{item.Name}' is written twice");
            if (item.Name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved");
        }
    }

    static void WriteUnchecked(Stream output, IReadOnlyList<SafeTensorsItem> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var item in items)
            {
                long bytes = item.Tensor.NumberOfElements * SafeTensorsFile.ElementSize(item.DType);
                w.WriteStartObject(item.Name);
                w.WriteString("dtype", item.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in item.Tensor.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        while ((8 + header.Length) % 8 != 0) header.WriteByte((byte)' ');

        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        output.Write(len);
        header.Position = 0;
        header.CopyTo(output);
        foreach (var item in items) WriteData(output, item);
    }

    static void WriteData(Stream output, SafeTensorsItem item)
    {
        if (item.Tensor.NumberOfElements == 0) return;
        using var scope = NewDisposeScope();
        var t = item.Tensor.detach();
        if (item.DType is SafeTensorsDType.F8_E4M3)
        {
            var values = t.to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray();
            var bytes = new byte[values.Length];
            for (int i = 0; i < values.Length; i++) bytes[i] = Float8.ToE4M3(values[i]);
            output.Write(bytes);
            return;
        }
        if (item.DType is SafeTensorsDType.F8_E5M2)
            throw new ArgumentException($"tensor '{item.Name}': writing F8_E5M2 is not supported");
        var cpu = t.to(SafeTensorsFile.TorchType(item.DType), CPU).contiguous().view(-1);
        long elementSize = cpu.ElementSize;
        long chunk = (1L << 30) / elementSize;
        for (long start = 0; start < cpu.NumberOfElements; start += chunk)
        {
            using var part = cpu.narrow(0, start, Math.Min(chunk, cpu.NumberOfElements - start));
            output.Write(part.bytes);
        }
    }
}
