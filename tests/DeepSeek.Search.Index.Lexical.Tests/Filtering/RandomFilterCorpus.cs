using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Index.Lexical.Tests.Filtering;

/// <summary>
/// Random documents (metadata written as JSON text: strings, numbers incl. -0.0 and 1e400, booleans, nulls, date strings,
/// arrays, nested objects, duplicate keys, keys and values that look like query syntax) with random ACLs, random filter
/// texts over the same keys, and random callers, all from one seed.
/// </summary>
sealed class RandomFilterCorpus(int seed)
{
    readonly Random _rng = new(seed);

    static readonly string Long = new('L', 600);
    static readonly string LongOther = new string('L', 599) + "M";

    static readonly string[] Strings =
    [
        "x", "y", "X", "x ", "", "* OR 1=1", "a) OR (b", "alice", "true", "5", "2024-01-31", "2024-01-31T00:00:00Z",
        "2024-01-31T02:00:00+02:00", "2024-02-01T12:30:00Z", "2023-12-31", "title:rust", "\"quoted\"", "back\\slash", "ünï",
        "rust*", Long, LongOther,
    ];

    static readonly string[] Numbers = ["-1", "0", "-0.0", "1", "1.5", "2", "10", "1e10", "-2.5", "5", "5.0", "1e400", "0.1", "3"];

    static readonly string[] TopKeys = ["s", "n", "flag", "when", "tags", "owner", "items", "odd key", "a.b", "a", "AND", "x\"y", "", "title", "id", "dup"];

    static readonly string[] FilterFields =
    [
        "s", "n", "flag", "when", "tags", "owner", "owner.team", "owner.level", "owner.tags", "items", "items.k", "items.n",
        "\"odd key\"", "\"a.b\"", "a.b", "a", "\"AND\"", "\"x\\\"y\"", "\"\"", "title", "id", "dup", "missing", "owner.team.x",
    ];

    static readonly string[] NumberLiterals = ["-1", "0", "-0", "1", "1.5", "2", "10", "1e10", "1E10", "-2.5", "5", "5.0", "0.1", "3"];

    static readonly string[] DateLiterals =
    [
        "2024-01-31", "2024-01-31T00:00:00Z", "2024-01-31T02:00+02:00", "2024-02-01T12:30:00Z", "2023-12-31", "2024-01-31T00:00:00.0000001Z",
    ];

    static readonly string[] Principals = ["alice", "alice ", "Alice", "bob", "carol", "finance"];
    static readonly string[] Groups = ["finance", "Finance", "legal", "bob", "alice", "eng"];

    public static readonly Caller?[] Callers =
    [
        null,
        new("alice", []),
        new("alice ", []),
        new("Alice", ["finance"]),
        new("bob", []),
        new("carol", ["bob"]),
        new("dave", ["legal", "finance"]),
        new("eve", []),
        new("finance", ["eng"]),
    ];

    T Pick<T>(IReadOnlyList<T> items) => items[_rng.Next(items.Count)];

    public List<Document> Documents(int count) =>
        Enumerable.Range(0, count).Select(i => new Document($"d{i:D4}", "", $"text {i}", Metadata(), Acl())).ToList();

    Acl? Acl()
    {
        double r = _rng.NextDouble();
        if (r < 0.3) return null;
        if (r < 0.38) return new Acl([], []);
        return new Acl(Subset(Principals, 0.25), Subset(Groups, 0.2));
    }

    List<string> Subset(string[] pool, double p) => pool.Where(_ => _rng.NextDouble() < p).ToList();

