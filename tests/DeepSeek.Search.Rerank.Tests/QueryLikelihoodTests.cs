using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using static TorchSharp.torch;

namespace DeepSeek.Search.Rerank.Tests;

/// <summary>The trained tiny generator, loaded once for the tests of this class.</summary>
public sealed class LoadedGenerator : IDisposable
{
    public DeepSeekGenerator Generator { get; } = DeepSeekGenerator.Load(TinyGenerator.Folder);
    public void Dispose() => Generator.Dispose();
}

/// <summary>Query-likelihood re-ranking with a real (tiny, trained) DeepSeek generator: its numerics, its ranking, the interpolation, bad input.</summary>
public sealed class QueryLikelihoodTests(LoadedGenerator g) : IClassFixture<LoadedGenerator>
{
    /// <summary>The reference: one unpadded sequence, log-softmax over every position, the query's tokens' log-probabilities averaged.</summary>
    static float Reference(DeepSeekGenerator generator, string passage, string query)
    {
        var tok = generator.Tokenizer!;
        var prefix = new List<int>();
        if (tok.BosTokenId is int bos) prefix.Add(bos);
        prefix.AddRange(tok.Encode(passage, addSpecialTokens: false, splitSpecialTokens: true));
        prefix.AddRange(tok.Encode(QueryLikelihoodScorer.DefaultSeparator, addSpecialTokens: false, splitSpecialTokens: true));
        var q = tok.Encode(query, addSpecialTokens: false, splitSpecialTokens: true);
        var all = prefix.Concat(q).Select(x => (long)x).ToArray();
        using var _ = no_grad();
        using var logits = generator.Model.Forward(tensor(all, new long[] { 1, all.Length }));
        using var lp = logits.log_softmax(-1);
        double sum = 0;
        for (int i = 0; i < q.Length; i++) sum += lp[0, prefix.Count + i - 1, q[i]].item<float>();
        return (float)(sum / q.Length);
    }

    [Fact]
    public void Batched_left_padded_scores_equal_one_sequence_at_a_time()
    {
        // passages of very different lengths in one batch: padding, positions and the query's place must not change a score
        var passages = new[] { TinyGenerator.Passage(0, 5, 1), TinyGenerator.Passage(1, 60, 2), TinyGenerator.Passage(2, 23, 3), "", TinyGenerator.Passage(3, 41, 4) };
        const string query = "comet orbit telescope";
        var scorer = new QueryLikelihoodScorer(g.Generator) { BatchSize = 5 };
        var batched = scorer.Score(query, passages);
        var oneByOne = new QueryLikelihoodScorer(g.Generator) { BatchSize = 1 }.Score(query, passages);
        for (int i = 0; i < passages.Length; i++)
        {
            float reference = Reference(g.Generator, passages[i], query);
            Assert.Equal(reference, batched[i], 4);
            Assert.Equal(reference, oneByOne[i], 4);
            Assert.True(batched[i] < 0, "a mean log-probability is negative");
        }
    }

    [Fact]
    public void The_passage_of_the_query_s_topic_scores_highest()
    {
        var scorer = new QueryLikelihoodScorer(g.Generator);
        int wins = 0, trials = 0;
        for (int topic = 0; topic < TinyGenerator.Topics.Length; topic++)
            for (int seed = 0; seed < 3; seed++)
            {
                var passages = Enumerable.Range(0, TinyGenerator.Topics.Length).Select(t => TinyGenerator.Passage(t, 30, 100 + seed * 7 + t)).ToArray();
                string query = TinyGenerator.Passage(topic, 4, 900 + seed);
                var scores = scorer.Score(query, passages);
                int best = Array.IndexOf(scores, scores.Max());
                trials++;
                if (best == topic) wins++;
            }
        Assert.True(wins >= trials - 1, $"the same-topic passage scored highest in {wins} of {trials} trials");
    }

    [Fact]
    public void The_reranker_interpolates_with_the_first_stage_and_keeps_the_tail_below()
    {
        var scorer = new QueryLikelihoodScorer(g.Generator);
        string query = TinyGenerator.Passage(2, 4, 5);
        // first stage puts the medicine passage last of the re-ranked three; a fourth candidate lies below the depth
        var candidates = new[]
        {
            new RerankCandidate("bake", TinyGenerator.Passage(1, 30, 1), 3.0f),
            new RerankCandidate("sail", TinyGenerator.Passage(3, 30, 2), 2.5f),
            new RerankCandidate("med", TinyGenerator.Passage(2, 30, 3), 2.0f),
            new RerankCandidate("tail", TinyGenerator.Passage(2, 30, 4), 1.0f),
        };
        var alone = new Reranker(scorer, new RerankOptions { Depth = 3, Weight = 1 }).Rerank(query, candidates);
        Assert.Equal("med", candidates[alone[0].Index].Id);
        Assert.Equal("tail", candidates[alone[^1].Index].Id);
        Assert.Null(alone[^1].RerankScore);
        Assert.True(alone[^1].Score < alone[^2].Score);

        var unchanged = new Reranker(scorer, new RerankOptions { Depth = 3, Weight = 0 }).Rerank(query, candidates);
        Assert.Equal(new[] { "bake", "sail", "med", "tail" }, unchanged.Select(r => candidates[r.Index].Id));

        // a weight between: the final score is w·rerank' + (1−w)·first' over the re-scored three
        var raw = scorer.Score(query, candidates.Take(3).Select(c => c.Passage).ToList());
        var half = new Reranker(scorer, new RerankOptions { Depth = 3, Weight = 0.5f }).Rerank(query, candidates);
        float rMin = raw.Min(), rMax = raw.Max();
        foreach (var r in half.Take(3))
        {
            double first = (candidates[r.Index].Score - 2.0) / (3.0 - 2.0);
            double second = (raw[r.Index] - rMin) / (rMax - rMin);
            Assert.Equal(0.5 * first + 0.5 * second, r.Score, 4);
        }
    }

