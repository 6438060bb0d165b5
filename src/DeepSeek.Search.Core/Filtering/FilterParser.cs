using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// The recursive-descent parser of <see cref="FilterExpression.Grammar"/>; tokens are read one at a time, so the first error
/// in reading order is reported.
/// </summary>
internal sealed partial class FilterParser
{
    enum TokenKind { End, LeftParen, RightParen, Comma, Dot, Operator, Word, String, Literal }

    /// <summary>A token: its kind, 0-based start, source text, and for a string its unescaped value.</summary>
    readonly record struct Token(TokenKind Kind, int Start, string Source, string? Value = null)
    {
        public int Position => Start + 1;

        public string Shown => Kind switch
        {
            TokenKind.End => "end of input",
            TokenKind.String => FilterText.Excerpt(Source),
            _ => $"'{FilterText.Excerpt(Source)}'",
        };

        public bool IsWord(string keyword) => Kind == TokenKind.Word && string.Equals(Source, keyword, StringComparison.OrdinalIgnoreCase);
    }

    readonly string _text;
    int _next;
    Token _token;
    int _clauses;

    FilterParser(string text)
    {
        _text = text;
        Advance();
    }

    internal static FilterExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > FilterExpression.MaxLength)
            throw Error($"too long ({text.Length} characters; the limit is {FilterExpression.MaxLength})");
        if (string.IsNullOrWhiteSpace(text)) throw Error("the filter is empty");
        var parser = new FilterParser(text);
        var e = parser.ParseOr(0);
        var t = parser._token;
        if (t.Kind == TokenKind.RightParen) throw Error($"unbalanced parentheses: ')' at position {t.Position} has no matching '('");
        if (t.Kind != TokenKind.End) throw Error($"expected AND, OR or the end of the filter at position {t.Position}, got {t.Shown}");
        return e;
    }

    static InvalidInputException Error(string problem) => new("filter: " + problem) { Setting = "filter" };

    FilterExpression ParseOr(int depth)
    {
        var terms = new List<FilterExpression> { ParseAnd(depth) };
        while (_token.IsWord("OR"))
        {
            Advance();
            terms.Add(ParseAnd(depth));
        }
        return terms.Count == 1 ? terms[0] : new OrExpression(terms);
    }

    FilterExpression ParseAnd(int depth)
    {
        var factors = new List<FilterExpression> { ParseFactor(depth) };
        while (_token.IsWord("AND"))
        {
            Advance();
            factors.Add(ParseFactor(depth));
        }
        return factors.Count == 1 ? factors[0] : new AndExpression(factors);
    }

    FilterExpression ParseFactor(int depth)
    {
        var t = _token;
        if ((t.IsWord("NOT") || t.Kind == TokenKind.LeftParen) && depth == FilterExpression.MaxDepth)
            throw Error($"nested too deeply (more than {FilterExpression.MaxDepth} levels) at position {t.Position}");
        if (t.IsWord("NOT"))
        {
            Advance();
            return new NotExpression(ParseFactor(depth + 1));
        }
        if (t.Kind == TokenKind.LeftParen)
        {
            Advance();
            var inner = ParseOr(depth + 1);
            if (_token.Kind == TokenKind.End) throw Error($"unbalanced parentheses: '(' at position {t.Position} is never closed");
            if (_token.Kind != TokenKind.RightParen) throw Error($"expected AND, OR or ')' at position {_token.Position}, got {_token.Shown}");
            Advance();
            return inner;
        }

        var field = ParseField();
        var after = _token;
        if (after.Kind == TokenKind.Operator)
        {
            var op = Operator(after);
            Advance();
            var valueToken = _token;
            var value = ParseValue($"after '{after.Source}'");
            if (op.IsRange() && !value.IsOrdered)
                throw Error($"operator '{after.Source}' needs a number or a date at position {valueToken.Position}, "
                    + $"got the {value.KindName} {valueToken.Shown}");
            Count(valueToken);
            return new CompareExpression(field, op, value);
        }
        if (after.IsWord("IN"))
        {
            Advance();
            if (_token.Kind != TokenKind.LeftParen) throw Error($"expected '(' after IN at position {_token.Position}, got {_token.Shown}");
            var open = _token;
            Advance();
            var values = new List<FilterValue>();
            while (true)
            {
                var valueToken = _token;
                values.Add(ParseValue("in the IN list"));
                Count(valueToken);
                if (_token.Kind == TokenKind.Comma)
                {
                    Advance();
                    continue;
                }
                if (_token.Kind == TokenKind.RightParen) break;
                if (_token.Kind == TokenKind.End) throw Error($"unbalanced parentheses: '(' at position {open.Position} is never closed");
                throw Error($"expected ',' or ')' in the IN list at position {_token.Position}, got {_token.Shown}");
            }
            Advance();
            return new InExpression(field, values);
        }
        if (after.IsWord("EXISTS"))
        {
            Count(after);
            Advance();
            return new ExistsExpression(field);
        }
        string shownField = FilterText.Excerpt(field.ToString());
        throw Error($"expected an operator, IN or EXISTS after the field {shownField} at position {after.Position}, got {after.Shown}");
    }

    FilterField ParseField()
    {
        var keys = new List<string> { ParseKey(first: true) };
        while (_token.Kind == TokenKind.Dot)
        {
            Advance();
            keys.Add(ParseKey(first: false));
        }
        return new FilterField(keys);
    }

    string ParseKey(bool first)
    {
        var t = _token;
        if (t.Kind == TokenKind.String)
        {
            Advance();
            return t.Value!;
        }
        if (t.Kind == TokenKind.Word && !FilterText.IsKeyword(t.Source))
        {
            Advance();
            return t.Source;
        }
        string expected = first ? "a field, NOT or '('" : "a key after '.'";
        string hint = t.Kind == TokenKind.Word ? $" (a key spelled like a keyword must be quoted: \"{t.Source}\")" : "";
        throw Error($"expected {expected} at position {t.Position}, got {t.Shown}{hint}");
    }

    FilterValue ParseValue(string where)
    {
        var t = _token;
        FilterValue value;
        if (t.Kind == TokenKind.String) value = new StringValue(t.Value!);
        else if (t.IsWord("TRUE")) value = new BoolValue(true);
        else if (t.IsWord("FALSE")) value = new BoolValue(false);
        else if (t.Kind == TokenKind.Literal) value = Literal(t);
        else
        {
            string hint = t.Kind == TokenKind.Word ? " (strings are double-quoted)" : "";
            throw Error($"expected a value {where} at position {t.Position}, got {t.Shown}{hint}");
        }
        Advance();
        return value;
    }

    static FilterValue Literal(Token t)
    {
        string s = t.Source;
        if (DateShape().IsMatch(s))
        {
            if (!FilterDates.TryParse(s, out var instant)) throw Error($"invalid date at position {t.Position}: {t.Shown}");
            return new DateValue(instant);
        }
        if (!JsonNumber().IsMatch(s)) throw Error($"invalid value at position {t.Position}: {t.Shown} (not a number or a date)");
        double d = double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(d)) throw Error($"number out of range at position {t.Position}: {t.Shown}");
        return new NumberValue(d);
    }

    static CompareOp Operator(Token t) => t.Source switch
    {
        "=" => CompareOp.Equal,
        "!=" => CompareOp.NotEqual,
        "<" => CompareOp.Less,
        "<=" => CompareOp.LessOrEqual,
        ">" => CompareOp.Greater,
        ">=" => CompareOp.GreaterOrEqual,
        _ => throw Error($"unknown operator {t.Shown} at position {t.Position}{OperatorHint(t.Source)}"),
    };

    static string OperatorHint(string op) => op switch
    {
        "==" => " (use '=')",
        "<>" => " (use '!=')",
        "!" => " (use NOT)",
        "&&" or "&" => " (use AND)",
        "||" or "|" => " (use OR)",
        _ => " (expected =, !=, <, <=, > or >=)",
    };

    void Count(Token at)
    {
        if (++_clauses > FilterExpression.MaxClauses)
            throw Error($"too many clauses (more than {FilterExpression.MaxClauses}) at position {at.Position}");
    }

    void Advance() => _token = Lex();

    Token Lex()
    {
        int i = _next;
        while (i < _text.Length && _text[i] is ' ' or '\t' or '\r' or '\n') i++;
        if (i == _text.Length)
        {
            _next = i;
            return new Token(TokenKind.End, i, "");
        }
        char c = _text[i];
        int start = i;
        TokenKind kind;
        string? value = null;
        switch (c)
        {
            case '(': kind = TokenKind.LeftParen; i++; break;
            case ')': kind = TokenKind.RightParen; i++; break;
            case ',': kind = TokenKind.Comma; i++; break;
            case '.': kind = TokenKind.Dot; i++; break;
            case '"':
                kind = TokenKind.String;
                value = LexString(ref i);
                break;
            default:
                if (IsOperatorChar(c))
                {
                    kind = TokenKind.Operator;
                    while (i < _text.Length && IsOperatorChar(_text[i])) i++;
                }
                else if (FilterText.IsBareStart(c))
                {
                    kind = TokenKind.Word;
                    while (i < _text.Length && FilterText.IsBarePart(_text[i])) i++;
                }
                else if (char.IsAsciiDigit(c) || c == '-')
                {
                    kind = TokenKind.Literal;
                    while (i < _text.Length && IsLiteralChar(_text[i])) i++;
                }
                else
                {
                    int length = char.IsHighSurrogate(c) && i + 1 < _text.Length && char.IsLowSurrogate(_text[i + 1]) ? 2 : 1;
                    string hint = c == '\'' ? " (strings are double-quoted)" : "";
                    throw Error($"unexpected character '{FilterText.Excerpt(_text.Substring(i, length))}' at position {i + 1}{hint}");
                }
                break;
        }
        _next = i;
        return new Token(kind, start, _text[start..i], value);
    }

    string LexString(ref int i)
    {
        int start = i++;
        var sb = new StringBuilder();
        while (true)
        {
            if (i == _text.Length) throw Error($"unterminated string starting at position {start + 1}");
            char c = _text[i];
            if (c == '"')
            {
                i++;
                return sb.ToString();
            }
            if (c == '\\')
            {
                if (i + 1 == _text.Length) throw Error($"unterminated string starting at position {start + 1}");
                char e = _text[i + 1];
                if (e is not ('"' or '\\'))
                    throw Error($"unknown escape '\\{FilterText.Excerpt(e.ToString())}' at position {i + 1} (only \\\" and \\\\ are escapes)");
                sb.Append(e);
                i += 2;
                continue;
            }
            sb.Append(c);
            i++;
        }
    }

    static bool IsOperatorChar(char c) => c is '=' or '!' or '<' or '>' or '~' or '&' or '|';

    static bool IsLiteralChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or ':' or '+' or '-' or '_';

    [GeneratedRegex(@"^[0-9]{4}-")]
    private static partial Regex DateShape();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")]
    private static partial Regex JsonNumber();
}
