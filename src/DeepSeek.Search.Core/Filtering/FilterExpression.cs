using System.Text;
using System.Text.Json;

namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// A metadata filter: a boolean expression over a document's <see cref="Document.MetadataJson"/>. Written as text (the CLI's
/// <c>--filter EXPR</c>) in this grammar (<see cref="Grammar"/>, the same text):
/// <code>
/// expr   := term (OR term)*
/// term   := factor (AND factor)*
/// factor := NOT factor | '(' expr ')' | field op value
///         | field IN '(' value (',' value)* ')' | field EXISTS
/// op     := '=' | '!=' | '&lt;' | '&lt;=' | '&gt;' | '&gt;='
/// field  := key ('.' key)*
/// key    := name | string
/// value  := string | number | true | false | date
/// </code>
/// Keywords (AND OR NOT IN EXISTS TRUE FALSE) are case-insensitive; NOT binds tighter than AND, AND tighter than OR.
/// A <c>name</c> is a letter or '_' followed by letters, digits, '_' or '-'; any other key (spaces, dots, a keyword) is
/// written as a string: <c>"odd key"</c>. Dots step into nested objects: <c>owner.team</c>; <c>"a.b"</c> is the one key
/// <c>a.b</c>. A <c>string</c> is double-quoted, with <c>\"</c> and <c>\\</c> its only escapes; a <c>number</c> has JSON
/// syntax (<c>-12</c>, <c>3.5</c>, <c>1e-3</c>); a <c>date</c> is written bare, <c>2024-01-31</c> or
/// <c>2024-01-31T10:00:00Z</c> (see <see cref="FilterDates"/>): a bare date is a date, a quoted value is always a string.
/// <para>
/// Meaning: <c>field = v</c> holds when any value at the field equals <c>v</c> (array elements one by one, arrays of objects
/// stepped through); a missing or null field equals nothing. <c>!=</c> is NOT <c>=</c>, so a document without the field
/// matches <c>field != v</c>. The range operators take a number or a date: numbers compare numerically, a date compares with
/// metadata strings in the date format, as UTC instants. <c>IN</c> is an OR of equalities. <c>field EXISTS</c> holds when the
/// key is present with a value other than null. Types never mix (the string "5" is not the number 5).
/// </para>
/// <para>
/// Parse errors are <see cref="InvalidInputException"/>s (setting <c>filter</c>) naming the 1-based character position and the
/// offending token. A filter is at most <see cref="MaxLength"/> characters, <see cref="MaxClauses"/> clauses (each comparison,
/// EXISTS, and each IN value) and <see cref="MaxDepth"/> levels of nesting.
/// </para>
/// </summary>
public abstract record FilterExpression
{
    /// <summary>The most characters a filter text may have.</summary>
    public const int MaxLength = 4096;

    /// <summary>The most clauses a filter text may have: comparisons, EXISTS tests and IN values, counted one each.</summary>
    public const int MaxClauses = 256;

    /// <summary>The most levels of nesting (parentheses and NOT) a filter text may have.</summary>
    public const int MaxDepth = 64;

    /// <summary>The filter grammar and its meaning, as plain text for a command's help.</summary>
    public const string Grammar =
        """
        expr   := term (OR term)*
        term   := factor (AND factor)*
        factor := NOT factor | '(' expr ')' | field op value
                | field IN '(' value (',' value)* ')' | field EXISTS
        op     := '=' | '!=' | '<' | '<=' | '>' | '>='
        field  := key ('.' key)*
        key    := name | string
        value  := string | number | true | false | date
        Keywords (AND OR NOT IN EXISTS TRUE FALSE) are case-insensitive; NOT binds tighter than AND, AND tighter than OR.
        name: a letter or '_', then letters, digits, '_' or '-'; quote any other key: "odd key". Dots step into nested
        objects (owner.team); "a.b" is the one key a.b.
        string: "double-quoted", \" and \\ the only escapes. number: JSON syntax (-12, 3.5, 1e-3).
        date: bare 2024-01-31 or 2024-01-31T10:00[:00[.0000000]][Z|+hh:mm|-hh:mm] (UTC unless an offset is given);
        a bare date is a date, a quoted value is always a string.
        field = v holds when any value of the field (array elements one by one) equals v; a missing or null field equals
        nothing, and != is NOT =, so a document without the field matches field != v. < <= > >= take a number or a date
        (dates compare with metadata strings in the date format, as instants). IN is an OR of equalities. field EXISTS
        holds when the key is present and not null. Types never mix: the string "5" is not the number 5.
        """;

    private protected FilterExpression() { }

    /// <summary>
    /// Parses a filter text (<see cref="Grammar"/>). Throws <see cref="InvalidInputException"/> (setting <c>filter</c>) for an
    /// empty or over-long filter and for any syntax error, naming its 1-based position and token.
    /// </summary>
    public static FilterExpression Parse(string text) => FilterParser.Parse(text);

