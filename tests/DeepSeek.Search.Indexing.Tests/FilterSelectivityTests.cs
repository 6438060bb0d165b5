using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// Filters are pre-filters in every mode: at 100%, 1%, 0.1% and 0.01% selectivity, by metadata and by ACL, over an exact
/// (Flat) and an approximate (HNSW) index, a search returns k permitted documents whenever k exist, none of the others,
/// and for Flat exactly the documents an exhaustive scan of the permitted ones ranks first.
/// </summary>
public sealed class FilterSelectivityTests : IClassFixture<FilterSelectivityTests.Collections>
{
    const int N = 10_000;
    static readonly string[] Words = "lava magma crust ocean river cell gene protein market price court music planet orbit".Split(' ');

    public sealed class Collections : IDisposable
    {
        readonly TempDir _tmp = new();
        public string Encoder { get; }
        public Dictionary<string, CollectionStore> ByFactory { get; } = new();
        public List<Document> Docs { get; }

        public Collections()
        {
            Encoder = TinyEncoder.Copy(_tmp);
            Docs = Enumerable.Range(0, N).Select(i =>
            {
                var rng = new Random(i);
                var text = string.Join(' ', Enumerable.Range(0, 4 + rng.Next(8)).Select(_ => Words[rng.Next(Words.Length)]));
                var meta = $"{{\"m100\": {i % 100}, \"m1000\": {i % 1000}, \"m10000\": {i}, \"even\": {(i % 2 == 0 ? "true" : "false")}}}";
                // ACL: one document in a thousand belongs to group g0 only, one in ten thousand to principal p0 only.
                Acl? acl = i % 10_000 == 7 ? new Acl(["p0"], []) : i % 1000 == 3 ? new Acl([], ["g0"]) : i % 100 == 5 ? new Acl([], ["g1"]) : null;
                return new Document($"d{i:D5}", "", text, meta, acl);
            }).ToList();
            foreach (var factory in new[] { "IDMap2,Flat", "IDMap2,HNSW32,Flat" })
            {
                var store = CollectionStore.At(_tmp.Path, factory.Contains("HNSW") ? "hnsw" : "flat");
                CollectionBuilder.Build(store, Docs, new BuildOptions { EncoderPath = Encoder, Factory = factory });
                ByFactory[factory] = store;
            }
        }

        public void Dispose() => _tmp.Dispose();
    }

    readonly Collections _c;
    public FilterSelectivityTests(Collections c) => _c = c;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var factory in new[] { "IDMap2,Flat", "IDMap2,HNSW32,Flat" })
            foreach (var filter in new[] { "", "m100 = 42", "m1000 = 421", "m10000 = 4242", "m1000 IN (1, 2) AND even = true", "NOT m100 < 99" })
                data.Add(factory, filter);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Metadata_filters_return_k_permitted_hits_at_every_selectivity(string factory, string filterText)
    {
        var filter = filterText.Length == 0 ? null : FilterExpression.Parse(filterText);
        var permitted = _c.Docs.Where(d => filter?.Matches(d.MetadataJson) ?? true).Select(d => d.Id).ToHashSet();
        Check(factory, null, filter, permitted);
    }

    [Theory]
    [InlineData("IDMap2,Flat")]
    [InlineData("IDMap2,HNSW32,Flat")]
    public void Acl_filters_return_k_permitted_hits_at_every_selectivity(string factory)
    {
        foreach (var caller in new[] { Caller.Of("p0"), Caller.Of("x", ["g0"]), Caller.Of("x", ["g1", "g0"]), Caller.Of("nobody") })
        {
            var permitted = _c.Docs.Where(d => d.Acl is null || d.Acl.Permits(caller)).Select(d => d.Id).ToHashSet();
            Check(factory, caller, null, permitted);
            // With a filter that leaves only ACL-restricted documents: 0.01% (p0 sees d07 … one of ten thousand) to 1%.
            var restricted = FilterExpression.Parse("m100 IN (3, 5, 7)");
            var both = _c.Docs.Where(d => (d.Acl is null || d.Acl.Permits(caller)) && restricted.Matches(d.MetadataJson)).Select(d => d.Id).ToHashSet();
            Check(factory, caller, restricted, both);
        }
    }

    void Check(string factory, Caller? caller, FilterExpression? filter, HashSet<string> permitted)
    {
        using var searcher = CollectionSearcher.Open(_c.ByFactory[factory]);
        foreach (var q in new[] { "lava magma", "market price court", "planet" })
            foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
            {
                var hits = searcher.Rank(q, new SearchOptions { Mode = mode, K = 10, Caller = caller, Filter = filter });
                Assert.All(hits, h => Assert.Contains(h.DocumentId, permitted));
                int expected = Math.Min(10, mode == SearchMode.Bm25 ? MatchingBm25(permitted, q) : permitted.Count);
                Assert.True(hits.Count == expected, $"{factory} {mode} '{q}' filter '{filter}' caller {caller?.Principal}: {hits.Count} hits, {permitted.Count} permitted, expected {expected}");
                if (mode == SearchMode.Dense && factory == "IDMap2,Flat") AssertExact(q, hits, permitted);
            }
    }

    // BM25 returns only documents sharing a term with the query.
    int MatchingBm25(HashSet<string> permitted, string q)
    {
        var terms = q.Split(' ');
        return _c.Docs.Count(d => permitted.Contains(d.Id) && terms.Any(t => d.Text.Split(' ').Contains(t)));
    }

    // The exhaustive answer: every permitted document's single chunk scored against the query.
    void AssertExact(string q, IReadOnlyList<Hit> hits, HashSet<string> permitted)
    {
        if (permitted.Count > 2000) return; // checked at the selective end, where the fallback to exact search runs
        using var encoder = TextEncoder.Load(_c.Encoder);
        var query = encoder.EncodeQueries([q])[0];
        var docs = _c.Docs.Where(d => permitted.Contains(d.Id)).ToList();
        var vectors = encoder.EncodeDocuments(docs.Select(TextChunker.ComposeText).ToList());
        var best = docs.Select((d, i) => (d.Id, Score: query.Zip(vectors[i], (a, b) => a * b).Sum()))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Take(10).ToList();
        Assert.Equal(best.Count, hits.Count);
        for (int i = 0; i < hits.Count; i++) Assert.Equal(best[i].Score, hits[i].Score, 2);
    }
}
