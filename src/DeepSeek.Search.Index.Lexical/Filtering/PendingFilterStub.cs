// TEMPORARY: stands in for the filter helper's FilterFields / FilterQuery until its branch merges; deleted at that merge.
using DeepSeek.Search.Core.Filtering;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;

namespace DeepSeek.Search.Index.Lexical.Filtering;

public static class FilterFields
{
    public static void AddTo(Lucene.Net.Documents.Document target, Core.Document doc)
    {
        if (doc.Acl is null) target.Add(new StringField("_acl_open", "1", Field.Store.NO));
        else
        {
            foreach (var p in doc.Acl.Principals) target.Add(new StringField("_acl_p", p, Field.Store.NO));
            foreach (var g in doc.Acl.Groups) target.Add(new StringField("_acl_g", g, Field.Store.NO));
        }
    }
}

public static class FilterQuery
{
    public static Query? Build(Caller? caller, FilterExpression? filter)
    {
        if (caller is null) return null;
        var q = new BooleanQuery { { new TermQuery(new Term("_acl_open", "1")), Occur.SHOULD }, { new TermQuery(new Term("_acl_p", caller.Principal)), Occur.SHOULD } };
        foreach (var g in caller.Groups) q.Add(new TermQuery(new Term("_acl_g", g)), Occur.SHOULD);
        return q;
    }
}
