using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Lexical.Filtering;
using Lucene.Net.Index;
using Lucene.Net.Search;
using LuceneDocument = Lucene.Net.Documents.Document;

namespace DeepSeek.Search.Index.Lexical.Tests.Filtering;

/// <summary>The Lucene translation (FilterFields + FilterQuery) against the reference: Matches(metadata) and Acl.Permits.</summary>
public class FilterQueryTests
{
    static bool Permitted(Document d, Caller? caller) => caller is null || d.Acl is null || d.Acl.Permits(caller);

    static SortedSet<string> Expected(IEnumerable<Document> docs, Caller? caller, FilterExpression? filter) =>
        new(docs.Where(d => Permitted(d, caller) && (filter is null || filter.Matches(d.MetadataJson))).Select(d => d.Id), StringComparer.Ordinal);

    static string Describe(Caller? c) => c is null ? "no caller" : $"caller '{c.Principal}' groups [{string.Join(", ", c.Groups.Select(g => $"'{g}'"))}]";

    static void AssertSame(IReadOnlyList<Document> docs, SortedSet<string> expected, SortedSet<string> actual, string what)
    {
        if (expected.SetEquals(actual)) return;
        var byId = docs.ToDictionary(d => d.Id);
        var sb = new StringBuilder($"{what}: Lucene and the reference disagree");
        foreach (var id in expected.Except(actual).Take(3)) sb.Append($"\n  missing from Lucene: {id} {byId[id].MetadataJson} acl={byId[id].Acl}");
        foreach (var id in actual.Except(expected).Take(3)) sb.Append($"\n  extra in Lucene: {id} {byId[id].MetadataJson} acl={byId[id].Acl}");
        Assert.Fail(sb.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LuceneAdmitsExactlyTheDocumentsTheReferenceDoes(int seed)
    {
        var gen = new RandomFilterCorpus(seed);
        var docs = gen.Documents(300);
        using var index = new FilterIndex(docs);
        Assert.Equal(300, index.Count);

        foreach (var caller in RandomFilterCorpus.Callers)
            AssertSame(docs, Expected(docs, caller, null), index.Visible(caller, null), Describe(caller));

        int filters = 0, selective = 0;
        while (filters < 300)
        {
            string text = gen.Filter();
            FilterExpression filter;
            try { filter = FilterExpression.Parse(text); }
            catch (InvalidInputException ex) when (ex.Message.StartsWith("filter: too long", StringComparison.Ordinal)) { continue; }
            filters++;
            Assert.Equal(filter, FilterExpression.Parse(filter.ToString()));
            for (int k = 0; k < 3; k++)
            {
                var caller = k == 0 ? null : gen.Caller();
                var expected = Expected(docs, caller, filter);
                AssertSame(docs, expected, index.Visible(caller, filter), $"filter {text} ({Describe(caller)})");
                if (k == 0 && expected.Count > 0 && expected.Count < docs.Count) selective++;
            }
        }
        // The test means something only if most filters split the corpus rather than admitting all or nothing.
        Assert.True(selective > 150, $"only {selective} of 300 filters were selective");
    }

    static Document Doc(string id, string? metadata, Acl? acl = null, string title = "", string text = "filler") => new(id, title, text, metadata, acl);

    [Fact]
    public void KeysAndValuesThatLookLikeQuerySyntaxAreInert()
    {
        Document[] docs =
        [
            Doc("d1", """{"a) OR (b": "* OR 1=1", "title": "rust", "x\"y": "\\\"", "*": "*", "r": "rust language"}"""),
            Doc("d2", """{"a": "x", "b": "y", "q": "rust*"}""", title: "rust", text: "rust language"),
            Doc("d3", """{"contents": "rust", "id": "d1", "_acl_open": "1", "_acl_p": "alice", "body": "*:*"}""", new Acl(["bob"], [])),
            Doc("d4", """{"a": {"b": "nested"}, "a.b": "dotted", "a\\.b": "escaped", "a\\": {"b": "slash"}}"""),
        ];
        using var index = new FilterIndex(docs);
        void Check(string filter, Caller? caller, params string[] ids)
        {
            var f = FilterExpression.Parse(filter);
            Assert.Equal(ids.Order(StringComparer.Ordinal), index.Visible(caller, f));
            Assert.Equal(Expected(docs, caller, f), index.Visible(caller, f));
        }
        Check("\"a) OR (b\" = \"* OR 1=1\"", null, "d1");
        Check("\"a) OR (b\" = \"*\" OR \"a) OR (b\" = \"1=1\"", null);
        Check("title = \"rust\"", null, "d1");           // the metadata key "title", not the indexed title
        Check("contents = \"rust\"", null, "d3");
        Check("id = \"d1\"", null, "d3");                 // the metadata key "id", not the document id
        Check("body = \"*:*\"", null, "d3");
        Check("\"x\\\"y\" = \"\\\\\\\"\"", null, "d1");   // key x"y, value \"
        Check("\"*\" = \"*\"", null, "d1");
        Check("a = \"*\" OR b = \"*\" OR q = \"rust\" OR r = \"rust\"", null);
        Check("q = \"rust*\"", null, "d2");
        Check("\"_acl_p\" = \"alice\"", null, "d3");
        Check("\"_acl_p\" = \"alice\"", new Caller("alice", []));   // metadata never grants access
        Check("\"_acl_open\" = \"1\"", new Caller("alice", []));
        Check("\"_acl_open\" EXISTS", new Caller("bob", []), "d3");
        Check("a.b = \"nested\"", null, "d4");
        Check("a.b = \"dotted\"", null);
        Check("\"a.b\" = \"dotted\"", null, "d4");
        Check("\"a.b\" = \"nested\"", null);
        Check("\"a\\\\.b\" = \"escaped\"", null, "d4");
        Check("\"a\\\\\".b = \"slash\"", null, "d4");
        Check("\"a\\\\\".b = \"escaped\" OR \"a\\\\.b\" = \"slash\"", null);
    }

    [Fact]
    public void PrincipalsAndGroupsMatchExactlyAndSeparately()
    {
        Document[] docs =
        [
            Doc("open", null),
            Doc("alice", null, new Acl(["alice"], [])),
            Doc("alice-space", null, new Acl(["alice "], [])),
            Doc("Alice", null, new Acl(["Alice"], [])),
            Doc("group-bob", null, new Acl([], ["bob"])),
            Doc("principal-bob", null, new Acl(["bob"], [])),
            Doc("finance", null, new Acl(["carol"], ["finance", "legal"])),
            Doc("nobody", null, new Acl([], [])),
        ];
        using var index = new FilterIndex(docs);
        void Check(Caller? caller, params string[] ids)
        {
            Assert.Equal(ids.Order(StringComparer.Ordinal), index.Visible(caller, null));
            Assert.Equal(Expected(docs, caller, null), index.Visible(caller, null));
        }
        Check(null, [.. docs.Select(d => d.Id)]);                       // unrestricted: even the ACL that names nobody
        Check(new Caller("alice", []), "open", "alice");
        Check(new Caller("alice ", []), "open", "alice-space");
        Check(new Caller("Alice", []), "open", "Alice");
        Check(new Caller("ALICE", []), "open");
        Check(new Caller("bob", []), "open", "principal-bob");          // the group "bob" grants nothing to the principal "bob"
        Check(new Caller("carol", ["bob"]), "open", "group-bob", "finance");
        Check(new Caller("dave", ["alice", "Finance"]), "open");        // a group named like a principal, a group in the wrong case
        Check(new Caller("finance", []), "open");                       // a principal named like a group
        Check(new Caller("dave", ["legal"]), "open", "finance");
        Check(Caller.Of("zed"), "open");                                // empty groups
        Check(new Caller("", [""]), "open");
    }

    [Fact]
    public void AclAndFilterCombine_PureNegationsAndMissingFields()
    {
        Document[] docs =
        [
            Doc("a1", """{"k": "x", "n": 1}"""),
            Doc("a2", """{"k": "y"}""", new Acl(["alice"], [])),
            Doc("a3", null, new Acl([], ["eng"])),
            Doc("a4", """{"k": null, "n": [1, 2]}""", new Acl([], [])),
        ];
        using var index = new FilterIndex(docs);
        var alice = new Caller("alice", ["eng"]);
        Assert.Null(FilterQuery.Build(null, null));
        Assert.Null(FilterQuery.BuildFilter(null, null));
        Assert.Equal(["a1", "a2", "a3"], index.Visible(alice, null));
        Assert.Equal(["a2", "a3"], index.Visible(alice, FilterExpression.Parse("k != \"x\"")));
        Assert.Equal(["a2", "a3", "a4"], index.Visible(null, FilterExpression.Parse("NOT k = \"x\"")));
        Assert.Equal(["a3", "a4"], index.Visible(null, FilterExpression.Parse("NOT k EXISTS")));
        Assert.Equal(["a2", "a3"], index.Visible(null, FilterExpression.Parse("NOT n EXISTS AND NOT n = 3")));
        Assert.Equal(["a1"], index.Visible(alice, FilterExpression.Parse("n = 1")));
        Assert.Equal(["a1", "a4"], index.Visible(null, FilterExpression.Parse("n = 1")));
        Assert.Equal(["a2", "a3"], index.Visible(null, FilterExpression.Parse("n != 1")));
        Assert.Empty(index.Visible(new Caller("bob", []), FilterExpression.Parse("NOT k = \"x\"")));
    }

    [Fact]
    public void LongStringsAndManyClausesWork()
    {
        string longA = new string('v', 5000), longB = new string('v', 4999) + "w";
        Document[] docs =
        [
            Doc("long-a", $$"""{"s": "{{longA}}", "n": 2999}""", new Acl([], ["g2999"])),
            Doc("long-b", $$"""{"s": "{{longB}}", "n": -1}""", new Acl([], ["g0"])),
            Doc("short", """{"s": "v", "n": 1500}"""),
        ];
        using var index = new FilterIndex(docs);
        Assert.Equal(["long-a"], index.Visible(null, new CompareExpression(FilterField.Of("s"), CompareOp.Equal, new StringValue(longA))));
        Assert.Equal(["long-b"], index.Visible(null, new CompareExpression(FilterField.Of("s"), CompareOp.Equal, new StringValue(longB))));

        // Built in code, past the text limits and past Lucene's 1024 clauses per BooleanQuery.
        var manyGroups = new Caller("nobody", Enumerable.Range(1, 3000).Select(i => $"g{i}").ToList());
        Assert.Equal(["long-a", "short"], index.Visible(manyGroups, null));
        var bigIn = new InExpression(FilterField.Of("n"), Enumerable.Range(0, 3000).Select(i => (FilterValue)new NumberValue(i)).ToList());
        Assert.Equal(["long-a", "short"], index.Visible(null, bigIn));
        FilterExpression N(CompareOp op, int i) => new CompareExpression(FilterField.Of("n"), op, new NumberValue(i));
        var bigOr = new OrExpression(Enumerable.Range(0, 2000).Select(i => N(CompareOp.Equal, i)).ToList());
        Assert.Equal(["short"], index.Visible(manyGroups, bigOr));
        var bigAnd = new AndExpression(Enumerable.Range(0, 2000).Select(i => N(CompareOp.NotEqual, i)).ToList());
        Assert.Equal(["long-a", "long-b"], index.Visible(null, bigAnd));
        Assert.Equal(Expected(docs, null, bigAnd), index.Visible(null, bigAnd));
    }

    [Fact]
    public void FilteringLeavesBm25ScoresUnchanged()
    {
        var gen = new RandomFilterCorpus(7);
        string[] words = ["rust", "language", "safety", "cats", "dogs", "systems", "programming", "memory"];
        var rng = new Random(7);
        var docs = gen.Documents(200).Select(d => d with
        {
            Title = words[rng.Next(words.Length)],
            Text = string.Join(' ', Enumerable.Range(0, rng.Next(1, 30)).Select(_ => words[rng.Next(words.Length)])),
        }).ToList();
        using var plain = new FilterIndex(docs, withFilterFields: false);
        using var filtered = new FilterIndex(docs);

        var text = new BooleanQuery
        {
            { new TermQuery(new Term(LexicalFields.Contents, "rust")), Occur.SHOULD },
            { new TermQuery(new Term(LexicalFields.Contents, "memori")), Occur.SHOULD },
        };
        Dictionary<string, float> Scores(FilterIndex index, Filter? filter) =>
            index.Searcher.Search(text, filter, docs.Count).ScoreDocs.ToDictionary(sd => index.Id(sd.Doc), sd => sd.Score);

        var baseline = Scores(plain, null);
        Assert.True(baseline.Count > 20);
        Assert.Equal(baseline, Scores(filtered, null));           // the extra fields change no statistics

        var caller = new Caller("alice", ["finance"]);
        var filter = FilterExpression.Parse("n >= 0 OR NOT tags EXISTS");
        var restricted = Scores(filtered, FilterQuery.BuildFilter(caller, filter));
        var expected = Expected(docs, caller, filter);
        Assert.Equal(expected.Intersect(baseline.Keys).Order(StringComparer.Ordinal), restricted.Keys.Order(StringComparer.Ordinal));
        Assert.True(restricted.Count > 5 && restricted.Count < baseline.Count);
        foreach (var (id, score) in restricted) Assert.Equal(baseline[id], score);

        var viaFilteredQuery = filtered.Searcher.Search(new FilteredQuery(text, FilterQuery.BuildFilter(caller, filter)), docs.Count);
        foreach (var sd in viaFilteredQuery.ScoreDocs) Assert.Equal(baseline[filtered.Id(sd.Doc)], sd.Score);
        Assert.Equal(restricted.Count, viaFilteredQuery.TotalHits);
    }

    [Fact]
    public void FieldNamesArePrefixedAndEscaped()
    {
        Assert.Equal("_ms:a.b", FilterFields.FieldName(FilterFields.StringPrefix, ["a", "b"]));
        Assert.Equal("_ms:a\\.b", FilterFields.FieldName(FilterFields.StringPrefix, ["a.b"]));
        Assert.Equal("_ms:a\\\\.b", FilterFields.FieldName(FilterFields.StringPrefix, ["a\\", "b"]));
        Assert.Equal("_ms:a\\\\\\.b", FilterFields.FieldName(FilterFields.StringPrefix, ["a\\.b"]));

        var target = new LuceneDocument();
        FilterFields.AddTo(target, Doc("x", """{"id": "a", "title": "b", "contents": 1, "body": true, "n": {"m": [1, "2024-01-31", null]}}"""));
        var names = target.Fields.Select(f => f.Name).ToHashSet();
        Assert.All(names, n => Assert.True(FilterFields.IsFilterField(n)));
        Assert.DoesNotContain(LexicalFields.Id, names);
        Assert.Contains(FilterFields.AclOpen, names);
        Assert.Equal(
            ["_acl_open", "_mb:body", "_md:n.m", "_mn:contents", "_mn:n.m", "_ms:id", "_ms:n.m", "_ms:title",
             "_mx:body", "_mx:contents", "_mx:id", "_mx:n", "_mx:n.m", "_mx:title"],
            names.Order(StringComparer.Ordinal));
        Assert.All(target.Fields, f => Assert.False(f.IndexableFieldType.IsStored));

        var acl = new LuceneDocument();
        FilterFields.AddTo(acl, Doc("y", null, new Acl(["p", "p"], ["g"])));
        Assert.Equal(["_acl_g=g", "_acl_p=p"], acl.Fields.Select(f => $"{f.Name}={f.GetStringValue()}").Order(StringComparer.Ordinal));
        var none = new LuceneDocument();
        FilterFields.AddTo(none, Doc("z", null, new Acl([], [])));
        Assert.Empty(none.Fields);
    }

    [Fact]
    public void BadMetadataOrAclNamesAreInvalidInput()
    {
        var ex = Assert.Throws<InvalidInputException>(() => FilterFields.AddTo(new LuceneDocument(), Doc("bad", "[1, 2]")));
        Assert.Equal("document 'bad': metadata must be a JSON object, got an array", ex.Message);
        Assert.Throws<InvalidInputException>(() => FilterFields.AddTo(new LuceneDocument(), Doc("bad", "{")));
        Assert.Throws<InvalidInputException>(() => FilterFields.AddTo(new LuceneDocument(), Doc("bad", "{\"\\udc00\": 1}")));
        Assert.Equal("document 'e' has an empty ACL group name",
            Assert.Throws<InvalidInputException>(() => FilterFields.AddTo(new LuceneDocument(), Doc("e", null, new Acl(["p"], [""])))).Message);
        Assert.Throws<InvalidInputException>(() => FilterFields.AddTo(new LuceneDocument(), Doc("l", null, new Acl([new string('p', 1025)], []))));
    }
}