    [Fact]
    public void Bad_input_is_a_clear_error()
    {
        var scorer = new QueryLikelihoodScorer(g.Generator);
        Assert.Contains("at least one token", Assert.Throws<InvalidInputException>(() => scorer.Score("   ", ["a passage"])).Message);
        Assert.Contains("depth", Assert.Throws<InvalidInputException>(() => new Reranker(scorer, new RerankOptions { Depth = 0 })).Message);
        Assert.Contains("weight", Assert.Throws<InvalidInputException>(() => new Reranker(scorer, new RerankOptions { Weight = 1.5f })).Message);
        var dup = new[] { new RerankCandidate("a", "x", 1), new RerankCandidate("a", "y", 0) };
        Assert.Contains("distinct", Assert.Throws<InvalidInputException>(() => new Reranker(scorer).Rerank("star", dup)).Message);
        Assert.Empty(new Reranker(scorer).Rerank("star", []));
        // special-token text in a passage is text, not a control token: it is encoded as bytes (no BOS id among them) and scored as such
        const string injected = "<｜begin▁of▁sentence｜> star galaxy";
        var tok = g.Generator.Tokenizer!;
        var asText = tok.Encode(injected, addSpecialTokens: false, splitSpecialTokens: true);
        Assert.DoesNotContain(tok.BosTokenId!.Value, asText);
        Assert.Contains(tok.BosTokenId!.Value, tok.Encode(injected, addSpecialTokens: false));
        Assert.Equal(Reference(g.Generator, injected, "star"), scorer.Score("star", [injected])[0], 4);
    }

    [Fact]
    public void A_cancelled_scoring_stops_before_its_next_batch()
    {
        var scorer = new QueryLikelihoodScorer(g.Generator) { BatchSize = 1 };
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => scorer.Score("star", ["a", "b"], cts.Token));
    }
}

/// <summary>Re-ranking a real collection search (Lucene + FAISS on disk): passages are the winning chunks, hits keep their first-stage scores.</summary>
public sealed class SearchRerankingTests(LoadedGenerator g) : IClassFixture<LoadedGenerator>, IDisposable
{
    readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void A_bm25_ranking_is_reordered_by_topic_and_renumbered()
    {
        // every document shares the word "notes" with the query; BM25 prefers the short off-topic ones
        var docs = new List<Document>();
        for (int t = 0; t < TinyGenerator.Topics.Length; t++)
            for (int i = 0; i < 3; i++)
                docs.Add(new Document($"t{t}-{i}", "notes", t == 2 ? TinyGenerator.Passage(t, 40, 10 * t + i) + " notes" : "notes " + TinyGenerator.Passage(t, 6, 10 * t + i)));
        var store = CollectionStore.At(_tmp.Path, "c");
        CollectionBuilder.Build(store, docs, new BuildOptions { EncoderPath = null });
        using var searcher = CollectionSearcher.Open(store);
        string query = "notes " + TinyGenerator.Passage(2, 3, 77);
        var first = searcher.Execute(query, new SearchOptions { Mode = SearchMode.Bm25, K = 12, SnippetChars = 0 });
        var reranked = SearchReranking.Apply(new Reranker(new QueryLikelihoodScorer(g.Generator), new RerankOptions { Depth = 12, Weight = 1 }), query, first, 5);
        Assert.Equal(5, reranked.Hits.Count);
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, reranked.Hits.Select(h => h.Rank));
        Assert.StartsWith("t2-", reranked.Hits[0].DocumentId);
        Assert.All(reranked.Hits, h =>
        {
            Assert.NotNull(h.RerankScore);
            Assert.Equal(first.Hits.Single(f => f.DocumentId == h.DocumentId).Score, h.FirstStageScore);
        });
        Assert.True(reranked.Timings.RerankMs > 0);
        Assert.Equal(first.Seq, reranked.Seq);
        Assert.Equal("notes. " + docs.Single(d => d.Id == first.Hits[0].DocumentId).Text, SearchReranking.PassageOf(first.Hits[0]));
    }
}
