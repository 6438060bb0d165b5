using System.Text.Json;

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

    /// <summary>The longest principal or group name <see cref="FromJson"/> accepts (and the lexical index can hold).</summary>
    public const int MaxNameLength = 1024;

    /// <summary>
    /// Reads an ACL from its JSON form, <c>{"principals": ["alice"], "groups": ["finance", "legal"]}</c>: either key may be
    /// left out (or be null), which means an empty list; a name listed twice counts once. JSON null (or no value) is no ACL:
    /// the result is null and <paramref name="problem"/> is null. Anything else returns null with a one-line
    /// <paramref name="problem"/> naming the field, e.g. <c>field "acl.groups" must be an array of non-empty strings, element 2
    /// is a number</c>: not an object, a key other than <c>principals</c> and <c>groups</c> (or one given twice), a value that
    /// is not an array, an element that is not a string, is empty or blank, or is longer than <see cref="MaxNameLength"/>.
    /// </summary>
    public static Acl? FromJson(JsonElement json, out string? problem)
    {
        problem = null;
        if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (json.ValueKind != JsonValueKind.Object)
        {
            problem = $"field \"acl\" must be a JSON object or null, got {FilterText.Kind(json.ValueKind)}";
            return null;
        }
        List<string>? principals = null, groups = null;
        foreach (var p in json.EnumerateObject())
        {
            string key;
            try { key = p.Name; }
            catch (InvalidOperationException)
            {
                problem = "field \"acl\" has a key that is not valid text (an unpaired surrogate escape)";
                return null;
            }
            bool isPrincipals = key == "principals";
            if (!isPrincipals && key != "groups")
            {
                problem = $"field \"acl\" has an unknown key {FilterText.ForMessage(key)} (expected \"principals\" or \"groups\")";
                return null;
            }
            if ((isPrincipals ? principals : groups) is not null)
            {
                problem = $"field \"acl\" has the key \"{key}\" twice";
                return null;
            }
            var names = Names(p.Value, "acl." + key, out problem);
            if (names is null) return null;
            if (isPrincipals) principals = names;
            else groups = names;
        }
        return new Acl(principals ?? [], groups ?? []);
    }

    static List<string>? Names(JsonElement value, string field, out string? problem)
    {
        problem = null;
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (value.ValueKind == JsonValueKind.Null) return names;
        string must = $"field \"{field}\" must be an array of non-empty strings";
        if (value.ValueKind != JsonValueKind.Array)
        {
            problem = $"{must}, got {FilterText.Kind(value.ValueKind)}";
            return null;
        }
        int n = 0;
        foreach (var e in value.EnumerateArray())
        {
            n++;
            if (ElementProblem(e, out string name) is string bad)
            {
                problem = $"{must}, element {n} is {bad}";
                return null;
            }
            if (seen.Add(name)) names.Add(name);
        }
        return names;
    }

    /// <summary>Why one element of a name list is not a name ("a number", "an empty string"), or null with the name.</summary>
    static string? ElementProblem(JsonElement e, out string name)
    {
        name = "";
        if (e.ValueKind != JsonValueKind.String) return FilterText.Kind(e.ValueKind);
        try { name = e.GetString()!; }
        catch (InvalidOperationException) { return "not valid text (an unpaired surrogate escape)"; }
        if (name.Length == 0) return "an empty string";
        if (string.IsNullOrWhiteSpace(name)) return "blank";
        if (name.Length > MaxNameLength) return $"longer than {MaxNameLength} characters";
        return null;
    }

    public bool Equals(Acl? other) =>
        other is not null && Principals.SequenceEqual(other.Principals, StringComparer.Ordinal) && Groups.SequenceEqual(other.Groups, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Principals.Count, Groups.Count);
}