    /// <summary>
    /// Whether a document with this metadata (a JSON object, or null for none) passes the filter. Throws
    /// <see cref="InvalidInputException"/> when <paramref name="metadataJson"/> is not one (<see cref="MetadataJson.Parse"/>).
    /// </summary>
    public bool Matches(string? metadataJson)
    {
        if (metadataJson is null) return Evaluate(default);
        using var json = MetadataJson.Parse(metadataJson);
        return Evaluate(json.RootElement);
    }

    /// <summary>
    /// Whether metadata <paramref name="metadata"/> passes the filter: an object (any other kind has no fields) that
    /// <see cref="MetadataJson.Problem"/> accepts (a string that is not valid text throws <see cref="InvalidOperationException"/>).
    /// </summary>
    public bool Matches(JsonElement metadata) => Evaluate(metadata.ValueKind == JsonValueKind.Object ? metadata : default);

    /// <summary>The number of clauses: comparisons and EXISTS tests count one, an IN one per value.</summary>
    public abstract int ClauseCount { get; }

    /// <summary>Evaluates against the metadata object <paramref name="root"/> (<c>default</c>: no metadata).</summary>
    internal abstract bool Evaluate(JsonElement root);

    /// <summary>The filter in filter syntax; <see cref="Parse"/> gives back an equal expression.</summary>
    public sealed override string ToString()
    {
        var sb = new StringBuilder();
        Render(sb);
        return sb.ToString();
    }

    private protected abstract void Render(StringBuilder sb);

    private protected static void RenderOperand(StringBuilder sb, FilterExpression e)
    {
        if (e is AndExpression or OrExpression)
        {
            sb.Append('(');
            e.Render(sb);
            sb.Append(')');
        }
        else e.Render(sb);
    }

    private protected static bool SameList<T>(IReadOnlyList<T> a, IReadOnlyList<T> b) => a.SequenceEqual(b);

    private protected static int ListHash<T>(IReadOnlyList<T> items)
    {
        var h = new HashCode();
        foreach (var i in items) h.Add(i);
        return h.ToHashCode();
    }
}

/// <summary>The comparison operators: <c>=</c>, <c>!=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>.</summary>
public enum CompareOp
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// <summary>Text of the comparison operators.</summary>
public static class CompareOps
{
    /// <summary>The operator as written in a filter.</summary>
    public static string Symbol(this CompareOp op) => op switch
    {
        CompareOp.Equal => "=",
        CompareOp.NotEqual => "!=",
        CompareOp.Less => "<",
        CompareOp.LessOrEqual => "<=",
        CompareOp.Greater => ">",
        CompareOp.GreaterOrEqual => ">=",
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown comparison operator"),
    };

    /// <summary>Whether <paramref name="op"/> is one of the range operators, which need a number or a date.</summary>
    public static bool IsRange(this CompareOp op) => op is CompareOp.Less or CompareOp.LessOrEqual or CompareOp.Greater or CompareOp.GreaterOrEqual;
}

/// <summary>All operands hold (at least two when parsed).</summary>
public sealed record AndExpression : FilterExpression
{
    public AndExpression(IReadOnlyList<FilterExpression> operands)
    {
        Operands = Checked(operands);
    }

    public IReadOnlyList<FilterExpression> Operands { get; }
    public override int ClauseCount => Operands.Sum(o => o.ClauseCount);
    internal override bool Evaluate(JsonElement root) => Operands.All(o => o.Evaluate(root));

    private protected override void Render(StringBuilder sb)
    {
        for (int i = 0; i < Operands.Count; i++)
        {
            if (i > 0) sb.Append(" AND ");
            RenderOperand(sb, Operands[i]);
        }
    }

    public bool Equals(AndExpression? other) => other is not null && SameList(Operands, other.Operands);
    public override int GetHashCode() => ListHash(Operands);

    internal static IReadOnlyList<FilterExpression> Checked(IReadOnlyList<FilterExpression> operands)
    {
        ArgumentNullException.ThrowIfNull(operands);
        if (operands.Count == 0) throw new ArgumentException("AND and OR need at least one operand", nameof(operands));
        foreach (var o in operands) ArgumentNullException.ThrowIfNull(o, nameof(operands));
        return [.. operands];
    }
}

/// <summary>At least one operand holds (at least two when parsed).</summary>
public sealed record OrExpression : FilterExpression
{
    public OrExpression(IReadOnlyList<FilterExpression> operands)
    {
        Operands = AndExpression.Checked(operands);
    }

    public IReadOnlyList<FilterExpression> Operands { get; }
    public override int ClauseCount => Operands.Sum(o => o.ClauseCount);
    internal override bool Evaluate(JsonElement root) => Operands.Any(o => o.Evaluate(root));

    private protected override void Render(StringBuilder sb)
    {
        for (int i = 0; i < Operands.Count; i++)
        {
            if (i > 0) sb.Append(" OR ");
            RenderOperand(sb, Operands[i]);
        }
    }

    public bool Equals(OrExpression? other) => other is not null && SameList(Operands, other.Operands);
    public override int GetHashCode() => ListHash(Operands);
}

/// <summary>The operand does not hold.</summary>
public sealed record NotExpression : FilterExpression
{
    public NotExpression(FilterExpression operand)
    {
        ArgumentNullException.ThrowIfNull(operand);
        Operand = operand;
    }

