using System.Buffers.Binary;
using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Torch.SafeTensors;

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
        SafeTensorsWriter.Write(path, new[]
        {
            SafeTensorsItem.FromFloats("a.f32", f, new long[] { 2, 3 }),
            SafeTensorsItem.FromFloats("b.f16", f, new long[] { 6 }, SafeTensorsDType.F16),
            SafeTensorsItem.FromFloats("c.bf16", f, new long[] { 3, 2 }, SafeTensorsDType.BF16),
            SafeTensorsItem.FromInt64("d.i64", l, new long[] { 6 }),
            SafeTensorsItem.FromInt64("e.i32", new long[] { -7, 0, 7 }, new long[] { 3, 1 }, SafeTensorsDType.I32),
            SafeTensorsItem.FromFloats("f.scalar", new[] { 9f }, Array.Empty<long>()),
            SafeTensorsItem.FromFloats("g.empty", Array.Empty<float>(), new long[] { 0, 4 }),
        }, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });

        var bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + n) % 8);

        using var r = SafeTensorsFile.Open(path);
        Assert.Equal("pt", r.Metadata["format"]);
        Assert.Equal("x", r.Metadata["note"]);
        Assert.Equal(7, r.Entries.Count);
        Assert.Equal(f, r.ReadFloats("a.f32"));
        Assert.Equal(new long[] { 2, 3 }, r.Entries["a.f32"].Shape);
        Assert.Equal(f.Select(x => (float)(Half)x), r.ReadFloats("b.f16"));
        Assert.Equal(SafeTensorsDType.BF16, r.Entries["c.bf16"].DType);
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
        using var tmp = new TempDir();
        // 1; 1 + 2^-8 (halfway between 1 and 1 + 2^-7: ties to even, 1.0); 1 + 3·2^-8 (halfway between 1 + 2^-7 and 1 + 2^-6: ties to
        // even, 1 + 2^-6); NaN; -2
        SafeTensorsWriter.Write(tmp.File("bf16.safetensors"), new[]
        {
            SafeTensorsItem.FromFloats("x", new[] { 1.0f, 1.00390625f, 1.01171875f, float.NaN, -2f }, new long[] { 5 }, SafeTensorsDType.BF16),
        });
        using var r = SafeTensorsFile.Open(tmp.File("bf16.safetensors"));
        var bits = r.Bytes("x").ToArray();
        ushort Bits(int i) => BinaryPrimitives.ReadUInt16LittleEndian(bits.AsSpan(2 * i));
        Assert.Equal(0x3F80, Bits(0));
        Assert.Equal(0x3F80, Bits(1));
        Assert.Equal(0x3F82, Bits(2));
        var values = r.ReadFloats("x");
        Assert.True(float.IsNaN(values[3]));
        Assert.Equal(-2f, values[4]);
    }

    [Fact]
    public void Reads_the_hf_golden_file()
    {
        using var r = SafeTensorsFile.Open(Golden.GoldenFile("tiny"));
        Assert.Equal(new long[] { 7, 128 }, r.Entries["input_ids"].Shape);
        Assert.Equal(SafeTensorsDType.I64, r.Entries["input_ids"].DType);
        Assert.Equal(new long[] { 7, 128, 64 }, r.Entries["last_hidden_state"].Shape);
        var ids = r.ReadInt64("input_ids");
        Assert.Equal(101, ids[0]);
        using var m = SafeTensorsFile.Open(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors"));
        Assert.Equal("pt", m.Metadata["format"]);
        Assert.Equal(new long[] { 30522, 64 }, m.Entries["embeddings.word_embeddings.weight"].Shape);
    }

    [Fact]
    public void Truncated_files_are_rejected()
    {
        using var tmp = new TempDir();
        var full = File.ReadAllBytes(Path.Combine(Golden.ModelDir("tiny"), "model.safetensors"));
        File.WriteAllBytes(tmp.File("cut.safetensors"), full[..(full.Length - 1000)]);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(tmp.File("cut.safetensors")));
        Assert.Contains("pooler.dense.weight", e.Message);
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(tmp.File("tiny.safetensors"), new byte[] { 1, 2, 3 });
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(tmp.File("tiny.safetensors")));
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(tmp.File("header.safetensors"), full[..200]);
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(tmp.File("header.safetensors")));
        Assert.Contains("header", e.Message);

        Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(tmp.File("missing.safetensors")));
    }

    [Fact]
    public void Lying_headers_are_rejected_naming_the_tensor()
    {
        using var tmp = new TempDir();
        // offsets past the data
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8)));
        Assert.Contains("'w'", e.Message);
        // byte range does not match dtype × shape
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", 16)));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("12 bytes", e.Message);
        // overlapping tensors
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12)));
        Assert.Contains("overlaps", e.Message);
        // a gap
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8)));
        Assert.Contains("gap", e.Message);
        // undeclared trailing bytes
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12)));
        Assert.Contains("8 bytes after", e.Message);
        // unsupported dtype, bad JSON, header length beyond the file
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""", 8)));
        Assert.Contains("C64", e.Message);
        using (var f64 = SafeTensorsFile.Open(WriteRaw(tmp, """{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}""", 8, "f64.safetensors")))
            Assert.Contains("F64", Assert.Throws<CheckpointException>(() => f64.ReadFloats("a")).Message);
        // a tensor named twice (the old reader kept the last one)
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp,
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8)));
        Assert.Contains("'a'", e.Message);
        Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp, "{not json", 0)));
        Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(WriteRaw(tmp, """{"a":{"dtype":"F32"}}""", 0)));
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(tmp.File("long.safetensors"), bytes);
        e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(tmp.File("long.safetensors")));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Writer_validates_its_input()
    {
        using var tmp = new TempDir();
        Assert.Throws<ArgumentException>(() => SafeTensorsItem.FromFloats("x", new float[3], new long[] { 2, 2 }));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(tmp.File("d.safetensors"), new[]
        {
            SafeTensorsItem.FromFloats("x", new float[1], new long[] { 1 }), SafeTensorsItem.FromFloats("x", new float[1], new long[] { 1 }),
        }));
        Assert.False(File.Exists(tmp.File("d.safetensors")));
    }
}
