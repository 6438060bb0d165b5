using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Index.Lexical.Tests.Filtering;

/// <summary>The filter language: parsing, its exact error messages, and the in-memory reference semantics (Matches).</summary>
public class FilterExpressionTests
{
    static CompareExpression Cmp(string field, CompareOp op, FilterValue v) => new(FilterField.Of(field), op, v);
    static StringValue S(string s) => new(s);
    static NumberValue N(double d) => new(d);

    [Fact]
    public void ParsesPrecedenceKeywordsFieldsAndValues()
    {
        var e = FilterExpression.Parse("a = \"x\" or not b >= 2 AND c.d EXISTS");
        var expected = new OrExpression(
        [
            Cmp("a", CompareOp.Equal, S("x")),
            new AndExpression(
            [
                new NotExpression(Cmp("b", CompareOp.GreaterOrEqual, N(2))),
                new ExistsExpression(FilterField.Of("c", "d")),
            ]),
        ]);
        Assert.Equal(expected, e);

        Assert.Equal(new InExpression(FilterField.Of("odd key", "a.b"), [S("q\"uo\\te"), N(-1.5e3), new BoolValue(true), new BoolValue(false)]),
            FilterExpression.Parse("\"odd key\".\"a.b\" in (\"q\\\"uo\\\\te\", -1.5e3, TRUE, False)"));
        Assert.Equal(Cmp("and", CompareOp.NotEqual, N(0)), FilterExpression.Parse("\"and\"!=-0"));
        Assert.Equal(Cmp("x-y_1", CompareOp.Less, N(10)), FilterExpression.Parse("\tx-y_1<10\n"));
        Assert.Equal(Cmp("a", CompareOp.Equal, S("2024-01-31")), FilterExpression.Parse("a = \"2024-01-31\""));   // quoted: a string
        var date = Assert.IsType<DateValue>(((CompareExpression)FilterExpression.Parse("a = 2024-01-31")).Value);
        Assert.Equal(new DateTimeOffset(2024, 1, 31, 0, 0, 0, TimeSpan.Zero), date.Instant);
        var dt = Assert.IsType<DateValue>(((CompareExpression)FilterExpression.Parse("a > 2024-01-31T10:30:00.25+02:00")).Value);
        Assert.Equal(new DateTimeOffset(2024, 1, 31, 8, 30, 0, 250, TimeSpan.Zero), dt.Instant);
        Assert.Equal(FilterExpression.Parse("a = 2024-01-31"), FilterExpression.Parse("a = 2024-01-31T01:00+01:00"));
        Assert.Equal(FilterExpression.Parse("(((a EXISTS)))"), FilterExpression.Parse("a EXISTS"));
    }

    [Theory]
    [InlineData("a = \"x\" OR NOT (b >= 2 AND c.d EXISTS)")]
    [InlineData("NOT NOT \"odd key\".\"a.b\" IN (\"q\\\"\\\\\", -1.5E+30, true, 2024-01-31, 2024-01-31T10:30:00.25Z)")]
    [InlineData("(a = 1 OR b = 2) AND (c = 3 OR d < 4) AND NOT (e != 5 AND f <= 2023-12-31T23:59:59.9999999Z)")]
    [InlineData("\"\" EXISTS AND \"AND\" = \"OR\" AND \"with space\".x = 0.001")]
    public void ToStringParsesBackToAnEqualExpression(string text)
    {
        var e = FilterExpression.Parse(text);
        Assert.Equal(e, FilterExpression.Parse(e.ToString()));
        Assert.Equal(e.ToString(), FilterExpression.Parse(e.ToString()).ToString());
    }

