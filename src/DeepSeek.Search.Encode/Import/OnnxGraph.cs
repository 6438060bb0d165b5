using DeepSeek.Search.Core;
using Google.Protobuf;
using Onnx;

namespace DeepSeek.Search.Encode.Import;

/// <summary>
/// A read-only view of an ONNX model's main graph for the importer: initializers by name, the node producing each value,
/// the nodes consuming it, and constant folding of the small integer tensors that feed <c>Reshape</c> shapes. The protobuf
/// classes are OnnxSharp's, generated from the official <c>onnx.proto</c>.
/// </summary>
sealed class OnnxGraph
{
    readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    public string Path { get; }
    public ModelProto Model { get; }
    public GraphProto Graph => Model.Graph;
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    OnnxGraph(string path, ModelProto model)
    {
        Path = path;
        Model = model;
        var inits = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer)
            if (!inits.TryAdd(t.Name, t)) throw new CheckpointException($"{path}: initializer '{t.Name}' appears twice");
        Initializers = inits;
        foreach (var n in model.Graph.Node)
        {
            foreach (var o in n.Output) if (o.Length > 0) _producer[o] = n;
            foreach (var i in n.Input)
            {
                if (i.Length == 0) continue;
                if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = new List<NodeProto>();
                list.Add(n);
            }
        }
    }

    /// <summary>Parses an ONNX file; a file that is not a readable ONNX model is a <see cref="CheckpointException"/> naming it.</summary>
    public static OnnxGraph Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"ONNX model not found: {path}");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CheckpointException($"{path}: not a readable ONNX model ({e.Message.TrimEnd('.')}; a truncated or non-ONNX file?)", e);
        }
        if (model.Graph is null || (model.Graph.Node.Count == 0 && model.Graph.Initializer.Count == 0))
            throw new CheckpointException($"{path}: not an ONNX model (no graph)");
        return new OnnxGraph(path, model);
    }

    public NodeProto? Producer(string value) => _producer.GetValueOrDefault(value);

    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var l) ? l : Array.Empty<NodeProto>();

    public static string Describe(NodeProto n) => $"{n.OpType} node '{(n.Name.Length > 0 ? n.Name : n.Output.FirstOrDefault() ?? "?")}'";

    /// <summary>The integer values of <paramref name="value"/> when it is constant: an initializer, a <c>Constant</c> node, or an
    /// <c>Unsqueeze</c>/<c>Concat</c>/<c>Identity</c>/<c>Cast</c> of constants. Null when it depends on a graph input.</summary>
    public long[]? ConstantInts(string value, int depth = 0)
    {
        if (depth > 16) return null;
        if (Initializers.TryGetValue(value, out var init)) return ReadInts(init);
        var n = Producer(value);
        if (n is null) return null;
        switch (n.OpType)
        {
            case "Constant":
                var a = n.Attribute.FirstOrDefault(x => x.Name == "value");
                if (a?.T is { } t) return ReadInts(t);
                var ints = n.Attribute.FirstOrDefault(x => x.Name is "value_ints" or "value_int");
                if (ints is null) return null;
                return ints.Name == "value_int" ? new[] { ints.I } : ints.Ints.ToArray();
            case "Unsqueeze" or "Identity" or "Cast" or "Squeeze":
                return ConstantInts(n.Input[0], depth + 1);
            case "Concat":
                var parts = new List<long>();
                foreach (var i in n.Input)
                {
                    var p = ConstantInts(i, depth + 1);
                    if (p is null) return null;
                    parts.AddRange(p);
                }
                return parts.ToArray();
            default:
                return null;
        }
    }

    /// <summary>Like <see cref="ConstantInts"/>, but each input of a <c>Concat</c> on its own: the constant tail of a shape whose
    /// leading dimensions (batch, sequence) are computed from the input.</summary>
    public long[]? ConstantTail(string value)
    {
        var whole = ConstantInts(value);
        if (whole != null) return whole;
        var n = Producer(value);
        if (n is null || n.OpType != "Concat") return null;
        var tail = new List<long>();
        for (int i = n.Input.Count - 1; i >= 0; i--)
        {
            var p = ConstantInts(n.Input[i]);
            if (p is null) break;
            tail.InsertRange(0, p);
        }
        return tail.Count > 0 ? tail.ToArray() : null;
    }

    /// <summary>A scalar floating constant (initializer or Constant node), or null.</summary>
    public float? ConstantScalar(string value)
    {
        TensorProto? t = null;
        if (Initializers.TryGetValue(value, out var init)) t = init;
        else if (Producer(value) is { OpType: "Constant" } n) t = n.Attribute.FirstOrDefault(x => x.Name == "value")?.T;
        if (t is null || t.Dims.Aggregate(1L, (x, y) => x * y) != 1) return null;
        if (t.DataType is not ((int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Double or (int)TensorProto.Types.DataType.Float16)) return null;
        return ReadFloats(t)[0];
    }

    static long[]? ReadInts(TensorProto t)
    {
        switch ((TensorProto.Types.DataType)t.DataType)
        {
            case TensorProto.Types.DataType.Int64:
                if (t.Int64Data.Count > 0) return t.Int64Data.ToArray();
                var b = t.RawData.Span;
                var r = new long[b.Length / 8];
                for (int i = 0; i < r.Length; i++) r[i] = BitConverter.ToInt64(b.Slice(i * 8, 8));
                return r;
            case TensorProto.Types.DataType.Int32:
                if (t.Int32Data.Count > 0) return t.Int32Data.Select(x => (long)x).ToArray();
                var c = t.RawData.Span;
                var s = new long[c.Length / 4];
                for (int i = 0; i < s.Length; i++) s[i] = BitConverter.ToInt32(c.Slice(i * 4, 4));
                return s;
            default:
                return null;
        }
    }

    /// <summary>
    /// The values of a float32, float16 or float64 tensor as float32 (raw data, typed fields, or external data beside the model).
    /// Any other type, or data of the wrong length, is a <see cref="CheckpointException"/> naming the tensor.
    /// </summary>
    public float[] ReadFloats(TensorProto t)
    {
        long count = t.Dims.Aggregate(1L, (x, y) => x * y);
        var type = (TensorProto.Types.DataType)t.DataType;
        int size = type switch
        {
            TensorProto.Types.DataType.Float => 4,
            TensorProto.Types.DataType.Float16 => 2,
            TensorProto.Types.DataType.Double => 8,
            _ => throw new CheckpointException($"{Path}: initializer '{t.Name}' is {type}, expected a floating-point tensor"),
        };
        ReadOnlySpan<byte> raw;
        byte[]? external = null;
        if (t.DataLocation == TensorProto.Types.DataLocation.External) raw = external = ReadExternal(t, count * size);
        else raw = t.RawData.Span;
        var values = new float[count];
        if (raw.Length > 0)
        {
            if (raw.Length != count * size)
                throw new CheckpointException($"{Path}: initializer '{t.Name}' holds {raw.Length} bytes, its shape [{string.Join(", ", t.Dims)}] needs {count * size}");
            for (long i = 0; i < count; i++)
            {
                var s = raw.Slice((int)(i * size), size);
                values[i] = size switch
                {
                    4 => BitConverter.ToSingle(s),
                    2 => (float)BitConverter.ToHalf(s),
                    _ => (float)BitConverter.ToDouble(s),
                };
            }
            return values;
        }
        // typed fields: float_data holds float32 and (as uint16 bits in int32_data) float16; double_data float64
        if (type == TensorProto.Types.DataType.Float && t.FloatData.Count == count) { t.FloatData.CopyTo(values, 0); return values; }
        if (type == TensorProto.Types.DataType.Double && t.DoubleData.Count == count)
        {
            for (int i = 0; i < count; i++) values[i] = (float)t.DoubleData[i];
            return values;
        }
        if (type == TensorProto.Types.DataType.Float16 && t.Int32Data.Count == count)
        {
            for (int i = 0; i < count; i++) values[i] = (float)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]);
            return values;
        }
        throw new CheckpointException($"{Path}: initializer '{t.Name}' has no data for its shape [{string.Join(", ", t.Dims)}]");
    }

    byte[] ReadExternal(TensorProto t, long length)
    {
        var info = t.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (!info.TryGetValue("location", out var location) || location.Length == 0)
            throw new CheckpointException($"{Path}: initializer '{t.Name}' is stored externally but names no file");
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        string file = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, location));
        if (!file.StartsWith(dir + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new CheckpointException($"{Path}: initializer '{t.Name}' points outside the model's folder ('{location}')");
        if (!File.Exists(file)) throw new CheckpointException($"{Path}: external data file of initializer '{t.Name}' not found: {file}");
        long offset = info.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
        using var fs = File.OpenRead(file);
        if (offset < 0 || offset + length > fs.Length)
            throw new CheckpointException($"{file}: initializer '{t.Name}' needs bytes {offset}..{offset + length}, the file has {fs.Length}");
        fs.Position = offset;
        var buffer = new byte[length];
        fs.ReadExactly(buffer);
        return buffer;
    }
}
