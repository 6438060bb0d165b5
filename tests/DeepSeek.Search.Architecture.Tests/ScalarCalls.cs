using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace DeepSeek.Search.Architecture.Tests;

/// <summary>
/// Finds, in a compiled assembly's IL, the calls into TorchSharp that make a <c>TorchSharp.Scalar</c> nobody keeps alive.
/// TorchSharp's <c>Scalar</c> owns a native handle and frees it in a finalizer; a call such as <c>add(other, alpha)</c>
/// reads <c>alpha.Handle</c> and then runs the native op, and nothing keeps <c>alpha</c> reachable across that call. A
/// temporary Scalar (an implicit conversion at the call site, or the <c>1</c> TorchSharp itself passes as the alpha of
/// <c>a + b</c>) can therefore be finalized, and its handle freed, while libtorch still reads it: under GC pressure from
/// racing readers this failed once as a libtorch <c>toFloat</c> check inside <c>THSTensor_add</c>.
/// A Scalar stored in a field first (a static cached constant, or one owned by a module) is kept alive by that field.
/// </summary>
public static class ScalarCalls
{
    /// <summary>One offending call: the method that makes it, the TorchSharp member it calls, and the IL offset.</summary>
    public sealed record Site(string Method, string Callee, int Offset)
    {
        public override string ToString() => $"{Method} (IL_{Offset:x4}) calls {Callee}";
    }

    // Tensor members that make their own temporary Scalar (TorchSharp passes a literal 1 as the alpha/value).
    static readonly HashSet<string> AlphaMakers = ["add(Tensor)", "add_(Tensor)", "add(Scalar)", "add_(Scalar)", "addcdiv(Tensor,Tensor)",
        "addcdiv_(Tensor,Tensor)", "op_Addition(Tensor,Tensor)", "op_Addition(Tensor,Scalar)", "op_Addition(Scalar,Tensor)",
        "op_Subtraction(Scalar,Tensor)"];
    /// <summary>The one place that makes Scalars on others' behalf, each kept alive by a field or a <c>using</c>.</summary>
    public const string KeeperType = "DeepSeek.Search.Torch.Scalars.";
    static readonly HashSet<string> Primitives = ["int", "long", "float", "double"];

