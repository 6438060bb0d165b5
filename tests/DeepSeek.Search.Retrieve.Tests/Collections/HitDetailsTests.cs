using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Retrieve.Tests.Collections;

/// <summary>What a hit carries beyond its id and score: score parts, the chunk it rests on, snippets with highlights, stage timings and spans.</summary>
public sealed class HitDetailsTests : IDisposable
{
    static readonly string Filler = string.Join(' ', Enumerable.Repeat("The committee reviewed budgets, schedules and staffing for the coming year.", 6));

    static readonly Document[] Docs =
    [
        // "glacier" only in the last part of a long text: a BM25 hit must rest on a late chunk.
        new("long", "Annual report", Filler + " Finally, the survey team mapped a retreating glacier near the northern pass."),
        new("lava", "Volcanoes", "Magma rises through the crust and erupts as lava; volcanoes build basalt plateaus over many eruptions."),
        new("ice", "Glaciers", "Glaciers are rivers of ice; a glacier carves valleys as it flows downhill."),
        new("cell", "Apoptosis", "p53 triggers apoptosis after DNA damage in many cell types."),
        new("sugar", "Insulin", "Insulin lowers blood glucose by promoting its uptake into cells."),
    ];

    readonly TempDir _tmp = new();
    readonly CollectionStore _store;
    readonly CollectionSearcher _searcher;

    public HitDetailsTests()
    {
        var enc = TinyEncoder.Copy(_tmp);
        _store = CollectionStore.At(_tmp.Path, "c");
        CollectionBuilder.Build(_store, Docs, new BuildOptions { EncoderPath = enc, ChunkTokens = 16, ChunkOverlap = 4 });
        _searcher = CollectionSearcher.Open(_store);
    }

    public void Dispose()
    {
        _searcher.Dispose();
        _tmp.Dispose();
    }

    [Fact]
    public void Hybrid_hits_carry_the_bm25_and_dense_scores_each_side_gave_them()
    {
        const string q = "glacier ice valleys";
        var hybrid = _searcher.Execute(q, new SearchOptions { Mode = SearchMode.Hybrid, K = 5 });
        var bm25 = _searcher.Rank(q, new SearchOptions { Mode = SearchMode.Bm25, K = 100 }).ToDictionary(h => h.DocumentId, h => h.Score);
        var dense = _searcher.Rank(q, new SearchOptions { Mode = SearchMode.Dense, K = 100 }).ToDictionary(h => h.DocumentId, h => h.Score);
        Assert.NotEmpty(hybrid.Hits);
        foreach (var h in hybrid.Hits)
        {
            Assert.Equal(bm25.TryGetValue(h.DocumentId, out var b) ? b : null, h.Bm25Score);
            Assert.Equal(dense[h.DocumentId], h.DenseScore!.Value, 5);
        }
        Assert.Contains(hybrid.Hits, h => h.Bm25Score is null); // "cell" has none of the terms: only the dense side found it

        var lexOnly = _searcher.Execute(q, new SearchOptions { Mode = SearchMode.Bm25, K = 5 });
        Assert.All(lexOnly.Hits, h => { Assert.Equal(h.Score, h.Bm25Score); Assert.Null(h.DenseScore); });
        var denseOnly = _searcher.Execute(q, new SearchOptions { Mode = SearchMode.Dense, K = 5 });
        Assert.All(denseOnly.Hits, h => { Assert.Equal(h.Score, h.DenseScore); Assert.Null(h.Bm25Score); });
    }

    [Fact]
    public void A_dense_hit_rests_on_one_of_its_documents_chunks_and_a_bm25_hit_on_the_chunk_with_the_terms()
    {
        using var store = DocumentStore.Open(_searcher.Snapshot.DocumentStorePath);
        foreach (var h in _searcher.Execute("rivers of ice", new SearchOptions { Mode = SearchMode.Dense, K = 5 }).Hits)
        {
            var c = h.Chunk!.Value;
            var stored = store.GetChunk(c.ChunkId)!;
            Assert.Equal(h.DocumentId, stored.DocumentId);
            // The stored span is in "title. text" (what the chunker embeds); the hit's span is in the text.
            int bodyStart = h.Title.Length + 2;
            Assert.Equal((Math.Max(0, stored.Start - bodyStart), stored.End - bodyStart), (c.Start, c.End));
            Assert.InRange(c.End, c.Start + 1, h.Text.Length);
        }

        var hit = Assert.Single(_searcher.Execute("glacier northern pass", new SearchOptions { Mode = SearchMode.Bm25, K = 5 }).Hits, x => x.DocumentId == "long");
        var chunks = store.ChunksOf("long", hit.Version);
        Assert.True(chunks.Count > 2, $"the long document has {chunks.Count} chunks");
        var chunk = hit.Chunk!.Value;
        Assert.Contains("glacier", Slice(hit.Text, chunk), StringComparison.Ordinal);
        Assert.True(chunk.Start > 0, "the terms are at the end, so is the chunk");
        Assert.True(hit.Snippet!.Text.StartsWith('…'), hit.Snippet.Text);

        static string Slice(string text, ChunkSpan c) => text[c.Start..c.End];
    }

