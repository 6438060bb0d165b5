using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>FaissIndex behaviour on valid input: exact search, persistence, removal, HNSW, IVF, parameters, threads.</summary>
public class FaissIndexTests
{
    const int D = 32;

    /// <summary>Every hit's score must equal the brute-force score at the same rank and be that id's true score.</summary>
    static void AssertExact(FaissIndex index, float[] data, long[] ids, float[] queries, int k, FaissMetric metric)
    {
        var result = index.Search(queries, k);
        int n = queries.Length / D;
        Assert.Equal(n, result.Count);
        var byId = ids.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i);
        for (int q = 0; q < n; q++)
        {
            var query = queries.AsSpan(q * D, D);
            var expected = TestVectors.BruteForce(data, ids, D, query, k, metric);
            var hits = result[q];
            Assert.Equal(expected.Length, hits.Length);
            for (int j = 0; j < hits.Length; j++)
            {
                Assert.Equal(expected[j].Score, hits[j].Score, 1e-4);
                double trueScore = TestVectors.Score(data.AsSpan(byId[hits[j].Id] * D, D), query, metric);
                Assert.Equal(trueScore, hits[j].Score, 1e-4);
            }
            Assert.Equal(hits.Length, hits.Select(h => h.Id).Distinct().Count());
            // Random data has no near ties at the top: the best id is exactly the brute-force one.
            Assert.Equal(expected[0].Id, hits[0].Id);
        }
    }

    [Fact]
    public void Create_ReportsShape()
    {
        using var index = FaissIndex.Create(D);
        Assert.Equal(D, index.Dimension);
        Assert.Equal(0, index.Count);
        Assert.True(index.IsTrained);
        Assert.Equal("IDMap2,Flat", index.Factory);
        Assert.Equal(FaissMetric.InnerProduct, index.Metric);
        Assert.StartsWith("1.", FaissIndex.NativeVersion);
    }

    [Theory]
    [InlineData(FaissMetric.InnerProduct, 1)]
    [InlineData(FaissMetric.InnerProduct, 40)] // ≥ 20 queries: FAISS switches to the BLAS path
    [InlineData(FaissMetric.L2, 3)]
    [InlineData(FaissMetric.L2, 40)]
    public void FlatSearch_MatchesBruteForce(FaissMetric metric, int queryCount)
    {
        var data = TestVectors.RandomUnit(1000, D, seed: 1);
        var ids = TestVectors.Ids(1000, first: 5000, step: 3);
        var queries = TestVectors.RandomUnit(queryCount, D, seed: 2);
        using var index = FaissIndex.Create(D, "IDMap2,Flat", metric);
        index.Add(data, ids);
        Assert.Equal(1000, index.Count);
        AssertExact(index, data, ids, queries, k: 10, metric);
    }

    [Fact]
    public void Search_StoredVectorFindsItselfFirst()
    {
        var data = TestVectors.RandomUnit(200, D, seed: 3);
        var ids = TestVectors.Ids(200, first: 1_000_000_000_000);
        using var index = FaissIndex.Create(D);
        index.Add(data, ids);
        var result = index.Search(data.AsSpan(17 * D, D), 1);
        Assert.Equal(ids[17], result[0][0].Id);
        Assert.Equal(1.0f, result[0][0].Score, 1e-5f);
    }

    [Fact]
    public void Search_FewerVectorsThanK_DropsPadding()
    {
        var data = TestVectors.RandomUnit(3, D, seed: 4);
        using var index = FaissIndex.Create(D);
        index.Add(data, [10, 20, 30]);
        var result = index.Search(TestVectors.RandomUnit(2, D, seed: 5), 50);
        Assert.Equal(2, result.Count);
        Assert.All(result, hits => Assert.Equal(3, hits.Length));
        Assert.All(result, hits => Assert.Equal(new long[] { 10, 20, 30 }, hits.Select(h => h.Id).Order()));
        Assert.All(result, hits => Assert.True(hits[0].Score >= hits[1].Score && hits[1].Score >= hits[2].Score));
    }

    [Fact]
    public void Search_EmptyIndexAndEmptyBatch()
    {
        using var index = FaissIndex.Create(D, "IDMap2,HNSW32,Flat");
        var empty = index.Search(TestVectors.RandomUnit(2, D, seed: 6), 5);
        Assert.Equal(2, empty.Count);
        Assert.All(empty, hits => Assert.Empty(hits));
        Assert.Empty(index.Search(ReadOnlySpan<float>.Empty, 5));
        index.Add(ReadOnlySpan<float>.Empty, ReadOnlySpan<long>.Empty);
        Assert.Equal(0, index.Count);
    }

    [Theory]
    [InlineData("IDMap2,Flat", FaissMetric.InnerProduct)]
    [InlineData("IDMap2,Flat", FaissMetric.L2)]
    [InlineData("IDMap2,HNSW32,Flat", FaissMetric.InnerProduct)]
    [InlineData("IVF16,Flat", FaissMetric.InnerProduct)]
    public void WriteRead_RoundTripGivesIdenticalResults(string factory, FaissMetric metric)
    {
        using var dir = new TempDir();
        var data = TestVectors.RandomUnit(800, D, seed: 7);
        var ids = TestVectors.Ids(800, first: 100);
        var queries = TestVectors.RandomUnit(25, D, seed: 8);
        using var index = FaissIndex.Create(D, factory, metric);
        if (!index.IsTrained) index.Train(data);
        index.Add(data, ids);
        if (factory.StartsWith("IVF")) index.SetSearchParameters("nprobe=4");
        var before = index.Search(queries, 10);

        string path = dir.File("vectors.faiss");
        index.Write(path);
        Assert.True(File.Exists(path));
        Assert.False(File.Exists(path + ".tmp"));

        using var loaded = FaissIndex.Read(path);
        Assert.Equal(D, loaded.Dimension);
        Assert.Equal(800, loaded.Count);
        Assert.Equal(metric, loaded.Metric);
        Assert.Equal(factory, loaded.Factory);
        // FAISS files keep the search-time state too (IVF nprobe, HNSW efSearch): results must be identical.
        var after = loaded.Search(queries, 10);
        for (int q = 0; q < queries.Length / D; q++)
            Assert.Equal(before[q], after[q]);
    }

    [Fact]
    public void Write_OverwritesExistingFileAtomically()
    {
        using var dir = new TempDir();
        string path = dir.File("index.faiss");
        File.WriteAllText(path, "old contents");
        using var index = FaissIndex.Create(D);
        index.Add(TestVectors.RandomUnit(5, D, seed: 9), TestVectors.Ids(5));
        index.Write(path);
        index.Write(path);
        using var loaded = FaissIndex.Read(path);
        Assert.Equal(5, loaded.Count);
        Assert.Equal(new[] { "index.faiss" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Remove_DropsIdsFromResultsAndCount()
    {
        var data = TestVectors.RandomUnit(500, D, seed: 10);
        var ids = TestVectors.Ids(500, first: 1);
        using var index = FaissIndex.Create(D);
        index.Add(data, ids);
        var query = data.AsSpan(0, D).ToArray();
        var top = index.Search(query, 5)[0].Select(h => h.Id).ToArray();
        Assert.Equal(1, top[0]);

        long removed = index.Remove([top[0], top[1], 999_999]);
        Assert.Equal(2, removed);
        Assert.Equal(498, index.Count);
        var after = index.Search(query, 5)[0].Select(h => h.Id).ToArray();
        Assert.DoesNotContain(top[0], after);
        Assert.DoesNotContain(top[1], after);
        Assert.Equal(top[2..], after[..3]);
        Assert.Equal(0, index.Remove(ReadOnlySpan<long>.Empty));

        // Removal survives a write/read round trip, and the remaining vectors still search exactly.
        using var dir = new TempDir();
        index.Write(dir.File("r.faiss"));
        using var loaded = FaissIndex.Read(dir.File("r.faiss"));
        Assert.Equal(498, loaded.Count);
        var keptIds = ids.Where(id => id != top[0] && id != top[1]).ToArray();
        var keptData = keptIds.SelectMany(id => data.AsSpan((int)(id - 1) * D, D).ToArray()).ToArray();
        AssertExact(loaded, keptData, keptIds, TestVectors.RandomUnit(4, D, seed: 11), 10, FaissMetric.InnerProduct);
    }

    [Fact]
    public void Reset_EmptiesIndex()
    {
        using var index = FaissIndex.Create(D);
        index.Add(TestVectors.RandomUnit(10, D, seed: 12), TestVectors.Ids(10));
        index.Reset();
        Assert.Equal(0, index.Count);
        Assert.Empty(index.Search(TestVectors.RandomUnit(1, D, seed: 13), 3)[0]);
    }

    [Fact]
    public void Hnsw_FindsNeighboursAndEfSearchRaisesRecall()
    {
        const int n = 2000;
        var data = TestVectors.RandomUnit(n, D, seed: 14);
        var ids = TestVectors.Ids(n, first: 10);
        var queries = TestVectors.RandomUnit(50, D, seed: 15);
        using var index = FaissIndex.Create(D, "IDMap2,HNSW32,Flat");
        Assert.Equal("IDMap2,HNSW32,Flat", index.Factory);
        index.Add(data, ids);
        Assert.Equal(n, index.Count);

        double RecallAt(int ef)
        {
            index.SetSearchParameters($"efSearch={ef}");
            var result = index.Search(queries, 10);
            return Enumerable.Range(0, 50).Average(q =>
                TestVectors.Recall(result[q].Select(h => h.Id),
                    TestVectors.BruteForce(data, ids, D, queries.AsSpan(q * D, D), 10, FaissMetric.InnerProduct).Select(e => e.Id)));
        }

        double low = RecallAt(10), high = RecallAt(400);
        Assert.True(high >= low, $"recall efSearch=400 {high} < efSearch=10 {low}");
        Assert.True(high > 0.95, $"recall@10 with efSearch=400 on 2000 vectors is {high}");
        // A stored vector is its own nearest neighbour.
        Assert.Equal(ids[123], index.Search(data.AsSpan(123 * D, D), 1)[0][0].Id);
    }

    [Fact]
    public void Hnsw_EfConstruction_SetAndPersisted()
    {
        using var index = FaissIndex.Create(D, "IDMap2,HNSW16,Flat");
        Assert.Equal(40, index.HnswEfConstruction); // FAISS's default
        index.SetHnswEfConstruction(64);
        Assert.Equal(64, index.HnswEfConstruction);
        var data = TestVectors.RandomUnit(300, D, seed: 22);
        index.Add(data, TestVectors.Ids(300));
        using var dir = new TempDir();
        index.Write(dir.File("h.faiss"));
        using var loaded = FaissIndex.Read(dir.File("h.faiss"));
        Assert.Equal(64, loaded.HnswEfConstruction);
        Assert.Equal("IDMap2,HNSW16,Flat", loaded.Factory);

        using var flat = FaissIndex.Create(D);
        Assert.Null(flat.HnswEfConstruction);
    }

    [Fact]
    public void Ivf_TrainAddSearchRemove()
    {
        const int n = 2000;
        var data = TestVectors.RandomUnit(n, D, seed: 16);
        var ids = TestVectors.Ids(n, first: 7, step: 2);
        var queries = TestVectors.RandomUnit(30, D, seed: 17);
        using var index = FaissIndex.Create(D, "IVF16,Flat");
        Assert.False(index.IsTrained);
        index.Train(data);
        Assert.True(index.IsTrained);
        Assert.Equal(0, index.Count);
        index.Add(data, ids);
        Assert.Equal(n, index.Count);

        // Probing every list is exact search.
        index.SetSearchParameters("nprobe=16");
        AssertExact(index, data, ids, queries, 10, FaissMetric.InnerProduct);

        // A lone query's probed lists split over the threads (our parallel_mode parameter): the same hits, one query or many.
        var byQueries = index.Search(queries, 10);
        index.SetSearchParameters("nprobe=16,parallel_mode=1");
        for (int q = 0; q < 30; q++)
            Assert.Equal(byQueries[q].Select(h => h.Id), index.Search(queries.AsSpan(q * D, D), 10)[0].Select(h => h.Id));
        AssertExact(index, data, ids, queries, 10, FaissMetric.InnerProduct);
        index.SetSearchParameters("parallel_mode=0");

        index.SetSearchParameters("nprobe=1");
        var one = index.Search(queries, 10);
        Assert.All(one, hits => Assert.True(hits.Length <= 10));

        Assert.Equal(3, index.Remove([ids[0], ids[1], ids[2]]));
        Assert.Equal(n - 3, index.Count);
        index.SetSearchParameters("nprobe=16");
        Assert.DoesNotContain(ids[0], index.Search(data.AsSpan(0, D), 10)[0].Select(h => h.Id));
    }

    [Fact]
    public void Threads_IsProcessWide()
    {
        int original = FaissIndex.Threads;
        Assert.True(original >= 1);
        try
        {
            FaissIndex.Threads = 1;
            Assert.Equal(1, FaissIndex.Threads);
            int seenElsewhere = 0;
            var thread = new Thread(() => seenElsewhere = FaissIndex.Threads);
            thread.Start();
            thread.Join();
            Assert.Equal(1, seenElsewhere);

            // Searching with one thread still gives exact results.
            var data = TestVectors.RandomUnit(300, D, seed: 18);
            var ids = TestVectors.Ids(300);
            using var index = FaissIndex.Create(D);
            index.Add(data, ids);
            AssertExact(index, data, ids, TestVectors.RandomUnit(30, D, seed: 19), 5, FaissMetric.InnerProduct);
        }
        finally
        {
            FaissIndex.Threads = original;
        }
        Assert.Equal(original, FaissIndex.Threads);
    }

    [Fact]
    public async Task ConcurrentSearchesAndAdds_AreSafe()
    {
        var data = TestVectors.RandomUnit(4000, D, seed: 20);
        var queries = TestVectors.RandomUnit(8, D, seed: 21);
        using var index = FaissIndex.Create(D, "IDMap2,HNSW32,Flat");
        index.Add(data.AsSpan(0, 1000 * D), TestVectors.Ids(1000));
        var writer = Task.Run(() =>
        {
            for (int b = 1; b < 4; b++)
                index.Add(data.AsSpan(b * 1000 * D, 1000 * D), TestVectors.Ids(1000, first: b * 1000));
        });
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 50; i++)
            {
                var result = index.Search(queries, 5);
                Assert.All(result, hits => Assert.Equal(5, hits.Length));
            }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.Equal(4000, index.Count);
    }

    [Fact]
    public void Dispose_ThenUse_Throws()
    {
        var index = FaissIndex.Create(D);
        index.Dispose();
        index.Dispose();
        Assert.Throws<ObjectDisposedException>(() => index.Count);
        Assert.Throws<ObjectDisposedException>(() => index.Search(new float[D], 1));
        Assert.Contains("disposed", index.ToString());
    }
}
