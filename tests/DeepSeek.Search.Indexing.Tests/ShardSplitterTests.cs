using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// <see cref="ShardSplitter"/> on real parts (the tiny BERT fixture, FAISS, Lucene, SQLite): a hybrid collection with metadata,
/// ACLs and live upserts whose vectors still wait in the store, split into 2 and 3 shards.
/// </summary>
public class ShardSplitterTests
{
    static readonly string[] Queries = ["protein cell gene", "topic3 lava magma", "market price bank n17", "planet orbit galaxy telescope", "football coach n101"];

    /// <summary>A hybrid collection of 150 seeded documents (some with metadata or an ACL), then 12 live upserts (pending vectors) and 3 deletes.</summary>
    static CollectionStore Source(TempDir tmp)
    {
        var tiny = TinyEncoder.Copy(tmp);
        var source = CollectionStore.At(tmp.File("source"), "docs");
        var docs = Enumerable.Range(0, 150).Select(i => Decorate(Rankings.Doc($"d{i}", i), i));
        CollectionBuilder.Build(source, docs, new BuildOptions { EncoderPath = tiny, ChunkTokens = 12, ChunkOverlap = 2 });
        using var writer = CollectionWriter.Open(source);
        writer.Upsert(Enumerable.Range(0, 12).Select(i => Decorate(Rankings.Doc(i % 2 == 0 ? $"d{i * 5}" : $"live{i}", 500 + i), i)).ToList());
        writer.Delete(["d3", "d77", "live5"]);
        return source;
    }

    static Document Decorate(Document d, int i) => d with
    {
        MetadataJson = i % 3 == 0 ? $"{{\"lang\":\"en\",\"n\":{i}}}" : null,
        Acl = i % 5 == 0 ? new Acl([$"p{i % 2}"], ["team"]) : null,
    };