    string? Metadata()
    {
        if (_rng.NextDouble() < 0.1) return null;
        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var key in TopKeys)
        {
            if (_rng.NextDouble() < 0.45) continue;
            int times = key == "dup" && _rng.NextDouble() < 0.5 ? 2 : 1;
            for (int t = 0; t < times; t++)
            {
                if (!first) sb.Append(", ");
                first = false;
                sb.Append(Json(key)).Append(": ");
                switch (key)
                {
                    case "owner" when _rng.NextDouble() < 0.8:
                        Object(sb, ["team", "level", "tags"], 1);
                        break;
                    case "items" when _rng.NextDouble() < 0.8:
                        sb.Append('[');
                        int n = _rng.Next(4);
                        for (int i = 0; i < n; i++)
                        {
                            if (i > 0) sb.Append(", ");
                            Object(sb, ["k", "n"], 1);
                        }
                        sb.Append(']');
                        break;
                    case "a" when _rng.NextDouble() < 0.6:
                        Object(sb, ["b"], 1);
                        break;
                    default:
                        Value(sb, 0);
                        break;
                }
            }
        }
        return sb.Append('}').ToString();
    }

    void Object(StringBuilder sb, string[] keys, int depth)
    {
        sb.Append('{');
        bool first = true;
        foreach (var k in keys)
        {
            if (_rng.NextDouble() < 0.3) continue;
            if (!first) sb.Append(", ");
            first = false;
            sb.Append(Json(k)).Append(": ");
            Value(sb, depth);
        }
        sb.Append('}');
    }

    void Value(StringBuilder sb, int depth)
    {
        double r = _rng.NextDouble();
        if (r < 0.42) sb.Append(Json(Pick(Strings)));
        else if (r < 0.68) sb.Append(Pick(Numbers));
        else if (r < 0.78) sb.Append(_rng.NextDouble() < 0.5 ? "true" : "false");
        else if (r < 0.83) sb.Append("null");
        else if (r < 0.95 && depth < 2)
        {
            sb.Append('[');
            int n = _rng.Next(4);
            for (int i = 0; i < n; i++)
            {
                if (i > 0) sb.Append(", ");
                Value(sb, depth + 1);
            }
            sb.Append(']');
        }
        else if (depth < 2) Object(sb, ["team", "k", "b"], depth + 1);
        else sb.Append(Json(Pick(Strings)));
    }

    static string Json(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            if (c is '"' or '\\') sb.Append('\\').Append(c);
            else if (c < ' ') sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    // ---- filters, as text ----

    public string Filter() => Expression(0);

    string Keyword(string k) => _rng.Next(3) switch { 0 => k, 1 => k.ToLowerInvariant(), _ => k[0] + k[1..].ToLowerInvariant() };

    string Space() => _rng.Next(6) switch { 0 => "", 1 => "  ", 2 => "\t", _ => " " };

    string Expression(int depth)
    {
        double r = _rng.NextDouble();
        if (depth >= 3 || r < 0.4) return Leaf();
        if (r < 0.6) return string.Join($" {Keyword("AND")} ", Enumerable.Range(0, _rng.Next(2, 4)).Select(_ => Operand(depth + 1)));
        if (r < 0.8) return string.Join($" {Keyword("OR")} ", Enumerable.Range(0, _rng.Next(2, 4)).Select(_ => Operand(depth + 1)));
        if (r < 0.92) return $"{Keyword("NOT")} {Operand(depth + 1)}";
        return $"({Space()}{Expression(depth + 1)}{Space()})";
    }

    /// <summary>An operand of AND, OR or NOT: a leaf, or a parenthesised expression.</summary>
    string Operand(int depth) => _rng.NextDouble() < 0.5 || depth >= 3 ? Leaf() : $"({Expression(depth)})";

    string Leaf()
    {
        string field = Pick(FilterFields);
        double r = _rng.NextDouble();
        if (r < 0.3) return $"{field}{Space()}={Space()}{AnyValue()}";
        if (r < 0.45) return $"{field}{Space()}!={Space()}{AnyValue()}";
        if (r < 0.75)
        {
            string op = Pick(new[] { "<", "<=", ">", ">=" });
            string v = _rng.NextDouble() < 0.6 ? Pick(NumberLiterals) : Pick(DateLiterals);
            return $"{field}{Space()}{op}{Space()}{v}";
        }
        if (r < 0.9)
            return $"{field} {Keyword("IN")}{Space()}({string.Join($",{Space()}", Enumerable.Range(0, _rng.Next(1, 5)).Select(_ => AnyValue()))})";
        return $"{field} {Keyword("EXISTS")}";
    }

    string AnyValue()
    {
        double r = _rng.NextDouble();
        if (r < 0.45) return "\"" + Pick(Strings).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        if (r < 0.7) return Pick(NumberLiterals);
        if (r < 0.8) return Keyword(_rng.NextDouble() < 0.5 ? "TRUE" : "FALSE");
        return Pick(DateLiterals);
    }

    public Caller? Caller() => Pick(Callers);
}
