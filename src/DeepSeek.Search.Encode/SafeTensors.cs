using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Encode;

/// <summary>Element types of the safetensors format that this engine reads and writes.</summary>
public enum SafeTensorDType { F32, F16, BF16, I64, I32 }

/// <summary>One tensor's header entry: dtype, shape and byte range <c>[Begin, End)</c> inside the data section.</summary>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>A tensor to write: name, dtype, shape and its little-endian bytes (see the factories).</summary>
public sealed record SafeTensor(string Name, SafeTensorDType DType, long[] Shape, byte[] Data)
{
    /// <summary>Float values stored as F32, F16 (IEEE half, round to nearest) or BF16 (round to nearest even).</summary>
    public static SafeTensor FromFloats(string name, ReadOnlySpan<float> values, long[] shape, SafeTensorDType dtype = SafeTensorDType.F32)
    {
        CheckCount(name, values.Length, shape);
        byte[] data;
        switch (dtype)
        {
            case SafeTensorDType.F32:
                data = new byte[values.Length * 4];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
                break;
            case SafeTensorDType.F16:
                data = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i * 2), (Half)values[i]);
                break;
            case SafeTensorDType.BF16:
                data = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), SafeTensors.FloatToBFloat16(values[i]));
                break;
            default:
                throw new ArgumentException($"{dtype} is not a floating-point dtype", nameof(dtype));
        }
        return new SafeTensor(name, dtype, shape, data);
    }

    /// <summary>Integer values stored as I64 or I32.</summary>
    public static SafeTensor FromInt64(string name, ReadOnlySpan<long> values, long[] shape, SafeTensorDType dtype = SafeTensorDType.I64)
    {
        CheckCount(name, values.Length, shape);
        byte[] data;
        switch (dtype)
        {
            case SafeTensorDType.I64:
                data = new byte[values.Length * 8];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * 8), values[i]);
                break;
            case SafeTensorDType.I32:
                data = new byte[values.Length * 4];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), checked((int)values[i]));
                break;
            default:
                throw new ArgumentException($"{dtype} is not an integer dtype", nameof(dtype));
        }
        return new SafeTensor(name, dtype, shape, data);
    }

    static void CheckCount(string name, int count, long[] shape)
    {
        long expected = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Any(d => d < 0) || expected != count)
            throw new ArgumentException($"tensor '{name}': {count} values do not fill shape [{string.Join(", ", shape)}]");
    }
}

/// <summary>
/// The safetensors file format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}</c>), then the raw little-endian data,
/// offsets relative to the data section. Our own reader and writer; F32, F16, BF16, I64 and I32.
/// </summary>
public static class SafeTensors
{
    /// <summary>The safetensors library refuses headers over 100 MB; so do we.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public static int ElementSize(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 or SafeTensorDType.I32 => 4,
        SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Round-to-nearest-even conversion to bfloat16 bits (NaN stays NaN), as torch's <c>.to(torch.bfloat16)</c>.</summary>
    public static ushort FloatToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static float BFloat16ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// Writes tensors (in the given order) and optional string metadata. The header is padded with spaces to a multiple of 8 bytes.
    /// The file is written to a temporary name and then moved into place.
    /// </summary>
    public static void Write(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Serialize(fs, list, metadata);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes the safetensors bytes of <paramref name="tensors"/> to a stream (see <see cref="Write"/>).</summary>
    public static void Serialize(Stream output, IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!names.Add(t.Name)) throw new ArgumentException($"tensor '{t.Name}' is written twice");
            if (t.Name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved");
            long expected = t.Shape.Aggregate(1L, (a, b) => a * b) * ElementSize(t.DType);
            if (expected != t.Data.LongLength) throw new ArgumentException($"tensor '{t.Name}': {t.Data.LongLength} bytes for shape [{string.Join(", ", t.Shape)}] {t.DType}");
        }

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
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.LongLength);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.LongLength;
            }
            w.WriteEndObject();
        }
        while ((8 + header.Length) % 8 != 0) header.WriteByte((byte)' ');

        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        output.Write(len);
        header.Position = 0;
        header.CopyTo(output);
        foreach (var t in tensors) output.Write(t.Data);
    }
}

/// <summary>
/// Reads a safetensors file. The header is parsed and validated when opening (dtypes, shapes, byte ranges consistent with the
/// dtype and shape, ranges contiguous and inside the file); any problem is a <see cref="CheckpointException"/> naming the file
/// and the tensor. Tensor data is read on demand.
/// </summary>
public sealed class SafeTensorsReader : IDisposable
{
    readonly FileStream _stream;
    readonly long _dataStart;

