namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>
/// FlatScan (the threaded, fused top-k scan that searches flat, SQ8, IVF,Flat and IVF,SQ8 inner-product indexes below FAISS's BLAS
/// threshold) against FAISS 1.7.3's own search of the same index (<see cref="FaissIndex.UseFlatScan"/> off) and against a
/// float64 brute force. 50k rows, so the scan splits them between threads (16k rows per thread at least; 4k rows of probed lists).
/// </summary>
public sealed class FlatScanTests
{
    const int D = 384, N = 50_000;

    static (FaissIndex Index, float[] Data, long[] Ids) Build(string factory, int n = N, int d = D, int seed = 7)
    {
        var data = TestVectors.RandomUnit(n, d, seed);
        // Ids out of row order (a permutation of even numbers), so a wrong row → id mapping cannot pass.
        var ids = TestVectors.Ids(n, 0, 2).OrderBy(i => (i * 7919) % 10007).ToArray();
        var index = FaissIndex.Create(d, factory);
        if (!index.IsTrained) index.Train(data);
        index.Add(data, ids);
        return (index, data, ids);
    }

    /// <summary>Same hits as FAISS: scores within 1e-5 rank by rank, and the same id wherever the score is not a near-tie.</summary>
    static void AssertSameHits(DenseHit[] faiss, DenseHit[] ours)
    {
        Assert.Equal(faiss.Length, ours.Length);
        for (int r = 0; r < faiss.Length; r++)
        {
            Assert.True(Math.Abs(faiss[r].Score - ours[r].Score) <= 1e-5, $"rank {r}: FAISS {faiss[r].Score}, scan {ours[r].Score}");
            bool nearTie = (r > 0 && faiss[r - 1].Score - faiss[r].Score < 1e-5) || (r + 1 < faiss.Length && faiss[r].Score - faiss[r + 1].Score < 1e-5);
            if (!nearTie) Assert.Equal(faiss[r].Id, ours[r].Id);
        }
    }

    [Theory]
    [InlineData("IDMap2,Flat", "", 1, 10)]
    [InlineData("IDMap2,Flat", "", 3, 100)]
    [InlineData("IDMap2,Flat", "", 4, 10)]
    [InlineData("IDMap2,Flat", "", 9, 1)]
    [InlineData("IDMap,Flat", "", 5, 10)]
    [InlineData("IDMap2,SQ8", "", 1, 10)]
    [InlineData("IDMap2,SQ8", "", 4, 100)]
    [InlineData("IDMap2,SQ8", "", 6, 1)]
    // IVF: nprobe 16 of 64 lists is about 12,500 rows per query, cut between the threads
    [InlineData("IVF64,Flat", "nprobe=1", 1, 10)]
    [InlineData("IVF64,Flat", "nprobe=16", 1, 100)]
    [InlineData("IVF64,Flat", "nprobe=16,parallel_mode=1", 4, 10)]
    [InlineData("IDMap2,IVF64,Flat", "nprobe=16", 3, 10)]
    [InlineData("IDMap2,IVF64,Flat", "nprobe=64", 1, 1)]
    [InlineData("IVF64,Flat", "nprobe=500", 2, 10)]
    // IVF,SQ8: 8-bit codes of residuals, each list's rows scored with the query's inner product with its centroid added
    [InlineData("IVF64,SQ8", "nprobe=1", 1, 10)]
    [InlineData("IVF64,SQ8", "nprobe=16", 2, 100)]
    [InlineData("IDMap2,IVF64,SQ8", "nprobe=16", 3, 10)]
    [InlineData("IDMap2,IVF64,SQ8", "nprobe=64", 1, 1)]
    public void Few_query_searches_match_FAISS_s_own_search(string factory, string parameters, int queries, int k)
    {
        var (index, _, _) = Build(factory);
        using var _ = index;
        if (parameters.Length > 0) index.SetSearchParameters(parameters);
        var q = TestVectors.RandomUnit(queries, D, seed: 11);
        var ours = index.Search(q, k);
        index.UseFlatScan = false;
        var faiss = index.Search(q, k);
        for (int i = 0; i < queries; i++) AssertSameHits(faiss[i], ours[i]);
    }

