using Xunit.Abstractions;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>
/// 20k random unit vectors under non-contiguous ids (5, 8, 11, …), in a Flat, an HNSW and an IVF index built once for
/// all the filtered-search tests of <see cref="FilteredSearchTests"/>.
/// </summary>
public sealed class FilterData : IDisposable
{
    public const int N = 20_000, D = 32, QueryCount = 30;

    public float[] Data { get; } = TestVectors.RandomUnit(N, D, seed: 100);
    public long[] Ids { get; } = TestVectors.Ids(N, first: 5, step: 3);
    public float[] Queries { get; } = TestVectors.RandomUnit(QueryCount, D, seed: 101);
    /// <summary>One past the largest id: a selection of this capacity can hold every id.</summary>
    public long Capacity => Ids[^1] + 1;

    readonly Lazy<FaissIndex> _flat, _hnsw, _ivf;

    public FilterData()
    {
        _flat = new(() => Build("IDMap2,Flat"));
        _hnsw = new(() => Build("IDMap2,HNSW32,Flat"));
        _ivf = new(() => Build("IDMap2,IVF64,Flat"));
    }

    public FaissIndex Flat => _flat.Value;
    public FaissIndex Hnsw => _hnsw.Value;
    public FaissIndex Ivf => _ivf.Value;

    public FaissIndex Index(string kind) => kind switch
    {
        "flat" => Flat,
        "hnsw" => Hnsw,
        "ivf" => Ivf,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Exact top-k over the selected vectors, best first.</summary>
    public (long Id, double Score)[] Expected(int query, int k, IdSelection selection)
    {
        var (data, ids) = Selections.Subset(Data, Ids, D, selection);
        return TestVectors.BruteForce(data, ids, D, Queries.AsSpan(query * D, D), k, FaissMetric.InnerProduct);
    }

    FaissIndex Build(string factory)
    {
        var index = FaissIndex.Create(D, factory);
        if (!index.IsTrained) index.Train(Data);
        index.Add(Data, Ids);
        return index;
    }

    public void Dispose()
    {
        foreach (var index in new[] { _flat, _hnsw, _ivf })
            if (index.IsValueCreated) index.Value.Dispose();
    }
}

/// <summary>FaissIndex.Search with an IdSelection, on real FAISS: exact for Flat, recall-style for HNSW and IVF.</summary>
public class FilteredSearchTests(FilterData fixture, ITestOutputHelper output) : IClassFixture<FilterData>
{
    const int D = FilterData.D, K = 10;
    readonly FilterData vectors = fixture;

