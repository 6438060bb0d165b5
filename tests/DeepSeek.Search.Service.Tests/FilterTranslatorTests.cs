using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Service.Grpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Tests;

public sealed class FilterTranslatorTests
{
    [Fact]
    public void The_typed_tree_becomes_the_expression_the_text_grammar_parses_to()
    {
        var f = JsonParser.Default.Parse<Proto.Filter>("""
            { "or": { "operands": [
              { "and": { "operands": [
                { "compare": { "field": { "keys": ["year"] }, "op": "COMPARE_OP_GREATER_OR_EQUAL", "value": { "numberValue": 2020 } } },
                { "not": { "compare": { "field": { "keys": ["draft"] }, "op": "COMPARE_OP_EQUAL", "value": { "boolValue": true } } } } ] } },
              { "in": { "field": { "keys": ["owner", "team"] }, "values": [ { "stringValue": "a" }, { "stringValue": "b" } ] } },
              { "exists": { "field": { "keys": ["odd key"] } } } ] } }
            """);
        var expected = FilterExpression.Parse("""(year >= 2020 AND NOT draft = true) OR owner.team IN ("a", "b") OR "odd key" EXISTS""");
        Assert.Equal(expected.ToString(), FilterTranslator.Translate(f)!.ToString());
        Assert.Null(FilterTranslator.Translate(null));
    }

    [Fact]
    public void A_timestamp_compares_as_a_date()
    {
        var f = new Proto.Filter
        {
            Compare = new Proto.FilterCompare
            {
                Field = new Proto.FieldPath { Keys = { "at" } },
                Op = Proto.CompareOp.Less,
                Value = new Proto.FilterValue { TimestampValue = Timestamp.FromDateTimeOffset(new DateTimeOffset(2024, 1, 31, 0, 0, 0, TimeSpan.Zero)) },
            },
        };
        var e = FilterTranslator.Translate(f)!;
        Assert.True(e.Matches("""{"at":"2024-01-30"}"""));
        Assert.False(e.Matches("""{"at":"2024-02-01"}"""));
    }

    [Fact]
    public void Too_deep_and_non_finite_filters_are_invalid_input()
    {
        var deep = new Proto.Filter { Exists = new Proto.FilterExists { Field = new Proto.FieldPath { Keys = { "a" } } } };
        for (int i = 0; i < FilterExpression.MaxDepth + 1; i++) deep = new Proto.Filter { Not = deep };
        Assert.Contains("nests deeper", Assert.Throws<InvalidInputException>(() => FilterTranslator.Translate(deep)).Message, StringComparison.Ordinal);
        var nan = new Proto.Filter { Compare = new Proto.FilterCompare { Field = new Proto.FieldPath { Keys = { "a" } }, Op = Proto.CompareOp.Equal, Value = new Proto.FilterValue { NumberValue = double.NaN } } };
        Assert.Contains("must be finite", Assert.Throws<InvalidInputException>(() => FilterTranslator.Translate(nan)).Message, StringComparison.Ordinal);
    }
}
