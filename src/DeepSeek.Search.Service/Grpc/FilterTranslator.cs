using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>
/// The typed filter of a request → Core's <see cref="FilterExpression"/> AST (the one filter path: the engine applies it).
/// Every problem is an <see cref="InvalidInputException"/> (setting <c>filter</c>) naming the node's place in the tree,
/// e.g. <c>filter.and[1].compare.value</c>, and what is wrong with it.
/// </summary>
static class FilterTranslator
{
    /// <summary>The expression of <paramref name="filter"/>; null when the request has no filter.</summary>
    public static FilterExpression? Translate(Proto.Filter? filter)
    {
        if (filter is null) return null;
        int clauses = 0;
        var e = Node(filter, "filter", 1, ref clauses);
        return e;
    }

    static FilterExpression Node(Proto.Filter f, string at, int depth, ref int clauses)
    {
        if (depth > FilterExpression.MaxDepth) throw Bad($"{at}: the filter nests deeper than {FilterExpression.MaxDepth} levels");
        switch (f.NodeCase)
        {
            case Proto.Filter.NodeOneofCase.And:
            case Proto.Filter.NodeOneofCase.Or:
            {
                bool and = f.NodeCase == Proto.Filter.NodeOneofCase.And;
                var list = and ? f.And : f.Or;
                string name = at + (and ? ".and" : ".or");
                if (list.Operands.Count == 0) throw Bad($"{name}: needs at least one operand");
                var ops = new List<FilterExpression>(list.Operands.Count);
                for (int i = 0; i < list.Operands.Count; i++) ops.Add(Node(list.Operands[i], $"{name}[{i}]", depth + 1, ref clauses));
                return and ? new AndExpression(ops) : new OrExpression(ops);
            }
            case Proto.Filter.NodeOneofCase.Not:
                return new NotExpression(Node(f.Not, at + ".not", depth + 1, ref clauses));
            case Proto.Filter.NodeOneofCase.Compare:
            {
                var c = f.Compare;
                string name = at + ".compare";
                var field = Field(c.Field, name + ".field");
                var op = c.Op switch
                {
                    Proto.CompareOp.Equal => CompareOp.Equal,
                    Proto.CompareOp.NotEqual => CompareOp.NotEqual,
                    Proto.CompareOp.Less => CompareOp.Less,
                    Proto.CompareOp.LessOrEqual => CompareOp.LessOrEqual,
                    Proto.CompareOp.Greater => CompareOp.Greater,
                    Proto.CompareOp.GreaterOrEqual => CompareOp.GreaterOrEqual,
                    _ => throw Bad($"{name}.op: an operator is required, got {c.Op}"),
                };
                var value = Value(c.Value, name + ".value");
                Count(ref clauses, 1, name);
                try { return new CompareExpression(field, op, value); }
                catch (InvalidInputException e) { throw Bad($"{name}: {e.Message}"); }
            }
            case Proto.Filter.NodeOneofCase.In:
            {
                string name = at + ".in";
                var field = Field(f.In.Field, name + ".field");
                if (f.In.Values.Count == 0) throw Bad($"{name}.values: needs at least one value");
                var values = f.In.Values.Select((v, i) => Value(v, $"{name}.values[{i}]")).ToList();
                Count(ref clauses, values.Count, name);
                return new InExpression(field, values);
            }
            case Proto.Filter.NodeOneofCase.Exists:
                Count(ref clauses, 1, at + ".exists");
                return new ExistsExpression(Field(f.Exists.Field, at + ".exists.field"));
            default:
                throw Bad($"{at}: an empty filter node (set one of and, or, not, compare, in, exists)");
        }
    }

    static void Count(ref int clauses, int n, string at)
    {
        clauses += n;
        if (clauses > FilterExpression.MaxClauses) throw Bad($"{at}: the filter has more than {FilterExpression.MaxClauses} clauses");
    }

    static FilterField Field(Proto.FieldPath? path, string at)
    {
        if (path is null || path.Keys.Count == 0) throw Bad($"{at}: a field path needs at least one key");
        for (int i = 0; i < path.Keys.Count; i++)
            if (path.Keys[i].Length == 0) throw Bad($"{at}.keys[{i}]: a key must not be empty");
        return new FilterField([.. path.Keys]);
    }

    static FilterValue Value(Proto.FilterValue? v, string at)
    {
        if (v is null) throw Bad($"{at}: a value is required");
        switch (v.KindCase)
        {
            case Proto.FilterValue.KindOneofCase.StringValue: return new StringValue(v.StringValue);
            case Proto.FilterValue.KindOneofCase.NumberValue:
                if (!double.IsFinite(v.NumberValue)) throw Bad($"{at}: a number must be finite, got {v.NumberValue}");
                return new NumberValue(v.NumberValue);
            case Proto.FilterValue.KindOneofCase.BoolValue: return new BoolValue(v.BoolValue);
            case Proto.FilterValue.KindOneofCase.TimestampValue:
                try { return new DateValue(v.TimestampValue.ToDateTimeOffset()); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
                { throw Bad($"{at}: an invalid timestamp ({v.TimestampValue.Seconds} s, {v.TimestampValue.Nanos} ns)"); }
            default:
                throw Bad($"{at}: a value is required (string_value, number_value, bool_value or timestamp_value)");
        }
    }

    static InvalidInputException Bad(string message) => new(message) { Setting = "filter" };
}
