using DeepSeek.Search.Core.Filtering;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Client;

/// <summary>
/// Core's <see cref="FilterExpression"/> AST → the contract's typed <see cref="Proto.Filter"/> (the inverse of the
/// service's translation), so a filter written in the CLI's <c>--filter</c> text (<see cref="FilterExpression.Parse"/>)
/// means the same over gRPC as in-process.
/// </summary>
public static class FilterMessages
{
    /// <summary>The message of <paramref name="expression"/>.</summary>
    public static Proto.Filter From(FilterExpression expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        switch (expression)
        {
            case AndExpression a:
                return new Proto.Filter { And = List(a.Operands) };
            case OrExpression o:
                return new Proto.Filter { Or = List(o.Operands) };
            case NotExpression n:
                return new Proto.Filter { Not = From(n.Operand) };
            case CompareExpression c:
                return new Proto.Filter { Compare = new Proto.FilterCompare { Field = Field(c.Field), Op = Op(c.Op), Value = Value(c.Value) } };
            case InExpression i:
            {
                var message = new Proto.FilterIn { Field = Field(i.Field) };
                foreach (var v in i.Values) message.Values.Add(Value(v));
                return new Proto.Filter { In = message };
            }
            case ExistsExpression e:
                return new Proto.Filter { Exists = new Proto.FilterExists { Field = Field(e.Field) } };
            default:
                throw new ArgumentException($"a filter node this client does not know: {expression.GetType().Name}", nameof(expression));
        }
    }

    static Proto.FilterList List(IReadOnlyList<FilterExpression> operands)
    {
        var list = new Proto.FilterList();
        foreach (var o in operands) list.Operands.Add(From(o));
        return list;
    }

    static Proto.FieldPath Field(FilterField field)
    {
        var path = new Proto.FieldPath();
        path.Keys.Add(field.Path);
        return path;
    }

    static Proto.CompareOp Op(CompareOp op) => op switch
    {
        CompareOp.Equal => Proto.CompareOp.Equal,
        CompareOp.NotEqual => Proto.CompareOp.NotEqual,
        CompareOp.Less => Proto.CompareOp.Less,
        CompareOp.LessOrEqual => Proto.CompareOp.LessOrEqual,
        CompareOp.Greater => Proto.CompareOp.Greater,
        CompareOp.GreaterOrEqual => Proto.CompareOp.GreaterOrEqual,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "an unknown comparison operator"),
    };

    static Proto.FilterValue Value(FilterValue value) => value switch
    {
        StringValue s => new Proto.FilterValue { StringValue = s.Value },
        NumberValue n => new Proto.FilterValue { NumberValue = n.Value },
        BoolValue b => new Proto.FilterValue { BoolValue = b.Value },
        DateValue d => new Proto.FilterValue { TimestampValue = Timestamp.FromDateTimeOffset(d.Instant) },
        _ => throw new ArgumentException($"a filter value this client does not know: {value.GetType().Name}", nameof(value)),
    };
}