    /// <summary>The offending calls in <paramref name="assemblyPath"/>.</summary>
    public static IReadOnlyList<Site> Find(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var names = new Names(md);
        var sites = new List<Site>();
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = md.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes();
                if (il is null) continue;
                string owner = $"{names.Of(typeHandle)}.{md.GetString(method.Name)}";
                if (owner.StartsWith(KeeperType, StringComparison.Ordinal)) continue;
                foreach (var (offset, callee, next) in Calls(md, il, names))
                    if (Offends(callee, next)) sites.Add(new Site(owner, callee, offset));
            }
        }
        return sites;
    }

    static bool Offends(string callee, OpCode next)
    {
        if (callee.StartsWith("TorchSharp.Scalar.op_Implicit(", StringComparison.Ordinal)
            || callee.StartsWith("TorchSharp.ScalarExtensionMethods.ToScalar(", StringComparison.Ordinal))
            return next != OpCodes.Stsfld && next != OpCodes.Stfld;
        if (callee is "TorchSharp.torch.add(Tensor,Tensor)" or "TorchSharp.torch.add(Tensor,Scalar)" or "TorchSharp.torch.add_(Tensor,Tensor)") return true;
        const string tensor = "TorchSharp.torch/Tensor.";
        if (!callee.StartsWith(tensor, StringComparison.Ordinal)) return false;
        string member = callee[tensor.Length..];
        if (AlphaMakers.Contains(member)) return true;
        // a + 1f, x * 0.5, 1 - x, x / 8.0: TorchSharp converts the number to a temporary Scalar
        int open = member.IndexOf('(');
        string op = member[..open];
        if (op is not ("op_Addition" or "op_Subtraction" or "op_Multiply" or "op_Division")) return false;
        return member[(open + 1)..^1].Split(',').Any(Primitives.Contains);
    }

    /// <summary>Every call/callvirt/newobj in <paramref name="il"/> with its target's name and the opcode after it.</summary>
    static IEnumerable<(int Offset, string Callee, OpCode Next)> Calls(MetadataReader md, byte[] il, Names names)
    {
        var ops = Decode(il);
        for (int i = 0; i < ops.Count; i++)
        {
            var (offset, op, token) = ops[i];
            if (op != OpCodes.Call && op != OpCodes.Callvirt && op != OpCodes.Newobj) continue;
            string? callee = names.OfMethod(MetadataTokens.EntityHandle(token));
            if (callee is null) continue;
            yield return (offset, callee, i + 1 < ops.Count ? ops[i + 1].Op : OpCodes.Nop);
        }
    }

    static readonly Dictionary<short, OpCode> OpCodeByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    static List<(int Offset, OpCode Op, int Token)> Decode(byte[] il)
    {
        var ops = new List<(int, OpCode, int)>();
        int pos = 0;
        while (pos < il.Length)
        {
            int start = pos;
            short value = il[pos++];
            if (value == 0xFE) value = unchecked((short)(0xFE00 | il[pos++]));
            if (!OpCodeByValue.TryGetValue(value, out var op)) throw new InvalidDataException($"unknown IL opcode 0x{value:x} at {start}");
            int token = 0;
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: pos += 1; break;
                case OperandType.InlineVar: pos += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: pos += 8; break;
                case OperandType.InlineSwitch: pos += 4 + 4 * BitConverter.ToInt32(il, pos); break;
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok
                    or OperandType.InlineString or OperandType.InlineSig:
                    token = BitConverter.ToInt32(il, pos); pos += 4; break;
                default: pos += 4; break; // InlineBrTarget, InlineI, ShortInlineR
            }
            ops.Add((start, op, token));
        }
        return ops;
    }

    /// <summary>Type and method names as "Namespace.Outer/Inner.member(Param,Param)".</summary>
    sealed class Names(MetadataReader md) : ISignatureTypeProvider<string, object?>
    {
        public string Of(TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            var declaring = t.GetDeclaringType();
            return declaring.IsNil ? Qualified(md.GetString(t.Namespace), md.GetString(t.Name)) : $"{Of(declaring)}/{md.GetString(t.Name)}";
        }

        string Of(TypeReferenceHandle h)
        {
            var t = md.GetTypeReference(h);
            return t.ResolutionScope.Kind == HandleKind.TypeReference
                ? $"{Of((TypeReferenceHandle)t.ResolutionScope)}/{md.GetString(t.Name)}"
                : Qualified(md.GetString(t.Namespace), md.GetString(t.Name));
        }

        static string Qualified(string ns, string name) => ns.Length == 0 ? name : $"{ns}.{name}";

        public string? OfMethod(EntityHandle h)
        {
            switch (h.Kind)
            {
                case HandleKind.MemberReference:
                    var m = md.GetMemberReference((MemberReferenceHandle)h);
                    if (m.GetKind() != MemberReferenceKind.Method) return null;
                    string parent = m.Parent.Kind switch
                    {
                        HandleKind.TypeReference => Of((TypeReferenceHandle)m.Parent),
                        HandleKind.TypeDefinition => Of((TypeDefinitionHandle)m.Parent),
                        HandleKind.TypeSpecification => md.GetTypeSpecification((TypeSpecificationHandle)m.Parent).DecodeSignature(this, null),
                        _ => "?",
                    };
                    var sig = m.DecodeMethodSignature(this, null);
                    return $"{parent}.{md.GetString(m.Name)}({string.Join(",", sig.ParameterTypes)})";
                case HandleKind.MethodSpecification:
                    return OfMethod(md.GetMethodSpecification((MethodSpecificationHandle)h).Method);
                default:
                    return null; // our own methods
            }
        }

        static string Short(string full) => full[(full.LastIndexOfAny(['.', '/']) + 1)..];
        public string GetPrimitiveType(PrimitiveTypeCode code) => code switch
        {
            PrimitiveTypeCode.Int32 => "int", PrimitiveTypeCode.Int64 => "long", PrimitiveTypeCode.Single => "float",
            PrimitiveTypeCode.Double => "double", _ => code.ToString().ToLowerInvariant(),
        };
        public string GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte k) => Short(Of(h));
        public string GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte k) => Short(Of(h));
        public string GetTypeFromSpecification(MetadataReader r, object? c, TypeSpecificationHandle h, byte k) =>
            r.GetTypeSpecification(h).DecodeSignature(this, c);
        public string GetSZArrayType(string e) => e + "[]";
        public string GetArrayType(string e, ArrayShape s) => e + "[,]";
        public string GetByReferenceType(string e) => e + "&";
        public string GetPointerType(string e) => e + "*";
        public string GetPinnedType(string e) => e;
        public string GetGenericInstantiation(string g, ImmutableArray<string> a) => $"{g}<{string.Join(",", a)}>";
        public string GetGenericTypeParameter(object? c, int i) => $"!{i}";
        public string GetGenericMethodParameter(object? c, int i) => $"!!{i}";
        public string GetFunctionPointerType(MethodSignature<string> s) => "fnptr";
        public string GetModifiedType(string m, string u, bool r) => u;
    }
}