    [Theory]
    [InlineData("IDMap2,Flat", 0.01)]
    [InlineData("IDMap2,Flat", 0.001)]
    [InlineData("IDMap2,Flat", 0.0001)]
    [InlineData("IDMap2,SQ8", 0.01)]
    public void Filtered_searches_match_FAISS_s_own_selected_search(string factory, double fraction)
    {
        var (index, _, ids) = Build(factory);
        using var _ = index;
        var selection = Selections.Random(ids, fraction, 2L * N, seed: 12);
        var q = TestVectors.RandomUnit(25, D, seed: 13); // above the BLAS threshold: filtered searches always scan
        var ours = index.Search(q, 10, selection);
        index.UseFlatScan = false;
        // FAISS 1.7.3 filters only Flat, HNSW and IVF itself; for SQ8 the reference is its whole unfiltered ranking, filtered here.
        var faiss = factory.Contains("SQ8", StringComparison.Ordinal)
            ? index.Search(q, N).Select(hits => hits.Where(h => selection.Contains(h.Id)).Take(10).ToArray()).ToArray()
            : index.Search(q, 10, selection).ToArray();
        for (int i = 0; i < 25; i++)
        {
            AssertSameHits(faiss[i], ours[i]);
            Assert.All(ours[i], h => Assert.True(selection.Contains(h.Id)));
            Assert.Equal(Math.Min(10, selection.Count), ours[i].Length);
        }
    }

    [Theory]
    [InlineData("IVF64,Flat", 0.05)]
    [InlineData("IDMap2,IVF64,Flat", 0.01)]
    [InlineData("IVF64,SQ8", 0.05)]
    [InlineData("IDMap2,IVF64,SQ8", 0.01)]
    public void Filtered_IVF_searches_match_FAISS_s_own_selected_IVF_search(string factory, double fraction)
    {
        var (index, _, ids) = Build(factory);
        using var _ = index;
        index.SetSearchParameters("nprobe=16");
        var selection = Selections.Random(ids, fraction, 2L * N, seed: 19);
        var q = TestVectors.RandomUnit(25, D, seed: 20);
        var ours = index.Search(q, 10, selection);
        index.UseFlatScan = false;
        var faiss = index.Search(q, 10, selection);
        for (int i = 0; i < 25; i++)
        {
            AssertSameHits(faiss[i], ours[i]);
            Assert.All(ours[i], h => Assert.True(selection.Contains(h.Id)));
        }
    }

    [Theory]
    [InlineData("IDMap2,Flat")]
    [InlineData("IDMap2,SQ8")]
    public void Scores_do_not_depend_on_the_thread_count_or_on_the_batch_a_query_is_in(string factory)
    {
        var (index, _, _) = Build(factory);
        using var _ = index;
        var q = TestVectors.RandomUnit(4, D, seed: 14);
        int threads = FaissIndex.Threads;
        try
        {
            var batch = index.Search(q, 20);
            FaissIndex.Threads = 1;
            for (int i = 0; i < 4; i++)
                Assert.Equal(batch[i], index.Search(q.AsSpan(i * D, D), 20)[0]); // bit-equal scores, same order
        }
        finally { FaissIndex.Threads = threads; }
    }

    [Fact]
    public void Equal_scores_across_thread_ranges_come_back_by_smaller_id()
    {
        // Every row the same vector: all scores tie, so the top 10 are the 10 smallest ids, wherever their rows are.
        var row = TestVectors.RandomUnit(1, D, seed: 15);
        var data = new float[N * D];
        for (int i = 0; i < N; i++) row.CopyTo(data, i * D);
        var ids = TestVectors.Ids(N, 100).Reverse().ToArray(); // smallest ids in the last thread's range
        using var index = FaissIndex.Create(D);
        index.Add(data, ids);
        var hits = index.Search(row, 10)[0];
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), hits.Select(h => h.Id));
        Assert.All(hits, h => Assert.Equal(hits[0].Score, h.Score));
    }

    [Theory]
    [InlineData(13)]
    [InlineData(390)]
    [InlineData(7)]
    public void Dimensions_that_are_not_a_multiple_of_eight_score_like_float64_brute_force(int d)
    {
        var (index, data, ids) = Build("IDMap2,Flat", n: 40_000, d: d);
        using var _ = index;
        var q = TestVectors.RandomUnit(5, d, seed: 16);
        var ours = index.Search(q, 10);
        for (int i = 0; i < 5; i++)
        {
            var exact = TestVectors.BruteForce(data, ids, d, q.AsSpan(i * d, d), 10, FaissMetric.InnerProduct);
            for (int r = 0; r < 10; r++) Assert.True(Math.Abs(exact[r].Score - ours[i][r].Score) <= 1e-5, $"d={d} rank {r}: {exact[r].Score} vs {ours[i][r].Score}");
            Assert.Equal(exact.Select(e => e.Id).ToHashSet(), ours[i].Select(h => h.Id).ToHashSet());
        }
    }

    [Fact]
    public void A_k_above_the_row_count_returns_every_row_once()
    {
        var (index, _, ids) = Build("IDMap2,Flat", n: 300);
        using var _ = index;
        var hits = index.Search(TestVectors.RandomUnit(1, D, seed: 17), 1000)[0];
        Assert.Equal(ids.Order(), hits.Select(h => h.Id).Order());
        Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score));
    }
}
