using System.Buffers.Binary;
using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Encode.Tests;

public class SafeTensorsTests
{
    static string WriteRaw(TempDir tmp, string header, int dataBytes, string name = "raw.safetensors")
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(tmp.File(name), bytes);
        return tmp.File(name);
    }

    [Fact]
    public void Round_trip_of_every_dtype_with_metadata()
    {
        using var tmp = new TempDir();
        float[] f = { 1.5f, -2.25f, 3.0e-3f, 65504f, 0f, -0f };
        long[] l = { long.MinValue, -1, 0, 1, long.MaxValue, 42 };
        string path = tmp.File("t.safetensors");
        SafeTensors.Write(path, new[]
        {
            SafeTensor.FromFloats("a.f32", f, new long[] { 2, 3 }),
            SafeTensor.FromFloats("b.f16", f, new long[] { 6 }, SafeTensorDType.F16),
            SafeTensor.FromFloats("c.bf16", f, new long[] { 3, 2 }, SafeTensorDType.BF16),
            SafeTensor.FromInt64("d.i64", l, new long[] { 6 }),
            SafeTensor.FromInt64("e.i32", new long[] { -7, 0, 7 }, new long[] { 3, 1 }, SafeTensorDType.I32),
            SafeTensor.FromFloats("f.scalar", new[] { 9f }, Array.Empty<long>()),
            SafeTensor.FromFloats("g.empty", Array.Empty<float>(), new long[] { 0, 4 }),
        }, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });

        var bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + n) % 8);

        using var r = SafeTensorsReader.Open(path);
        Assert.Equal("pt", r.Metadata["format"]);
        Assert.Equal("x", r.Metadata["note"]);
        Assert.Equal(7, r.Tensors.Count);
        Assert.Equal(f, r.ReadFloats("a.f32"));
        Assert.Equal(new long[] { 2, 3 }, r.Tensors["a.f32"].Shape);
        Assert.Equal(f.Select(x => (float)(Half)x), r.ReadFloats("b.f16"));
        Assert.Equal(SafeTensorDType.BF16, r.Tensors["c.bf16"].DType);
        Assert.Equal(new[] { 1.5f, -2.25f, 0.0030059814f, 65536f, 0f, -0f }, r.ReadFloats("c.bf16"));
        Assert.Equal(l, r.ReadInt64("d.i64"));
        Assert.Equal(new long[] { -7, 0, 7 }, r.ReadInt64("e.i32"));
        Assert.Equal(new[] { 9f }, r.ReadFloats("f.scalar"));
        Assert.Empty(r.ReadFloats("g.empty"));
        Assert.Throws<CheckpointException>(() => r.ReadInt64("a.f32"));
        Assert.Throws<CheckpointException>(() => r.ReadFloats("d.i64"));
        Assert.Throws<CheckpointException>(() => r.ReadFloats("nope"));
    }

    [Fact]
    public void Bfloat16_rounds_to_nearest_even()
    {
        Assert.Equal(0x3F80, SafeTensors.FloatToBFloat16(1.0f));
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0)
        Assert.Equal(0x3F80, SafeTensors.FloatToBFloat16(1.00390625f));
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6)
        Assert.Equal(0x3F82, SafeTensors.FloatToBFloat16(1.01171875f));
        Assert.True(float.IsNaN(SafeTensors.BFloat16ToFloat(SafeTensors.FloatToBFloat16(float.NaN))));
        Assert.Equal(-2f, SafeTensors.BFloat16ToFloat(SafeTensors.FloatToBFloat16(-2f)));
    }

    [Fact]
    public void Reads_the_hf_golden_file()
    {
        using var r = SafeTensorsReader.Open(Golden.GoldenFile("tiny"));
        Assert.Equal(new long[] { 7, 128 }, r.Tensors["input_ids"].Shape);
        Assert.Equal(SafeTensorDType.I64, r.Tensors["input_ids"].DType);
        Assert.Equal(new long[] { 7, 128, 64 }, r.Tensors["last_hidden_state"].Shape);
        var ids = r.ReadInt64("input_ids");
        Assert.Equal(101, ids[0]);
        using var m = SafeTensorsReader.Open(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors"));
        Assert.Equal("pt", m.Metadata["format"]);
        Assert.Equal(new long[] { 30522, 64 }, m.Tensors["embeddings.word_embeddings.weight"].Shape);
    }

    [Fact]
    public void Truncated_files_are_rejected()
    {
        using var tmp = new TempDir();
        var full = File.ReadAllBytes(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors"));
        File.WriteAllBytes(tmp.File("cut.safetensors"), full[..(full.Length - 1000)]);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(tmp.File("cut.safetensors")));
        Assert.Contains("pooler.dense.weight", e.Message);
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(tmp.File("tiny.safetensors"), new byte[] { 1, 2, 3 });
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(tmp.File("tiny.safetensors")));
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(tmp.File("header.safetensors"), full[..200]);
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(tmp.File("header.safetensors")));
        Assert.Contains("header", e.Message);

        Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(tmp.File("missing.safetensors")));
    }

    [Fact]
    public void Lying_headers_are_rejected_naming_the_tensor()
    {
        using var tmp = new TempDir();
        // offsets past the data
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp,
            """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8)));
        Assert.Contains("'w'", e.Message);
        // byte range does not match dtype × shape
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp,
            """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", 16)));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("12 bytes", e.Message);
        // overlapping tensors
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12)));
        Assert.Contains("overlaps", e.Message);
        // a gap
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8)));
        Assert.Contains("gap", e.Message);
        // undeclared trailing bytes
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12)));
        Assert.Contains("8 bytes after", e.Message);
        // unsupported dtype, bad JSON, header length beyond the file
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}""", 8)));
        Assert.Contains("F64", e.Message);
        Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp, "{not json", 0)));
        Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(WriteRaw(tmp, """{"a":{"dtype":"F32"}}""", 0)));
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(tmp.File("long.safetensors"), bytes);
        e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Open(tmp.File("long.safetensors")));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Writer_validates_its_input()
    {
        using var tmp = new TempDir();
        Assert.Throws<ArgumentException>(() => SafeTensor.FromFloats("x", new float[3], new long[] { 2, 2 }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(tmp.File("d.safetensors"), new[]
        {
            SafeTensor.FromFloats("x", new float[1], new long[] { 1 }), SafeTensor.FromFloats("x", new float[1], new long[] { 1 }),
        }));
        Assert.False(File.Exists(tmp.File("d.safetensors")));
    }
}