    public FilterExpression Operand { get; }
    public override int ClauseCount => Operand.ClauseCount;
    internal override bool Evaluate(JsonElement root) => !Operand.Evaluate(root);

    private protected override void Render(StringBuilder sb)
    {
        sb.Append("NOT ");
        RenderOperand(sb, Operand);
    }
}

/// <summary>
/// <c>field op value</c>. Equality holds when any value at the field equals <see cref="Value"/>; <c>!=</c> is its negation;
/// a range operator holds when any number (or, for a date, any date-format string) at the field is in range.
/// </summary>
public sealed record CompareExpression : FilterExpression
{
    /// <summary>A comparison; a range operator with a string or boolean value is an <see cref="InvalidInputException"/>.</summary>
    public CompareExpression(FilterField field, CompareOp op, FilterValue value)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(value);
        _ = op.Symbol();
        if (op.IsRange() && !value.IsOrdered)
        {
            string shown = FilterText.Excerpt(value.ToString());
            throw new InvalidInputException($"filter: operator '{op.Symbol()}' needs a number or a date, got the {value.KindName} {shown}")
            {
                Setting = "filter",
            };
        }
        Field = field;
        Op = op;
        Value = value;
    }

    public FilterField Field { get; }
    public CompareOp Op { get; }
    public FilterValue Value { get; }
    public override int ClauseCount => 1;

    internal override bool Evaluate(JsonElement root)
    {
        if (Op == CompareOp.NotEqual) return !AnyEqual(Field, root, Value);
        if (Op == CompareOp.Equal) return AnyEqual(Field, root, Value);
        var values = new List<JsonElement>();
        Field.CollectValues(root, 0, values);
        foreach (var v in values)
        {
            int? c = Value switch
            {
                NumberValue n => AsNumber(v) is double d ? d.CompareTo(n.Value) : null,
                DateValue t => AsDate(v) is long ticks ? ticks.CompareTo(t.UtcTicks) : null,
                _ => null,
            };
            if (c is int k && Op switch
            {
                CompareOp.Less => k < 0,
                CompareOp.LessOrEqual => k <= 0,
                CompareOp.Greater => k > 0,
                _ => k >= 0,
            })
                return true;
        }
        return false;
    }

    private protected override void Render(StringBuilder sb) => sb.Append(Field).Append(' ').Append(Op.Symbol()).Append(' ').Append(Value);

    internal static bool AnyEqual(FilterField field, JsonElement root, FilterValue value)
    {
        var values = new List<JsonElement>();
        field.CollectValues(root, 0, values);
        foreach (var v in values)
            if (value switch
            {
                StringValue s => v.ValueKind == JsonValueKind.String && string.Equals(v.GetString(), s.Value, StringComparison.Ordinal),
                NumberValue n => AsNumber(v) is double d && d == n.Value,
                BoolValue b => v.ValueKind == (b.Value ? JsonValueKind.True : JsonValueKind.False),
                DateValue t => AsDate(v) == t.UtcTicks,
                _ => false,
            })
                return true;
        return false;
    }

    /// <summary>A metadata number as a finite double (null for other kinds and for numbers out of double's range).</summary>
    static double? AsNumber(JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) ? d : null;

    /// <summary>A metadata string in the date format as its UTC ticks (null otherwise).</summary>
    static long? AsDate(JsonElement v) =>
        v.ValueKind == JsonValueKind.String && FilterDates.TryParse(v.GetString(), out var t) ? t.UtcTicks : null;
}

/// <summary><c>field IN (v1, v2, …)</c>: any value at the field equals one of <see cref="Values"/>.</summary>
public sealed record InExpression : FilterExpression
{
    public InExpression(FilterField field, IReadOnlyList<FilterValue> values)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("IN needs at least one value", nameof(values));
        foreach (var v in values) ArgumentNullException.ThrowIfNull(v, nameof(values));
        Field = field;
        Values = [.. values];
    }

    public FilterField Field { get; }
    public IReadOnlyList<FilterValue> Values { get; }
    public override int ClauseCount => Values.Count;
    internal override bool Evaluate(JsonElement root) => Values.Any(v => CompareExpression.AnyEqual(Field, root, v));

    private protected override void Render(StringBuilder sb)
    {
        sb.Append(Field).Append(" IN (");
        for (int i = 0; i < Values.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(Values[i]);
        }
        sb.Append(')');
    }

    public bool Equals(InExpression? other) => other is not null && Field.Equals(other.Field) && SameList(Values, other.Values);
    public override int GetHashCode() => HashCode.Combine(Field, ListHash(Values));
}

/// <summary><c>field EXISTS</c>: the key is present with a value other than null (an empty array or object counts).</summary>
public sealed record ExistsExpression : FilterExpression
{
    public ExistsExpression(FilterField field)
    {
        ArgumentNullException.ThrowIfNull(field);
        Field = field;
    }

    public FilterField Field { get; }
    public override int ClauseCount => 1;
    internal override bool Evaluate(JsonElement root) => Field.IsPresentIn(root, 0);
    private protected override void Render(StringBuilder sb) => sb.Append(Field).Append(" EXISTS");
}