    [Fact]
    public void Highlights_mark_the_query_terms_in_the_snippet_stemmed()
    {
        var r = _searcher.Execute("volcano eruption", new SearchOptions { Mode = SearchMode.Bm25, K = 1, SnippetChars = 60 });
        var hit = Assert.Single(r.Hits);
        Assert.Equal("lava", hit.DocumentId);
        var s = hit.Snippet!;
        Assert.True(s.Text.Length <= 60 + 2, s.Text);
        var marked = s.Highlights.Select(x => s.Text[x.Start..x.End].ToLowerInvariant()).ToList();
        Assert.NotEmpty(marked);
        Assert.All(marked, m => Assert.Contains(m, new[] { "volcanoes", "volcano", "erupts", "eruptions" }));
        // The snippet is the text at DocumentStart, and every highlight sits where the document has that word.
        string body = s.Text.TrimStart('…').TrimEnd('…');
        int lead = s.Text.StartsWith('…') ? 1 : 0;
        Assert.Equal(hit.Text.Substring(s.DocumentStart, body.Length), body);
        foreach (var (start, end) in s.Highlights)
            Assert.Equal(s.Text[start..end], hit.Text.Substring(s.DocumentStart + start - lead, end - start));

        var none = _searcher.Execute("volcano", new SearchOptions { Mode = SearchMode.Bm25, K = 1, SnippetChars = 0 });
        Assert.Null(Assert.Single(none.Hits).Snippet);
        Assert.Throws<InvalidInputException>(() => _searcher.Execute("volcano", new SearchOptions { SnippetChars = -1 }));
    }

    [Fact]
    public void Snippets_cut_on_words_keep_highlights_aligned_and_leave_short_texts_whole()
    {
        var whole = Snippets.Cut("short text", 3, 300, [(0, 5)]);
        Assert.Equal("short text", whole.Text);
        Assert.Equal([(0, 5)], whole.Highlights);

        string text = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"w{i}"));
        int at = text.IndexOf("w150", StringComparison.Ordinal);
        var s = Snippets.Cut(text, at, 50, [(at, at + 4), (0, 2)]);
        Assert.StartsWith("…", s.Text, StringComparison.Ordinal);
        Assert.EndsWith("…", s.Text, StringComparison.Ordinal);
        Assert.InRange(s.Text.Length, 25, 52);
        var (hs, he) = Assert.Single(s.Highlights); // w0 lies outside the window
        Assert.Equal("w150", s.Text[hs..he]);
        Assert.DoesNotContain(s.Text.Trim('…').Split(' '), w => !w.StartsWith('w')); // no word cut in half
        Assert.Equal("a <b>b</b> c", Snippets.Mark(new Snippet("a b c", 0, [(2, 3)]), "<b>", "</b>"));
    }

    [Fact]
    public void Stage_timings_and_spans_follow_the_mode()
    {
        var spans = new List<Activity>();
        using var parent = new Activity("test-call").Start();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == RetrieveTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => { if (a.ParentSpanId == parent.SpanId) lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);

        var t = _searcher.Execute("glacier", new SearchOptions { Mode = SearchMode.Hybrid, K = 3 }).Timings;
        Assert.True(t.EncodeMs > 0 && t.Bm25Ms > 0 && t.DenseMs > 0 && t.FuseMs > 0 && t.FetchMs > 0, t.ToString());
        // The BM25 side may run beside the encoding and the dense search (an idle pool): those three in any order, then fuse, fetch.
        lock (spans)
        {
            var names = spans.Select(a => a.OperationName).ToList();
            Assert.Equal(["search.bm25", "search.dense", "search.encode"], names.Take(3).Order(StringComparer.Ordinal));
            Assert.Equal(["search.fuse", "search.fetch"], names.Skip(3));
        }

        var b = _searcher.Execute("glacier", new SearchOptions { Mode = SearchMode.Bm25, K = 3 }).Timings;
        Assert.True(b.Bm25Ms > 0 && b.FetchMs > 0, b.ToString());
        Assert.Equal((0.0, 0.0, 0.0), (b.EncodeMs, b.DenseMs, b.FuseMs));
    }
}