    SafeTensorsReader(string path, FileStream stream, long dataStart, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _stream = stream;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string FilePath { get; }

    /// <summary>Header entries by tensor name.</summary>
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsReader Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"safetensors file not found: {path}");
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (IOException e) { throw new CheckpointException($"{path}: cannot open ({e.Message})", e); }
        catch (UnauthorizedAccessException e) { throw new CheckpointException($"{path}: cannot open ({e.Message})", e); }
        try
        {
            return Parse(path, fs);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    static SafeTensorsReader Parse(string path, FileStream fs)
    {
        long fileLength = fs.Length;
        if (fileLength < 8) throw new CheckpointException($"{path}: truncated safetensors file ({fileLength} bytes, no header length)");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > (ulong)SafeTensors.MaxHeaderBytes)
            throw new CheckpointException($"{path}: header length {headerLength} is over the {SafeTensors.MaxHeaderBytes}-byte limit (not a safetensors file?)");
        if (8 + (long)headerLength > fileLength)
            throw new CheckpointException($"{path}: truncated safetensors file (header of {headerLength} bytes, file of {fileLength} bytes)");
        var header = new byte[headerLength];
        fs.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new CheckpointException($"{path}: the safetensors header is not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: the safetensors header is not a JSON object");
            var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
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
                tensors[prop.Name] = ParseEntry(path, prop.Name, prop.Value);
            }

            // byte ranges must tile the data section exactly, as the safetensors library requires
            long expectedBegin = 0;
            foreach (var t in tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
            {
                if (t.Begin != expectedBegin)
                    throw new CheckpointException(t.Begin < expectedBegin
                        ? $"{path}: tensor '{t.Name}' overlaps the previous tensor (data_offsets [{t.Begin}, {t.End}])"
                        : $"{path}: gap before tensor '{t.Name}' (data_offsets [{t.Begin}, {t.End}], expected to begin at {expectedBegin})");
                if (t.End > dataLength)
                    throw new CheckpointException($"{path}: tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] run past the end of the data ({dataLength} bytes): truncated file or lying header");
                expectedBegin = t.End;
            }
            if (expectedBegin != dataLength)
                throw new CheckpointException($"{path}: {dataLength - expectedBegin} bytes after the last tensor are not described by the header");
            return new SafeTensorsReader(path, fs, dataStart, tensors, metadata);
        }
    }

    static SafeTensorInfo ParseEntry(string path, string name, JsonElement e)
    {
        try
        {
            if (e.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: header entry of tensor '{name}' is not an object");
            string dt = e.GetProperty("dtype").GetString() ?? "";
            if (!Enum.TryParse<SafeTensorDType>(dt, ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype))
                throw new CheckpointException($"{path}: tensor '{name}' has unsupported dtype '{dt}' (supported: F32, F16, BF16, I64, I32)");
            var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (shape.Any(d => d < 0)) throw new CheckpointException($"{path}: tensor '{name}' has a negative dimension");
            var offs = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0])
                throw new CheckpointException($"{path}: tensor '{name}' has invalid data_offsets [{string.Join(", ", offs)}]");
            var info = new SafeTensorInfo(name, dtype, shape, offs[0], offs[1]);
            long expected;
            try { expected = checked(info.ElementCount * SafeTensors.ElementSize(dtype)); }
            catch (OverflowException) { throw new CheckpointException($"{path}: tensor '{name}' shape {info.ShapeText} is too large"); }
            if (info.ByteLength != expected)
                throw new CheckpointException($"{path}: tensor '{name}' ({dtype} {info.ShapeText}) needs {expected} bytes but data_offsets [{offs[0]}, {offs[1]}] give {info.ByteLength}");
            return info;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: malformed header entry for tensor '{name}' ({ex.Message})", ex);
        }
    }

    SafeTensorInfo Info(string name) =>
        Tensors.TryGetValue(name, out var info) ? info : throw new CheckpointException($"{FilePath}: no tensor '{name}'");

    /// <summary>The raw little-endian bytes of a tensor.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = Info(name);
        if (info.ByteLength > Array.MaxLength) throw new CheckpointException($"{FilePath}: tensor '{name}' is too large to read into one array");
        var buffer = new byte[info.ByteLength];
        lock (_stream)
        {
            _stream.Position = _dataStart + info.Begin;
            try { _stream.ReadExactly(buffer); }
            catch (EndOfStreamException e) { throw new CheckpointException($"{FilePath}: tensor '{name}' is cut off (file changed while reading?)", e); }
        }
        return buffer;
    }

    /// <summary>A floating-point tensor (F32, F16 or BF16) as float32 values, row-major.</summary>
    public float[] ReadFloats(string name)
    {
        var info = Info(name);
        var bytes = ReadBytes(name);
        var result = new float[info.ElementCount];
        switch (info.DType)
        {
            case SafeTensorDType.F32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                else for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                break;
            case SafeTensorDType.F16:
                for (int i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
                break;
            case SafeTensorDType.BF16:
                for (int i = 0; i < result.Length; i++) result[i] = SafeTensors.BFloat16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)));
                break;
            default:
                throw new CheckpointException($"{FilePath}: tensor '{name}' is {info.DType}, not a floating-point tensor");
        }
        return result;
    }

    /// <summary>An integer tensor (I64 or I32) as int64 values, row-major.</summary>
    public long[] ReadInt64(string name)
    {
        var info = Info(name);
        var bytes = ReadBytes(name);
        var result = new long[info.ElementCount];
        switch (info.DType)
        {
            case SafeTensorDType.I64:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8));
                break;
            case SafeTensorDType.I32:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
                break;
            default:
                throw new CheckpointException($"{FilePath}: tensor '{name}' is {info.DType}, not an integer tensor");
        }
        return result;
    }

    public void Dispose() => _stream.Dispose();
}
