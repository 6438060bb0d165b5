using DeepSeek.Search.Core.Filtering;
using Lucene.Net.Index;
using Lucene.Net.Search;

namespace DeepSeek.Search.Index.Lexical.Filtering;

/// <summary>
/// Translates a caller and a metadata filter into a Lucene query over <see cref="FilterFields"/>: it matches exactly the
/// documents the caller may read (<see cref="Acl.Permits"/>, a document without an ACL being readable by all) for which
/// <see cref="FilterExpression.Matches(string?)"/> holds. Use it as a filter, e.g. <c>new QueryWrapperFilter(query)</c> in
/// <c>searcher.Search(textQuery, filter, n)</c> or a <see cref="FilteredQuery"/>: then BM25 scores are those of the text
/// query alone. (As a scoring clause it would add its own constant-ish scores; do not use it that way.)
/// </summary>
public static class FilterQuery
{
    /// <summary>Clauses per Lucene BooleanQuery; longer lists are nested (Lucene refuses more than 1024 by default).</summary>
    const int MaxClausesPerQuery = 512;

    /// <summary>
    /// The query of the documents <paramref name="caller"/> may read that pass <paramref name="filter"/>; null when both are
    /// null (everything is visible: no filtering needed). A null caller is unrestricted (local) access; a null filter passes
    /// every document.
    /// </summary>
    public static Query? Build(Caller? caller, FilterExpression? filter)
    {
        if (caller is null && filter is null) return null;
        if (caller is null) return ForFilter(filter!);
        if (filter is null) return ForCaller(caller);
        return new BooleanQuery(disableCoord: true) { { ForCaller(caller), Occur.MUST }, { ForFilter(filter), Occur.MUST } };
    }

    /// <summary><see cref="Build"/> as a Lucene <see cref="Filter"/> (a <see cref="QueryWrapperFilter"/>), or null.</summary>
    public static Filter? BuildFilter(Caller? caller, FilterExpression? filter) =>
        Build(caller, filter) is Query q ? new QueryWrapperFilter(q) : null;

    /// <summary>
    /// The documents <paramref name="caller"/> may read: no ACL (<c>_acl_open</c>), or the caller's principal among the ACL's
    /// principals (<c>_acl_p</c>), or one of its groups among the ACL's groups (<c>_acl_g</c>).
    /// </summary>
    public static Query ForCaller(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var any = new List<Query>
        {
            new TermQuery(new Term(FilterFields.AclOpen, FilterFields.OpenValue)),
            new TermQuery(new Term(FilterFields.AclPrincipal, caller.Principal)),
        };
        foreach (var g in caller.Groups.Distinct(StringComparer.Ordinal)) any.Add(new TermQuery(new Term(FilterFields.AclGroup, g)));
        return AnyOf(any);
    }

    /// <summary>The documents whose metadata passes <paramref name="filter"/>.</summary>
    public static Query ForFilter(FilterExpression filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter switch
        {
            AndExpression and => AllOf(and.Operands),
            OrExpression or => AnyOf(or.Operands.Select(ForFilter).ToList()),
            NotExpression not => AllOf([not]),
            CompareExpression { Op: CompareOp.NotEqual } ne => AllOf([ne]),
            CompareExpression c => Compare(c),
            InExpression @in => AnyOf(@in.Values.Select(v => Equal(@in.Field, v)).ToList()),
            ExistsExpression e => new TermQuery(new Term(FilterFields.FieldName(FilterFields.ExistsPrefix, e.Field.Path), FilterFields.PresentValue)),
            _ => throw new ArgumentException($"unknown filter expression type {filter.GetType().Name}", nameof(filter)),
        };
    }