    static void AssertOnlySelected(DenseHit[] hits, IdSelection selection)
    {
        Assert.All(hits, h => Assert.True(selection.Contains(h.Id), $"unselected id {h.Id} returned"));
        Assert.Equal(hits.Length, hits.Select(h => h.Id).Distinct().Count());
        Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score), "hits not best first");
    }

    void AssertTrueScores(DenseHit[] hits, int query)
    {
        var q = vectors.Queries.AsSpan(query * D, D);
        foreach (var hit in hits)
        {
            int row = (int)((hit.Id - 5) / 3);
            Assert.Equal(TestVectors.Score(vectors.Data.AsSpan(row * D, D), q, FaissMetric.InnerProduct), hit.Score, 1e-5);
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.01)]
    [InlineData(0.001)]
    [InlineData(0.0001)]
    public void Flat_EqualsBruteForceOverSelectedIds(double fraction)
    {
        var selection = Selections.Random(vectors.Ids, fraction, vectors.Capacity, seed: 110);
        Assert.Equal(Math.Round(FilterData.N * fraction), selection.Count);
        var result = vectors.Flat.Search(vectors.Queries, K, selection);
        Assert.Equal(FilterData.QueryCount, result.Count);
        for (int q = 0; q < FilterData.QueryCount; q++)
        {
            var expected = vectors.Expected(q, K, selection);
            var hits = result[q];
            // Exactly k whenever the selection holds k ids; else every selected id.
            Assert.Equal(Math.Min(K, selection.Count), hits.Length);
            AssertOnlySelected(hits, selection);
            Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Id));
            for (int j = 0; j < hits.Length; j++) Assert.Equal(expected[j].Score, hits[j].Score, 1e-5);
        }
    }

    [Fact]
    public void Flat_SelectionCapacityBelowLargestId_SelectsOnlyIdsBelowIt()
    {
        // Every id below 30000 is selected; the stored ids above it are beyond the capacity, so never selected.
        var selection = new IdSelection(30_000);
        selection.AddRange(0, 30_000);
        var result = vectors.Flat.Search(vectors.Queries, K, selection);
        for (int q = 0; q < FilterData.QueryCount; q++)
        {
            Assert.Equal(vectors.Expected(q, K, selection).Select(e => e.Id), result[q].Select(h => h.Id));
            Assert.All(result[q], h => Assert.True(h.Id < 30_000));
        }
        // The same query unfiltered does reach ids beyond 30000.
        Assert.Contains(vectors.Flat.Search(vectors.Queries, K).SelectMany(h => h), h => h.Id >= 30_000);
    }

    [Fact]
    public void Flat_SelectionOfAbsentIds_FindsOnlyThePresentOnes()
    {
        // Ids 6 and 7 are not stored (ids are 5, 8, 11, …), nor anything past the largest one.
        var selection = new IdSelection(vectors.Capacity + 1000);
        selection.AddRange(vectors.Capacity, 1000);
        selection.Add(6);
        selection.Add(7);
        Assert.All(vectors.Flat.Search(vectors.Queries, K, selection), hits => Assert.Empty(hits));
        selection.Add(8);
        selection.Add(vectors.Ids[^1]);
        Assert.All(vectors.Flat.Search(vectors.Queries, K, selection), hits => Assert.Equal(new long[] { 8, vectors.Ids[^1] }, hits.Select(h => h.Id).Order()));
    }

    [Fact]
    public void Flat_L2_SelectedNearestFirst()
    {
        var data = TestVectors.RandomUnit(2000, D, seed: 111);
        var ids = TestVectors.Ids(2000, first: 1);
        using var index = FaissIndex.Create(D, "IDMap2,Flat", FaissMetric.L2);
        index.Add(data, ids);
        var selection = Selections.Random(ids, 0.05, 2001, seed: 112);
        var (subset, subsetIds) = Selections.Subset(data, ids, D, selection);
        var query = TestVectors.RandomUnit(1, D, seed: 113);
        var hits = index.Search(query, K, selection)[0];
        var expected = TestVectors.BruteForce(subset, subsetIds, D, query, K, FaissMetric.L2);
        Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Id));
        Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score <= p.Second.Score));
    }

    [Theory]
    [InlineData("flat")]
    [InlineData("hnsw")]
    [InlineData("ivf")]
    public void EmptySelection_NoHits(string kind)
    {
        var index = vectors.Index(kind);
        Assert.All(index.Search(vectors.Queries, K, new IdSelection(vectors.Capacity)), hits => Assert.Empty(hits));
        Assert.All(index.Search(vectors.Queries, K, new IdSelection(0)), hits => Assert.Empty(hits));
        Assert.Equal(FilterData.QueryCount, index.Search(vectors.Queries, K, new IdSelection(0)).Count);
    }

    [Fact]
    public void Hnsw_FullSelection_EqualsUnfiltered_AndEfSearchStillApplies()
    {
        var all = new IdSelection(vectors.Capacity);
        all.AddRange(0, vectors.Capacity);
        var perEf = new Dictionary<int, SearchResult>();
        foreach (int ef in new[] { 10, 400 })
        {
            vectors.Hnsw.SetSearchParameters($"efSearch={ef}");
            var unfiltered = vectors.Hnsw.Search(vectors.Queries, K);
            var filtered = vectors.Hnsw.Search(vectors.Queries, K, all);
            for (int q = 0; q < FilterData.QueryCount; q++) Assert.Equal(unfiltered[q], filtered[q]);
            perEf[ef] = filtered;
        }
        // efSearch reached the filtered search: the wide beam finds better neighbours than the narrow one.
        double Recall(SearchResult result) => Enumerable.Range(0, FilterData.QueryCount).Average(q =>
            TestVectors.Recall(result[q].Select(h => h.Id), vectors.Expected(q, K, all).Select(e => e.Id)));
        double low = Recall(perEf[10]), high = Recall(perEf[400]);
        output.WriteLine($"HNSW full selection recall@{K}: efSearch=10 {low:F3}, efSearch=400 {high:F3}");
        Assert.True(high > 0.95, $"recall with efSearch=400 is {high}");
        Assert.True(high > low, $"efSearch=400 recall {high} not above efSearch=10 recall {low}");
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.001)]
    public void Hnsw_SelectiveFilter_ReturnsOnlySelectedIds_AndLargerEfSearchFindsMore(double fraction)
    {
        var selection = Selections.Random(vectors.Ids, fraction, vectors.Capacity, seed: 120);
        var stats = new Dictionary<int, (double Hits, double Recall)>();
        foreach (int ef in new[] { 16, 256, 2048 })
        {
            vectors.Hnsw.SetSearchParameters($"efSearch={ef}");
            var result = vectors.Hnsw.Search(vectors.Queries, K, selection);
            for (int q = 0; q < FilterData.QueryCount; q++)
            {
                AssertOnlySelected(result[q], selection);
                AssertTrueScores(result[q], q);
            }
            double hits = result.Average(h => h.Length);
            double recall = Enumerable.Range(0, FilterData.QueryCount).Average(q =>
                TestVectors.Recall(result[q].Select(h => h.Id), vectors.Expected(q, K, selection).Select(e => e.Id)));
            stats[ef] = (hits, recall);
            output.WriteLine($"HNSW32 {FilterData.N} vectors, {selection.Count} selected ({fraction:P2}), k={K}, efSearch={ef}: " +
                             $"{hits:F2} hits per query, recall {recall:F3}");
        }
        Assert.True(stats[2048].Hits >= stats[16].Hits, $"efSearch 2048 found {stats[2048].Hits} < efSearch 16 {stats[16].Hits}");
        Assert.True(stats[2048].Recall >= stats[16].Recall);
        // A beam of 2048 walks most of the 20k-node graph: nearly every selected best neighbour is met.
        Assert.True(stats[2048].Recall > 0.8, $"recall with efSearch=2048 is {stats[2048].Recall}");
        vectors.Hnsw.SetSearchParameters("efSearch=16");
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.001)]
    public void Ivf_AllListsProbed_IsExact_AndNprobeStillApplies(double fraction)
    {
        var selection = Selections.Random(vectors.Ids, fraction, vectors.Capacity, seed: 130);
        vectors.Ivf.SetSearchParameters("nprobe=64");
        var full = vectors.Ivf.Search(vectors.Queries, K, selection);
        for (int q = 0; q < FilterData.QueryCount; q++)
        {
            var expected = vectors.Expected(q, K, selection);
            Assert.Equal(expected.Select(e => e.Id), full[q].Select(h => h.Id));
            for (int j = 0; j < full[q].Length; j++) Assert.Equal(expected[j].Score, full[q][j].Score, 1e-5);
        }

        vectors.Ivf.SetSearchParameters("nprobe=4");
        var few = vectors.Ivf.Search(vectors.Queries, K, selection);
        double fewHits = few.Average(h => h.Length), fullHits = full.Average(h => h.Length);
        double recall = Enumerable.Range(0, FilterData.QueryCount).Average(q =>
            TestVectors.Recall(few[q].Select(h => h.Id), full[q].Select(h => h.Id)));
        output.WriteLine($"IVF64 {selection.Count} selected ({fraction:P2}), k={K}: nprobe=4 {fewHits:F2} hits, recall {recall:F3}; " +
                         $"nprobe=64 {fullHits:F2} hits");
        for (int q = 0; q < FilterData.QueryCount; q++)
        {
            AssertOnlySelected(few[q], selection);
            AssertTrueScores(few[q], q);
        }
        // nprobe=4 of 64 lists meets about 1/16 of the selected vectors: fewer hits than probing them all.
        Assert.True(fewHits < fullHits, $"nprobe=4 gave {fewHits} hits, nprobe=64 {fullHits}: nprobe was not applied");
        Assert.True(recall > 0, "nprobe=4 found none of the exact neighbours");
        vectors.Ivf.SetSearchParameters("nprobe=1");
    }

    /// <summary>
    /// An IVF16 index of <paramref name="factory"/> over 3,000 random vectors with ids first, first + step, ..., every list
    /// probed; 2% of the ids selected; 5 queries. Seeds: seed, seed + 1 (selection), seed + 2 (queries).
    /// </summary>
    static (FaissIndex Index, float[] Data, long[] Ids, IdSelection Selection, float[] Queries) Ivf16(string factory, int seed, long first, long step)
    {
        const int n = 3000;
        var data = TestVectors.RandomUnit(n, D, seed: seed);
        var ids = TestVectors.Ids(n, first: first, step: step);
        var index = FaissIndex.Create(D, factory);
        index.Train(data);
        index.Add(data, ids);
        index.SetSearchParameters("nprobe=16");
        return (index, data, ids, Selections.Random(ids, 0.02, ids[^1] + 1, seed: seed + 1), TestVectors.RandomUnit(5, D, seed: seed + 2));
    }

    [Fact]
    public void BareIvf_StoresIdsItself_AndFilters()
    {
        var (index, data, ids, selection, queries) = Ivf16("IVF16,Flat", seed: 131, first: 100, step: 7);
        using var _ = index;
        var (subset, subsetIds) = Selections.Subset(data, ids, D, selection);
        var result = index.Search(queries, K, selection);
        for (int q = 0; q < 5; q++)
            Assert.Equal(TestVectors.BruteForce(subset, subsetIds, D, queries.AsSpan(q * D, D), K, FaissMetric.InnerProduct).Select(e => e.Id),
                result[q].Select(h => h.Id));
    }

    [Fact]
    public void IvfSq8_Filters_AndWithEveryListProbedReturnsItsOwnBestSelected()
    {
        var (index, _, ids, selection, queries) = Ivf16("IDMap2,IVF16,SQ8", seed: 134, first: 50, step: 3);
        using var _ = index;
        index.UseFlatScan = false; // FAISS's own IVF,SQ8 search through the shim's selector (FlatScanTests check our list scan against it)
        var filtered = index.Search(queries, K, selection);
        var everything = index.Search(queries, ids.Length);
        for (int q = 0; q < 5; q++)
        {
            AssertOnlySelected(filtered[q], selection);
            // the same codes scored the same way: the selected ones among the unfiltered ranking, in its order
            var expected = everything[q].Where(h => selection.Contains(h.Id)).Take(K).ToList();
            Assert.Equal(expected.Select(h => h.Id), filtered[q].Select(h => h.Id));
            for (int j = 0; j < expected.Count; j++) Assert.Equal(expected[j].Score, filtered[q][j].Score, 1e-5);
        }
    }

    [Fact]
    public void UnsupportedIndexType_NamesTheType()
    {
        using var index = FaissIndex.Create(D, "IDMap2,SQ4"); // SQ8 is filtered by our scan (FlatScanTests); 4-bit codes are not
        index.Train(vectors.Data.AsSpan(0, 1000 * D));
        index.Add(vectors.Data.AsSpan(0, 100 * D), vectors.Ids.AsSpan(0, 100));
        var selection = new IdSelection(vectors.Capacity);
        selection.Add(vectors.Ids[3]);
        var e = Assert.Throws<FaissNativeException>(() => index.Search(vectors.Queries, K, selection));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains("IDMap2,SQ4", e.Message);
        Assert.Contains("not supported", e.Message);
        Assert.Contains("IndexScalarQuantizer", e.Message);
        // Unfiltered search of the same index still works.
        Assert.Equal(vectors.Ids[3], index.Search(vectors.Data.AsSpan(3 * D, D), 1)[0][0].Id);
    }

    [Fact]
    public void Search_BadArgumentsWithSelection()
    {
        var selection = new IdSelection(10);
        selection.Add(5);
        Assert.Throws<DeepSeek.Search.Core.InvalidInputException>(() => vectors.Flat.Search(vectors.Queries, 0, selection));
        Assert.Throws<DeepSeek.Search.Core.InvalidInputException>(() => vectors.Flat.Search(new float[D + 1], K, selection));
        Assert.Empty(vectors.Flat.Search(ReadOnlySpan<float>.Empty, K, selection));
    }

    [Theory]
    [InlineData("flat")]
    [InlineData("hnsw")]
    [InlineData("ivf")]
    public async Task ConcurrentFilteredSearches_From4Threads_GiveIdenticalResults(string kind)
    {
        var index = vectors.Index(kind);
        if (kind == "hnsw") index.SetSearchParameters("efSearch=64");
        if (kind == "ivf") index.SetSearchParameters("nprobe=8");
        var selection = Selections.Random(vectors.Ids, 0.05, vectors.Capacity, seed: 140);
        var expected = index.Search(vectors.Queries, K, selection);
        Assert.Contains(expected, hits => hits.Length > 0);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var mine = new List<SearchResult>();
            for (int round = 0; round < 8; round++)
            {
                mine.Add(index.Search(vectors.Queries, K, selection));
                mine.Add(index.Search(vectors.Queries.AsSpan((t * 7 % FilterData.QueryCount) * D, D), K, selection));
            }
            return (Thread: t, Results: mine);
        })));
        foreach (var (t, mine) in results)
            for (int i = 0; i < mine.Count; i++)
            {
                if (i % 2 == 0)
                    for (int q = 0; q < FilterData.QueryCount; q++) Assert.Equal(expected[q], mine[i][q]);
                else
                    Assert.Equal(expected[t * 7 % FilterData.QueryCount], mine[i][0]);
            }
    }

    [Fact]
    public void FilteredSearch_AfterWriteAndRead_IsUnchanged()
    {
        using var dir = new DeepSeek.Search.TestKit.TempDir();
        vectors.Hnsw.SetSearchParameters("efSearch=128");
        var selection = Selections.Random(vectors.Ids, 0.1, vectors.Capacity, seed: 150);
        var before = vectors.Hnsw.Search(vectors.Queries, K, selection);
        vectors.Hnsw.Write(dir.File("hnsw.faiss"));
        using var loaded = FaissIndex.Read(dir.File("hnsw.faiss"));
        var after = loaded.Search(vectors.Queries, K, selection);
        for (int q = 0; q < FilterData.QueryCount; q++) Assert.Equal(before[q], after[q]);
        vectors.Hnsw.SetSearchParameters("efSearch=16");
    }
}