    [Theory]
    [InlineData("", "filter: the filter is empty")]
    [InlineData(" \t\n", "filter: the filter is empty")]
    [InlineData("(year >= 2020 OR year >= )", "filter: expected a value after '>=' at position 26, got ')'")]
    [InlineData("(a = 1", "filter: unbalanced parentheses: '(' at position 1 is never closed")]
    [InlineData("a IN (1, 2", "filter: unbalanced parentheses: '(' at position 6 is never closed")]
    [InlineData("a = 1)", "filter: unbalanced parentheses: ')' at position 6 has no matching '('")]
    [InlineData("(a = 1 b = 2)", "filter: expected AND, OR or ')' at position 8, got 'b'")]
    [InlineData("a = 1 b = 2", "filter: expected AND, OR or the end of the filter at position 7, got 'b'")]
    [InlineData("a = 1 && b = 2", "filter: expected AND, OR or the end of the filter at position 7, got '&&'")]
    [InlineData("a == 1", "filter: unknown operator '==' at position 3 (use '=')")]
    [InlineData("a <> 1", "filter: unknown operator '<>' at position 3 (use '!=')")]
    [InlineData("a ~ 1", "filter: unknown operator '~' at position 3 (expected =, !=, <, <=, > or >=)")]
    [InlineData("a > \"x\"", "filter: operator '>' needs a number or a date at position 5, got the string \"x\"")]
    [InlineData("a <= true", "filter: operator '<=' needs a number or a date at position 6, got the boolean 'true'")]
    [InlineData("a = abc", "filter: expected a value after '=' at position 5, got 'abc' (strings are double-quoted)")]
    [InlineData("a = 'x'", "filter: unexpected character ''' at position 5 (strings are double-quoted)")]
    [InlineData("a = *", "filter: unexpected character '*' at position 5")]
    [InlineData("a = \"x", "filter: unterminated string starting at position 5")]
    [InlineData("a = \"x\\n\"", "filter: unknown escape '\\n' at position 7 (only \\\" and \\\\ are escapes)")]
    [InlineData("a = 2024-02-30", "filter: invalid date at position 5: '2024-02-30'")]
    [InlineData("a = 2024-01-31T25:00Z", "filter: invalid date at position 5: '2024-01-31T25:00Z'")]
    [InlineData("a = 1e400", "filter: number out of range at position 5: '1e400'")]
    [InlineData("a = 01", "filter: invalid value at position 5: '01' (not a number or a date)")]
    [InlineData("a = 5abc", "filter: invalid value at position 5: '5abc' (not a number or a date)")]
    [InlineData("and = 1", "filter: expected a field, NOT or '(' at position 1, got 'and' (a key spelled like a keyword must be quoted: \"and\")")]
    [InlineData("a. = 1", "filter: expected a key after '.' at position 4, got '='")]
    [InlineData("()", "filter: expected a field, NOT or '(' at position 2, got ')'")]
    [InlineData("a = 1 AND", "filter: expected a field, NOT or '(' at position 10, got end of input")]
    [InlineData("a IN 1", "filter: expected '(' after IN at position 6, got '1'")]
    [InlineData("a IN ()", "filter: expected a value in the IN list at position 7, got ')'")]
    [InlineData("a IN (1 2)", "filter: expected ',' or ')' in the IN list at position 9, got '2'")]
    [InlineData("owner.team", "filter: expected an operator, IN or EXISTS after the field owner.team at position 11, got end of input")]
    [InlineData("a NOT IN (1)", "filter: expected an operator, IN or EXISTS after the field a at position 3, got 'NOT'")]
    [InlineData("a = null", "filter: expected a value after '=' at position 5, got 'null' (strings are double-quoted)")]
    public void SyntaxErrorsNameThePositionAndTheToken(string text, string message)
    {
        var ex = Assert.Throws<InvalidInputException>(() => FilterExpression.Parse(text));
        Assert.Equal(message, ex.Message);
        Assert.Equal("filter", ex.Setting);
    }

    [Fact]
    public void OversizedFiltersAreRejected()
    {
        var tooLong = Assert.Throws<InvalidInputException>(() => FilterExpression.Parse("a = \"" + new string('x', 5000) + "\""));
        Assert.Equal("filter: too long (5006 characters; the limit is 4096)", tooLong.Message);
        FilterExpression.Parse("a = \"" + new string('x', FilterExpression.MaxLength - 6) + "\"");   // exactly 4096: fine

        string values = string.Join(",", Enumerable.Range(0, FilterExpression.MaxClauses));
        Assert.Equal(256, FilterExpression.Parse($"a IN ({values})").ClauseCount);
        var clauses = Assert.Throws<InvalidInputException>(() => FilterExpression.Parse($"a IN ({values},1)"));
        Assert.Equal($"filter: too many clauses (more than 256) at position {7 + values.Length + 1}", clauses.Message);
        var ored = string.Join(" OR ", Enumerable.Range(0, 257).Select(i => "a EXISTS"));
        Assert.StartsWith("filter: too many clauses (more than 256) at position ", Assert.Throws<InvalidInputException>(() => FilterExpression.Parse(ored)).Message);

        FilterExpression.Parse(string.Concat(Enumerable.Repeat("NOT ", 64)) + "a EXISTS");
        var deep = Assert.Throws<InvalidInputException>(() => FilterExpression.Parse(string.Concat(Enumerable.Repeat("NOT ", 65)) + "a EXISTS"));
        Assert.Equal("filter: nested too deeply (more than 64 levels) at position 257", deep.Message);
        var parens = Assert.Throws<InvalidInputException>(() => FilterExpression.Parse(new string('(', 2000) + "a EXISTS" + new string(')', 2000)));
        Assert.Equal("filter: nested too deeply (more than 64 levels) at position 65", parens.Message);
    }

