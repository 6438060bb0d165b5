using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Index.Lexical.Scoring;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Lexical.Tests;

/// <summary>
/// The pruned BM25 search (MaxScore) against Lucene's own BooleanQuery scorer on the same index: the same documents in the
/// same order with bit-identical scores, for every query, depth, field mode, caller, filter, borrowed statistics, several
/// segments and deletions. The corpora make ties (duplicate texts: the id breaks them) and terms common enough for the
/// per-segment bounds (TermBounds) to be computed and used.
/// </summary>
public class MaxScoreSearchTests
{
    static readonly string[] Words = BuildWords();

    static string[] BuildWords()
    {
        var rng = new Random(7);
        return Enumerable.Range(0, 400).Select(i => new string(Enumerable.Range(0, 3 + rng.Next(6)).Select(_ => (char)('a' + rng.Next(26))).ToArray()) + "x").Distinct().ToArray();
    }

    /// <summary>A Zipf-like draw over <see cref="Words"/>: a few words in most documents, a long tail in few.</summary>
    static string Word(Random rng) => Words[(int)Math.Min(Words.Length - 1, Math.Floor(Math.Pow(Words.Length, rng.NextDouble()) - 1))];

    static string Text(Random rng, int maxWords) => string.Join(' ', Enumerable.Range(0, 1 + rng.Next(maxWords)).Select(_ => Word(rng)));

    static List<Document> Documents(int seed, int count, bool acls = false)
    {
        var rng = new Random(seed);
        var docs = new List<Document>();
        for (int i = 0; i < count; i++)
        {
            // every 40th document repeats an earlier one's text: equal scores, ordered by id
            var earlier = i > 40 && i % 40 == 0 ? docs[rng.Next(docs.Count)] : null;
            Acl? acl = acls && rng.NextDouble() < 0.6 ? new Acl(rng.NextDouble() < 0.5 ? ["alice"] : ["bob"], rng.NextDouble() < 0.3 ? ["eng"] : []) : null;
            string meta = $"{{\"n\": {rng.Next(10)}}}";
            docs.Add(new Document($"d{rng.Next(1_000_000):D6}-{i}", earlier?.Title ?? Text(rng, 4), earlier?.Text ?? Text(rng, 80), meta, acl));
        }
        return docs;
    }

