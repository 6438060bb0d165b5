namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// Who may read a document: any of <see cref="Principals"/>, or any member of one of <see cref="Groups"/>. A document
/// without an ACL is readable by every reader of its collection; a document whose ACL names nobody (both lists empty) is
/// readable by no caller (only by unrestricted local access). Names are compared ordinally (case-sensitive).
/// </summary>
public sealed record Acl(IReadOnlyList<string> Principals, IReadOnlyList<string> Groups)
{
    /// <summary>Whether <paramref name="caller"/> may read a document carrying this ACL.</summary>
    public bool Permits(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        foreach (var p in Principals) if (string.Equals(p, caller.Principal, StringComparison.Ordinal)) return true;
        foreach (var g in Groups) foreach (var cg in caller.Groups) if (string.Equals(g, cg, StringComparison.Ordinal)) return true;
        return false;
    }

    public bool Equals(Acl? other) =>
        other is not null && Principals.SequenceEqual(other.Principals, StringComparer.Ordinal) && Groups.SequenceEqual(other.Groups, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Principals.Count, Groups.Count);
}