    [Fact]
    public void ErrorMessagesStayOnOneLine()
    {
        foreach (var text in new[] { "a = \"x\ny\" b", "a\n=\n", "\"k\u0001\" ~ 1", "a = 1 \"line\nbreak\"" })
        {
            var ex = Assert.Throws<InvalidInputException>(() => FilterExpression.Parse(text));
            Assert.DoesNotContain('\n', ex.Message);
            Assert.DoesNotContain('\u0001', ex.Message);
        }
    }

    [Fact]
    public void ARangeOperatorWithAStringCannotBeBuiltInCodeEither()
    {
        var ex = Assert.Throws<InvalidInputException>(() => Cmp("a", CompareOp.Less, S("x")));
        Assert.Equal("filter: operator '<' needs a number or a date, got the string \"x\"", ex.Message);
        Assert.Throws<InvalidInputException>(() => Cmp("a", CompareOp.GreaterOrEqual, new BoolValue(true)));
        Assert.Throws<ArgumentOutOfRangeException>(() => N(double.NaN));
    }

    // ---- Matches: the reference semantics ----

    const string Meta = """
        {"s": "x", "n": 5, "f": 1.5, "b": true, "tags": ["red", "blue", 7], "owner": {"team": "search", "level": 3},
         "items": [{"k": "a", "v": 1}, {"k": "b", "v": 2}], "nul": null, "empty": [], "nulls": [null],
         "a.b": "dotted", "a": {"b": "nested"}, "when": "2024-01-31T10:00:00+02:00", "day": "2024-01-31", "str5": "5",
         "neg": -0.0, "big": 1e400, "dup": 1, "dup": 2, "mixed": [[1, [2]], {"deep": [true]}]}
        """;

    [Theory]
    [InlineData("s = \"x\"", true)]
    [InlineData("s = \"X\"", false)]
    [InlineData("s = \"x \"", false)]
    [InlineData("s != \"x\"", false)]
    [InlineData("missing != \"x\"", true)]
    [InlineData("missing = \"x\"", false)]
    [InlineData("nul != 1", true)]
    [InlineData("n = 5", true)]
    [InlineData("n = 5.0", true)]
    [InlineData("n = 5e0", true)]
    [InlineData("n = \"5\"", false)]
    [InlineData("str5 = 5", false)]
    [InlineData("str5 = \"5\"", true)]
    [InlineData("n > 4.99 AND n < 5.01 AND n >= 5 AND n <= 5", true)]
    [InlineData("n > 5 OR n < 5", false)]
    [InlineData("s > 0", false)]
    [InlineData("f = 1.5 AND f > 1", true)]
    [InlineData("b = true", true)]
    [InlineData("b = false", false)]
    [InlineData("b = \"true\"", false)]
    [InlineData("tags = \"red\" AND tags = \"blue\" AND tags = 7", true)]
    [InlineData("tags != \"red\"", false)]
    [InlineData("tags > 6", true)]
    [InlineData("tags IN (\"green\", 8)", false)]
    [InlineData("tags IN (\"green\", 7)", true)]
    [InlineData("owner.team = \"search\" AND owner.level >= 3", true)]
    [InlineData("owner = \"search\"", false)]
    [InlineData("owner.team.x EXISTS", false)]
    [InlineData("items.k = \"b\" AND items.v = 1", true)]
    [InlineData("items.v > 2", false)]
    [InlineData("\"a.b\" = \"dotted\"", true)]
    [InlineData("\"a.b\" = \"nested\"", false)]
    [InlineData("a.b = \"nested\"", true)]
    [InlineData("a.b = \"dotted\"", false)]
    [InlineData("owner EXISTS AND owner.team EXISTS AND empty EXISTS AND nulls EXISTS AND items.k EXISTS", true)]
    [InlineData("nul EXISTS", false)]
    [InlineData("missing EXISTS", false)]
    [InlineData("owner.missing EXISTS", false)]
    [InlineData("when = 2024-01-31T08:00:00Z", true)]
    [InlineData("when = \"2024-01-31T08:00:00Z\"", false)]
    [InlineData("when > 2024-01-31 AND when < 2024-02-01", true)]
    [InlineData("day = 2024-01-31T00:00Z AND day = 2024-01-31 AND day <= 2024-01-31", true)]
    [InlineData("day = \"2024-01-31\"", true)]
    [InlineData("day = 2024-01-30T23:00-01:00", true)]
    [InlineData("day > 2024-01-31", false)]
    [InlineData("s < 2030-01-01", false)]
    [InlineData("neg = 0 AND neg >= 0 AND neg <= -0", true)]
    [InlineData("neg < 0", false)]
    [InlineData("big EXISTS AND NOT big > 0 AND NOT big < 0", true)]
    [InlineData("dup = 1 AND dup = 2", true)]
    [InlineData("mixed = 2 AND mixed.deep = true", true)]
    [InlineData("NOT (s = \"x\" AND n = 5) OR b = false", false)]
    public void MatchesFollowsTheDocumentedSemantics(string filter, bool expected) =>
        Assert.Equal(expected, FilterExpression.Parse(filter).Matches(Meta));