    List<string> Queries(int seed, int count)
    {
        var rng = new Random(seed);
        var qs = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var words = Enumerable.Range(0, 1 + rng.Next(10)).Select(_ => Word(rng)).ToList();
            if (rng.NextDouble() < 0.2) words.Add(words[0]);              // a repeated term: boost 2
            if (rng.NextDouble() < 0.1) words.Add("zzznotaword");           // a term in no document
            qs.Add(string.Join(' ', words));
        }
        return qs;
    }

    static void AssertSame(LexicalIndex index, string query, int k, Caller? caller = null, FilterExpression? filter = null, CorpusStatistics? statistics = null)
    {
        var lucene = index.Search(query, k, caller, filter, statistics, exhaustive: true);
        var pruned = index.Search(query, k, caller, filter, statistics);
        Assert.True(lucene.Count == pruned.Count, $"'{query}' k={k}: Lucene returned {lucene.Count} hits, the pruned search {pruned.Count}");
        for (int i = 0; i < lucene.Count; i++)
            Assert.True(lucene[i].DocumentId == pruned[i].DocumentId && lucene[i].Score.Equals(pruned[i].Score),
                $"'{query}' k={k} rank {i}: Lucene {lucene[i].DocumentId} {lucene[i].Score:R}, pruned {pruned[i].DocumentId} {pruned[i].Score:R}");
    }

    [Theory]
    [InlineData(LexicalFieldMode.Flat)]
    [InlineData(LexicalFieldMode.Multifield)]
    public void SameHitsAndScoresAsLuceneOverSegmentsWithDeletions(LexicalFieldMode mode)
    {
        using var dir = new TempDir();
        var docs = Documents(11, 6000);
        // four segments, written batch by batch, with deletions and re-writes in the later batches
        LexicalIndexWriter.Build(dir.Path, docs.Take(3000), new Bm25Options { FieldMode = mode });
        using (var writer = LexicalIndexWriter.OpenLive(dir.Path))
        {
            for (int batch = 0; batch < 3; batch++)
            {
                foreach (var d in docs.Skip(3000 + batch * 1000).Take(1000)) writer.Upsert(d, batch + 1, 0, 0);
                foreach (var d in docs.Skip(batch * 700).Take(150)) writer.Delete(d.Id);
                foreach (var d in docs.Skip(batch * 700 + 200).Take(50)) writer.Upsert(d with { Text = d.Text + " " + d.Title }, batch + 1, 0, 0);
                writer.CommitBatch(batch + 1);
            }
        }
        using var index = LexicalIndex.Open(dir.Path);
        foreach (var q in Queries(12, 150))
            foreach (int k in new[] { 1, 10, 100, 1000 })
                AssertSame(index, q, k);
        // deeper than the index: every matching document
        AssertSame(index, Words[0] + " " + Words[1], 100_000);
    }

    [Fact]
    public void SameHitsAndScoresAsLuceneWhenSegmentsAreSplitIntoRangesSearchedAtOnce()
    {
        using var dir = new TempDir();
        var docs = Documents(31, 6000, acls: true);
        LexicalIndexWriter.Build(dir.Path, docs.Take(4000));
        using (var writer = LexicalIndexWriter.OpenLive(dir.Path))
        {
            foreach (var d in docs.Skip(4000)) writer.Upsert(d, 1, 0, 0);
            foreach (var d in docs.Skip(100).Take(300)) writer.Delete(d.Id);
            writer.CommitBatch(1);
        }
        using var index = LexicalIndex.Open(dir.Path);
        var (minRange, minPostings, workers) = (MaxScoreSearch.MinRangeDocs, MaxScoreSearch.MinParallelPostings, MaxScoreSearch.Workers);
        try
        {
            // ranges of 97 to 1,000 documents: their bounds fall inside posting blocks and between duplicate texts
            foreach (var (range, threads) in new[] { (97, 5), (250, 4), (1000, 3), (1000, 1) })
            {
                (MaxScoreSearch.MinRangeDocs, MaxScoreSearch.MinParallelPostings, MaxScoreSearch.Workers) = (range, 0, threads);
                foreach (var q in Queries(32, 60))
                {
                    foreach (int k in new[] { 1, 10, 100, 1000 }) AssertSame(index, q, k);
                    AssertSame(index, q, 30, new("alice", []));
                    AssertSame(index, q, 30, null, FilterExpression.Parse("n >= 5"));
                }
            }
        }
        finally { (MaxScoreSearch.MinRangeDocs, MaxScoreSearch.MinParallelPostings, MaxScoreSearch.Workers) = (minRange, minPostings, workers); }
    }

    [Fact]
    public void SameHitsAndScoresAsLuceneForCallersFiltersAndBorrowedStatistics()
    {
        using var dir = new TempDir();
        using var other = new TempDir();
        LexicalIndexWriter.Build(dir.Path, Documents(21, 5000, acls: true));
        LexicalIndexWriter.Build(other.Path, Documents(22, 3000));
        using var index = LexicalIndex.Open(dir.Path);
        using var shard = LexicalIndex.Open(other.Path);
        Caller?[] callers = [null, new("alice", []), new("bob", ["eng"]), new("nobody", [])];
        var filters = new FilterExpression?[] { null, FilterExpression.Parse("n >= 5"), FilterExpression.Parse("n = 3") };
        foreach (var q in Queries(23, 60))
        {
            foreach (var caller in callers)
                foreach (var filter in filters)
                    AssertSame(index, q, 50, caller, filter);
            // the statistics of a two-shard collection: this index then scores as the whole would
            var sum = CorpusStatistics.Sum([index.Statistics(q), shard.Statistics(q)]);
            AssertSame(index, q, 20, null, null, sum);
            AssertSame(index, q, 20, new("alice", []), null, sum);
        }
    }

    [Fact]
    public void SameHitsAndScoresAsLuceneOnSciFact()
    {
        using var dir = new TempDir();
        var corpus = File.ReadLines(Repo.SharedPath("data", "scifact", "corpus.jsonl")).Select(l =>
        {
            var e = JsonDocument.Parse(l).RootElement;
            return new Document(e.GetProperty("_id").GetString()!, e.GetProperty("title").GetString() ?? "", e.GetProperty("text").GetString() ?? "");
        });
        LexicalIndexWriter.Build(dir.Path, corpus);
        using var index = LexicalIndex.Open(dir.Path);
        var queries = File.ReadLines(Repo.SharedPath("data", "scifact", "queries.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).Take(300);
        foreach (var q in queries)
            foreach (int k in new[] { 10, 100 })
                AssertSame(index, q, k);
    }
}
