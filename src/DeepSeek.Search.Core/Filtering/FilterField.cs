using System.Text.Json;

namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// A metadata key path: <c>["owner", "team"]</c> is <c>owner.team</c>, the key <c>team</c> of the object under the key
/// <c>owner</c>. Keys are compared ordinally and taken verbatim (a key may hold dots, spaces, quotes: <c>["a.b"]</c> is the one
/// key <c>a.b</c>, written <c>"a.b"</c> in a filter). Arrays on the way are stepped through: in
/// <c>{"items": [{"k": 1}, {"k": 2}]}</c> the field <c>items.k</c> has the values 1 and 2.
/// </summary>
public sealed record FilterField
{
    public FilterField(IReadOnlyList<string> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Count == 0) throw new ArgumentException("a filter field needs at least one key", nameof(path));
        foreach (var k in path) ArgumentNullException.ThrowIfNull(k, nameof(path));
        Path = [.. path];
    }

    /// <summary>The keys, outermost first.</summary>
    public IReadOnlyList<string> Path { get; }

    /// <summary>The field of these keys, outermost first.</summary>
    public static FilterField Of(params string[] path) => new(path);

    public bool Equals(FilterField? other) => other is not null && Path.SequenceEqual(other.Path, StringComparer.Ordinal);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var k in Path) h.Add(k, StringComparer.Ordinal);
        return h.ToHashCode();
    }

    /// <summary>The field in filter syntax: bare keys where possible, quoted ones otherwise, joined by dots.</summary>
    public override string ToString() => string.Join('.', Path.Select(k => FilterText.IsBareKey(k) ? k : FilterText.QuoteLiteral(k)));

    /// <summary>
    /// The values at this path in <paramref name="node"/>: arrays (at any depth, also the final value's) are replaced by their
    /// elements; a null, a missing key or a non-object on the way gives nothing.
    /// </summary>
    internal void CollectValues(JsonElement node, int depth, List<JsonElement> into)
    {
        if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in node.EnumerateArray()) CollectValues(e, depth, into);
            return;
        }
        if (depth == Path.Count)
        {
            into.Add(node);
            return;
        }
        if (node.ValueKind != JsonValueKind.Object) return;
        foreach (var p in node.EnumerateObject())
            if (string.Equals(p.Name, Path[depth], StringComparison.Ordinal)) CollectValues(p.Value, depth + 1, into);
    }

    /// <summary>Whether the path reaches a value that is not null (an empty array counts: the key is present and not null).</summary>
    internal bool IsPresentIn(JsonElement node, int depth)
    {
        if (depth == Path.Count) return node.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
        if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in node.EnumerateArray())
                if (IsPresentIn(e, depth)) return true;
            return false;
        }
        if (node.ValueKind != JsonValueKind.Object) return false;
        foreach (var p in node.EnumerateObject())
            if (string.Equals(p.Name, Path[depth], StringComparison.Ordinal) && IsPresentIn(p.Value, depth + 1)) return true;
        return false;
    }
}