    /// <summary>
    /// A conjunction: negated operands (NOT x, a != v) become MUST_NOT clauses of their positive form, the rest MUST; with no
    /// positive operand a MatchAllDocsQuery is the MUST (a Lucene BooleanQuery of MUST_NOT clauses alone matches nothing).
    /// </summary>
    static Query AllOf(IReadOnlyList<FilterExpression> operands)
    {
        if (operands.Count > MaxClausesPerQuery)
        {
            var parts = operands.Chunk(MaxClausesPerQuery).Select(c => AllOf(c)).ToList();
            var nested = new BooleanQuery(disableCoord: true);
            foreach (var p in parts) nested.Add(p, Occur.MUST);
            return nested;
        }
        var q = new BooleanQuery(disableCoord: true);
        bool positive = false;
        foreach (var o in operands)
        {
            switch (o)
            {
                case NotExpression not:
                    q.Add(ForFilter(not.Operand), Occur.MUST_NOT);
                    break;
                case CompareExpression { Op: CompareOp.NotEqual } ne:
                    q.Add(Equal(ne.Field, ne.Value), Occur.MUST_NOT);
                    break;
                default:
                    q.Add(ForFilter(o), Occur.MUST);
                    positive = true;
                    break;
            }
        }
        if (!positive) q.Add(new MatchAllDocsQuery(), Occur.MUST);
        return q;
    }

    static Query AnyOf(IReadOnlyList<Query> queries)
    {
        if (queries.Count == 1) return queries[0];
        if (queries.Count > MaxClausesPerQuery) return AnyOf(queries.Chunk(MaxClausesPerQuery).Select(c => AnyOf(c)).ToList());
        var q = new BooleanQuery(disableCoord: true);
        foreach (var s in queries) q.Add(s, Occur.SHOULD);
        return q;
    }

    static Query Compare(CompareExpression c)
    {
        if (c.Op == CompareOp.Equal) return Equal(c.Field, c.Value);
        bool lower = c.Op is CompareOp.Greater or CompareOp.GreaterOrEqual;
        bool inclusive = c.Op is CompareOp.GreaterOrEqual or CompareOp.LessOrEqual;
        switch (c.Value)
        {
            case NumberValue n:
            {
                string field = FilterFields.FieldName(FilterFields.NumberPrefix, c.Field.Path);
                double v = FilterFields.NumberTerm(n.Value);
                return lower
                    ? NumericRangeQuery.NewDoubleRange(field, v, null, inclusive, true)
                    : NumericRangeQuery.NewDoubleRange(field, null, v, true, inclusive);
            }
            case DateValue d:
            {
                string field = FilterFields.FieldName(FilterFields.DatePrefix, c.Field.Path);
                return lower
                    ? NumericRangeQuery.NewInt64Range(field, d.UtcTicks, null, inclusive, true)
                    : NumericRangeQuery.NewInt64Range(field, null, d.UtcTicks, true, inclusive);
            }
            default:
                throw new ArgumentException($"operator '{c.Op.Symbol()}' needs a number or a date, got a {c.Value.KindName}", nameof(c));
        }
    }

    static Query Equal(FilterField field, FilterValue value)
    {
        switch (value)
        {
            case StringValue s:
            {
                var (prefix, term) = FilterFields.StringTerm(s.Value);
                return new TermQuery(new Term(FilterFields.FieldName(prefix, field.Path), term));
            }
            case BoolValue b:
                return new TermQuery(new Term(FilterFields.FieldName(FilterFields.BoolPrefix, field.Path), b.Value ? "true" : "false"));
            case NumberValue n:
            {
                double v = FilterFields.NumberTerm(n.Value);
                return NumericRangeQuery.NewDoubleRange(FilterFields.FieldName(FilterFields.NumberPrefix, field.Path), v, v, true, true);
            }
            case DateValue d:
                return NumericRangeQuery.NewInt64Range(FilterFields.FieldName(FilterFields.DatePrefix, field.Path), d.UtcTicks, d.UtcTicks, true, true);
            default:
                throw new ArgumentException($"unknown filter value type {value.GetType().Name}", nameof(value));
        }
    }
}