    [Fact]
    public void NoMetadataHasNoFields_BadMetadataIsInvalidInput()
    {
        Assert.False(FilterExpression.Parse("a EXISTS").Matches((string?)null));
        Assert.True(FilterExpression.Parse("a != 1").Matches((string?)null));
        Assert.True(FilterExpression.Parse("NOT a = \"x\"").Matches("{}"));
        Assert.Equal("metadata must be a JSON object, got an array",
            Assert.Throws<InvalidInputException>(() => FilterExpression.Parse("a EXISTS").Matches("[1]")).Message);
        Assert.StartsWith("metadata is not valid JSON: ",
            Assert.Throws<InvalidInputException>(() => FilterExpression.Parse("a EXISTS").Matches("{")).Message);
        Assert.Equal("metadata holds a key or string that is not valid text (an unpaired surrogate escape)",
            Assert.Throws<InvalidInputException>(() => FilterExpression.Parse("a EXISTS").Matches("{\"a\": [\"\\ud800\"]}")).Message);
    }

    [Theory]
    [InlineData("2024-01-31", "2024-01-31T00:00:00.0000000+00:00")]
    [InlineData("2024-02-29", "2024-02-29T00:00:00.0000000+00:00")]
    [InlineData("2024-01-31T10:00", "2024-01-31T10:00:00.0000000+00:00")]
    [InlineData("2024-01-31T10:00:59.1234567Z", "2024-01-31T10:00:59.1234567+00:00")]
    [InlineData("2024-01-31T10:00:00.5-05:30", "2024-01-31T15:30:00.5000000+00:00")]
    [InlineData("0001-01-01T00:00Z", "0001-01-01T00:00:00.0000000+00:00")]
    [InlineData("2024-01-01T00:00+14:00", "2023-12-31T10:00:00.0000000+00:00")]
    public void DatesReadAsUtcInstants(string text, string utc)
    {
        Assert.True(FilterDates.TryParse(text, out var instant));
        Assert.Equal(utc, instant.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.Zero, instant.Offset);
    }

    [Theory]
    [InlineData("2023-02-29")]
    [InlineData("2024-1-31")]
    [InlineData("2024-01-31 10:00")]
    [InlineData("2024-01-31t10:00")]
    [InlineData("2024-01-31T10")]
    [InlineData("2024-01-31T10:00:60")]
    [InlineData("2024-01-31T10:00:00.")]
    [InlineData("2024-01-31T10:00:00.12345678")]
    [InlineData("2024-01-31T10:00+15:00")]
    [InlineData("2024-01-31T10:00+05")]
    [InlineData("2024-01-31Z")]
    [InlineData("0000-01-01")]
    [InlineData("0001-01-01T00:00+01:00")]
    [InlineData("٢٠٢٤-01-31")]
    [InlineData("")]
    public void NotTheDateFormat(string text) => Assert.False(FilterDates.TryParse(text, out _));
}
