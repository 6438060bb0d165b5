namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// Who is searching: a principal and the groups it belongs to. A search made with a caller sees only the documents the
/// caller may read (<see cref="Acl.Permits"/>); a search made without one (local command-line access to the index folder)
/// sees every document.
/// </summary>
public sealed record Caller(string Principal, IReadOnlyList<string> Groups)
{
    /// <summary>A caller; an empty principal or group name is an <see cref="InvalidInputException"/>.</summary>
    public static Caller Of(string principal, IEnumerable<string>? groups = null)
    {
        if (string.IsNullOrWhiteSpace(principal)) throw new InvalidInputException("caller principal is empty") { Setting = "principal" };
        var list = (groups ?? []).ToList();
        foreach (var g in list)
            if (string.IsNullOrWhiteSpace(g)) throw new InvalidInputException("caller group name is empty") { Setting = "group" };
        return new Caller(principal, list.Distinct(StringComparer.Ordinal).ToList());
    }

    public bool Equals(Caller? other) =>
        other is not null && Principal == other.Principal && Groups.SequenceEqual(other.Groups, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Principal, Groups.Count);
}