    static List<StoredDocument> Live(CollectionStore store)
    {
        var snapshot = store.OpenCurrent();
        using var ds = DocumentStore.Open(snapshot.DocumentStorePath);
        return ds.DocumentsAt(ds.LastSeq).ToList();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_split_routes_every_document_by_ShardOf_keeps_it_whole_reuses_every_vector_and_merged_dense_top_k_equals_the_source(int n)
    {
        using var tmp = new TempDir();
        var source = Source(tmp);
        using (var ds = DocumentStore.Open(source.OpenCurrent().DocumentStorePath))
            Assert.True(ds.CountPendingVectors() > 0, "the live upserts' vectors wait in the store");
        var targets = Enumerable.Range(0, n).Select(i => CollectionStore.At(tmp.File($"out/shard-{i}"), "docs")).ToList();
        var events = new List<BuildProgress>();
        var result = ShardSplitter.Split(source, targets, progress: new Progress(events));

        Assert.Equal(n, result.Shards.Count);
        Assert.True(result.Dense);
        Assert.All(result.Shards, s => Assert.Equal(0, s.VectorsEncoded));
        Assert.All(result.Shards, s => Assert.Equal(s.Chunks, s.VectorsReused));
        Assert.All(result.Shards, s => Assert.True(s.Chunks > 0));
        for (int i = 0; i < n; i++) Assert.Contains(events, e => e.Stage.StartsWith($"shard {i}/{n} ", StringComparison.Ordinal));

        var sourceDocs = Live(source).ToDictionary(d => d.Id);
        var seen = new Dictionary<string, int>();
        for (int i = 0; i < n; i++)
        {
            var manifest = targets[i].OpenCurrent().Manifest;
            Assert.Equal($"split of docs shard {i}/{n}", manifest.Source);
            Assert.Equal(source.OpenCurrent().Manifest.Dense!.EncoderIdentity, manifest.Dense!.EncoderIdentity);
            Assert.Equal(12, manifest.Dense.ChunkTokens);
            var docs = Live(targets[i]);
            Assert.Equal(result.Shards[i].Documents, docs.Count);
            foreach (var d in docs)
            {
                Assert.Equal(i, StableHash.ShardOf(d.Id, n));
                Assert.True(seen.TryAdd(d.Id, i), $"{d.Id} in shards {seen.GetValueOrDefault(d.Id)} and {i}");
                var s = sourceDocs[d.Id];
                Assert.Equal((s.Title, s.Text, s.MetadataJson, s.Acl), (d.Title, d.Text, d.MetadataJson, d.Acl));
            }
        }
        Assert.Equal(sourceDocs.Keys.Order(), seen.Keys.Order());
        Assert.Contains(sourceDocs.Values, d => d.Acl != null);
        Assert.Contains(sourceDocs.Values, d => d.MetadataJson != null);

        var dense = new SearchOptions { Mode = SearchMode.Dense, K = 10 };
        using var whole = CollectionSearcher.Open(source);
        var shards = targets.Select(t => CollectionSearcher.Open(t)).ToList();
        try
        {
            foreach (var q in Queries)
            {
                var expected = whole.Rank(q, dense);
                var merged = shards.SelectMany(s => s.Rank(q, dense)).OrderByDescending(h => h.Score).ThenBy(h => h.DocumentId, StringComparer.Ordinal).Take(10).ToList();
                Rankings.SameRanking(expected, merged, $"dense '{q}' over {n} shards");
                var scoreOf = merged.ToDictionary(h => h.DocumentId, h => h.Score);
                for (int r = 0; r < expected.Count; r++)
                {
                    Assert.True(Math.Abs(expected[r].Score - merged[r].Score) <= 1e-6f * Math.Max(1f, Math.Abs(expected[r].Score)), $"'{q}' rank {r + 1}: {expected[r]} vs {merged[r]}");
                    if (scoreOf.TryGetValue(expected[r].DocumentId, out var sc))
                        Assert.True(Math.Abs(expected[r].Score - sc) <= 1e-6f * Math.Max(1f, Math.Abs(sc)), $"'{q}' {expected[r]} vs {sc}");
                }
            }
        }
        finally
        {
            foreach (var s in shards) s.Dispose();
        }
        // Nothing but the shards is left under the roots (no staging folder).
        for (int i = 0; i < n; i++) Assert.Equal(["docs"], Directory.EnumerateFileSystemEntries(targets[i].Root).Select(Path.GetFileName));
    }

    [Fact]
    public void A_lexical_only_source_gives_lexical_only_shards()
    {
        using var tmp = new TempDir();
        var source = CollectionStore.At(tmp.File("source"), "lex");
        CollectionBuilder.Build(source, Enumerable.Range(0, 40).Select(i => Rankings.Doc($"d{i}", i)), new BuildOptions());
        var targets = Enumerable.Range(0, 2).Select(i => CollectionStore.At(tmp.File($"out/shard-{i}"), "lex")).ToList();
        var result = ShardSplitter.Split(source, targets);
        Assert.False(result.Dense);
        Assert.Equal(40, result.Shards.Sum(s => s.Documents));
        Assert.All(targets, t => Assert.Null(t.OpenCurrent().Manifest.Dense));
    }

    [Fact]
    public void An_existing_target_or_an_unknown_source_is_a_clear_error_and_nothing_is_written()
    {
        using var tmp = new TempDir();
        var source = CollectionStore.At(tmp.File("source"), "lex");
        CollectionBuilder.Build(source, Enumerable.Range(0, 20).Select(i => Rankings.Doc($"d{i}", i)), new BuildOptions());
        var targets = Enumerable.Range(0, 3).Select(i => CollectionStore.At(tmp.File($"out/shard-{i}"), "lex")).ToList();
        CollectionBuilder.Build(targets[2], [Rankings.Doc("x", 1)], new BuildOptions());
        var before = targets[2].OpenCurrent().Directory;

        var e = Assert.ThrowsAny<InvalidInputException>(() => ShardSplitter.Split(source, targets));
        Assert.Contains("shard 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("'lex'", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(targets[0].Root));
        Assert.False(Directory.Exists(targets[1].Root));
        Assert.Equal(before, targets[2].OpenCurrent().Directory);

        var unknown = CollectionStore.At(tmp.File("source"), "nope");
        Assert.Throws<CollectionNotFoundException>(() => ShardSplitter.Split(unknown, targets.Take(2).ToList()));
        Assert.False(Directory.Exists(targets[0].Root));
        Assert.ThrowsAny<InvalidInputException>(() => ShardSplitter.Split(source, []));
    }

    [Fact]
    public void A_cancelled_split_leaves_no_shard()
    {
        using var tmp = new TempDir();
        var source = CollectionStore.At(tmp.File("source"), "lex");
        CollectionBuilder.Build(source, Enumerable.Range(0, 20).Select(i => Rankings.Doc($"d{i}", i)), new BuildOptions());
        var targets = Enumerable.Range(0, 2).Select(i => CollectionStore.At(tmp.File($"out/shard-{i}"), "lex")).ToList();
        using var cts = new CancellationTokenSource();
        // Cancelled while shard 1 is built, after shard 0 was: neither is left.
        var progress = new Progress(null, e => { if (e.Stage.StartsWith("shard 1/2", StringComparison.Ordinal)) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => ShardSplitter.Split(source, targets, null, progress, cts.Token));
        Assert.All(targets, t => Assert.False(t.Exists));
        Assert.All(targets, t => Assert.Empty(Directory.EnumerateFileSystemEntries(t.Root)));
    }

    /// <summary>Records (and optionally reacts to) progress synchronously, on the split's thread.</summary>
    sealed class Progress(List<BuildProgress>? events, Action<BuildProgress>? on = null) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value)
        {
            events?.Add(value);
            on?.Invoke(value);
        }
    }
}
