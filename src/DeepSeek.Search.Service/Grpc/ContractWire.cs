using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// Checks a request's protobuf bytes against the contract's descriptor: a field the contract knows but sent with another
/// wire type (a string where an int32 belongs, a number where a message belongs) is named, instead of being dropped as an
/// unknown field by the parser (which would turn <c>k</c> into 0 and blame the value). Unknown field numbers pass, as
/// proto3 wants for newer clients. The wire format is protobuf's encoding spec: varint (0), 64-bit (1), length-delimited
/// (2), groups (3, 4), 32-bit (5).
/// </summary>
static class ContractWire
{
    /// <summary>Null when every known field of <paramref name="bytes"/> has its declared wire type; else what is wrong.</summary>
    public static string? FindMistypedField(ReadOnlySpan<byte> bytes, MessageDescriptor descriptor, int depth = 0)
    {
        int at = 0;
        while (at < bytes.Length)
        {
            ulong tag = ReadVarint(bytes, ref at);
            int number = (int)(tag >> 3);
            int wire = (int)(tag & 7);
            var field = descriptor.FindFieldByNumber(number);
            int start = at;
            int length = Skip(bytes, ref at, wire);
            if (field is null) continue;
            var expected = Expected(field);
            bool packed = wire == 2 && field.IsRepeated && expected is 0 or 1 or 5;
            if (wire != expected && !packed)
                return $"field {number} ({field.Name}) of {descriptor.FullName} must be {Kind(field)}, got {WireName(wire)}";
            if (field.FieldType == FieldType.Message && wire == 2 && depth < 100
                && FindMistypedField(bytes.Slice(start + length, at - start - length), field.MessageType, depth + 1) is { } inner)
                return inner;
        }
        return null;
    }

    static int Expected(FieldDescriptor f) => f.FieldType switch
    {
        FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64 => 1,
        FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32 => 5,
        FieldType.String or FieldType.Bytes or FieldType.Message => 2,
        FieldType.Group => 3,
        _ => 0,
    };

    static string Kind(FieldDescriptor f) =>
        (f.IsRepeated ? "repeated " : "") + (f.FieldType == FieldType.Message ? "message " + f.MessageType.FullName : f.FieldType.ToString().ToLowerInvariant());

    static string WireName(int wire) => wire switch
    {
        0 => "a varint (integer, bool or enum)",
        1 => "a 64-bit value",
        2 => "a length-delimited value (string, bytes or message)",
        3 or 4 => "a group",
        5 => "a 32-bit value",
        _ => $"wire type {wire}",
    };

    /// <summary>Moves past one value of <paramref name="wire"/> type; for length-delimited values returns the length prefix's size.</summary>
    static int Skip(ReadOnlySpan<byte> bytes, ref int at, int wire)
    {
        switch (wire)
        {
            case 0: ReadVarint(bytes, ref at); return 0;
            case 1: Advance(bytes, ref at, 8); return 0;
            case 5: Advance(bytes, ref at, 4); return 0;
            case 2:
                int before = at;
                ulong n = ReadVarint(bytes, ref at);
                int prefix = at - before;
                if (n > int.MaxValue) throw Malformed();
                Advance(bytes, ref at, (int)n);
                // the caller slices the payload as [start + prefix, at)
                return prefix;
            case 3:
                while (true)
                {
                    ulong t = ReadVarint(bytes, ref at);
                    if ((t & 7) == 4) return 0;
                    Skip(bytes, ref at, (int)(t & 7));
                }
            default: throw Malformed();
        }
    }

    static void Advance(ReadOnlySpan<byte> bytes, ref int at, int n)
    {
        if (n > bytes.Length - at) throw Malformed();
        at += n;
    }

    static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (at >= bytes.Length) throw Malformed();
            byte b = bytes[at++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw Malformed();
    }

    static InvalidDataException Malformed() => new("the message ends inside a field or holds an invalid varint");
}
