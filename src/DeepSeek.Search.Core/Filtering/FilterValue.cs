using System.Globalization;

namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// A typed literal of a <see cref="FilterExpression"/>: <see cref="StringValue"/>, <see cref="NumberValue"/>,
/// <see cref="BoolValue"/> or <see cref="DateValue"/>. Types never mix: a string equals only a metadata string, a number only a
/// metadata number, a boolean only a metadata boolean; a date equals a metadata string that <see cref="FilterDates"/> reads as
/// the same instant. <see cref="object.ToString"/> gives the literal in filter syntax.
/// </summary>
public abstract record FilterValue
{
    private protected FilterValue() { }

    /// <summary>Whether the range operators (&lt;, &lt;=, &gt;, &gt;=) apply: numbers and dates.</summary>
    public abstract bool IsOrdered { get; }

    /// <summary>The kind, as messages name it: <c>string</c>, <c>number</c>, <c>boolean</c> or <c>date</c>.</summary>
    public abstract string KindName { get; }

    public sealed override string ToString() => Render();

    private protected abstract string Render();
}

/// <summary>A string, compared ordinally (case- and space-sensitive).</summary>
public sealed record StringValue : FilterValue
{
    public StringValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
    }

    public string Value { get; }
    public override bool IsOrdered => false;
    public override string KindName => "string";
    private protected override string Render() => FilterText.QuoteLiteral(Value);
}

/// <summary>A finite number, compared as a double (metadata integers too); negative zero is zero.</summary>
public sealed record NumberValue : FilterValue
{
    public NumberValue(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "a filter number must be finite");
        Value = value == 0 ? 0d : value;
    }

    public double Value { get; }
    public override bool IsOrdered => true;
    public override string KindName => "number";
    private protected override string Render() => Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary><c>true</c> or <c>false</c>.</summary>
public sealed record BoolValue(bool Value) : FilterValue
{
    public override bool IsOrdered => false;
    public override string KindName => "boolean";
    private protected override string Render() => Value ? "true" : "false";
}

/// <summary>A UTC instant (a date literal is its midnight, UTC); see <see cref="FilterDates"/>.</summary>
public sealed record DateValue : FilterValue
{
    public DateValue(DateTimeOffset instant) => Instant = instant.ToUniversalTime();

    /// <summary>The instant, with offset zero.</summary>
    public DateTimeOffset Instant { get; }

    /// <summary>The instant's UTC ticks (100 ns since 0001-01-01), the order the comparisons use.</summary>
    public long UtcTicks => Instant.UtcTicks;

    public override bool IsOrdered => true;
    public override string KindName => "date";
    private protected override string Render() => FilterDates.Format(Instant);
}
