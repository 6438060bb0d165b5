using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>ExactVectors: exact inner-product top-k, the same as a FAISS Flat index; immutability; errors.</summary>
public class ExactVectorsTests
{
    const int D = 24;

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.05)]
    [InlineData(0.002)]
    public void Search_EqualsFaissFlat(double fraction)
    {
        const int n = 3000;
        var data = TestVectors.RandomUnit(n, D, seed: 60);
        var ids = TestVectors.Ids(n, first: 11, step: 4);
        var queries = TestVectors.RandomUnit(20, D, seed: 61);
        var selection = fraction >= 1 ? null : Selections.Random(ids, fraction, capacity: ids[^1] + 1, seed: 62);
        var exact = new ExactVectors(D, data, ids);
        using var flat = FaissIndex.Create(D);
        flat.Add(data, ids);
        var faiss = flat.Search(queries, 10, selection);
        for (int q = 0; q < 20; q++)
        {
            var hits = exact.Search(queries.AsSpan(q * D, D), 10, selection);
            Assert.Equal(faiss[q].Select(h => h.Id), hits.Select(h => h.Id));
            for (int j = 0; j < hits.Length; j++) Assert.Equal(faiss[q][j].Score, hits[j].Score, 1e-5);
            Assert.Equal(Math.Min(10, selection?.Count ?? n), hits.Length);
            if (selection is not null) Assert.All(hits, h => Assert.True(selection.Contains(h.Id)));
        }
    }

    [Fact]
    public void Search_TiesGoToSmallerId_AndScoresAreInnerProducts()
    {
        float[] rows = [1, 0, 0, 1, 1, 0, 2, 0, 1, 0];
        long[] ids = [50, 7, 30, 9, 8];
        var exact = new ExactVectors(2, rows, ids);
        var hits = exact.Search([1f, 0f], 5);
        // scores: 50→1, 7→0, 30→1, 9→2, 8→1
        Assert.Equal(new long[] { 9, 8, 30, 50, 7 }, hits.Select(h => h.Id));
        Assert.Equal(new float[] { 2, 1, 1, 1, 0 }, hits.Select(h => h.Score));
        Assert.Equal(new long[] { 9, 8 }, exact.Search([1f, 0f], 2).Select(h => h.Id));
    }

    [Fact]
    public void Search_KBeyondCount_EmptySelection_AndEmpty()
    {
        var data = TestVectors.RandomUnit(5, D, seed: 63);
        var exact = new ExactVectors(D, data, TestVectors.Ids(5));
        var query = TestVectors.RandomUnit(1, D, seed: 64);
        var all = exact.Search(query, 100);
        Assert.Equal(5, all.Length);
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.Empty(exact.Search(query, 3, new IdSelection(5)));
        Assert.Empty(exact.Search(query, 3, new IdSelection(0)));
        Assert.Empty(ExactVectors.Empty(D).Search(query, 3));
        Assert.Equal(0, ExactVectors.Empty(D).Count);
        // Ids beyond the selection's capacity are not selected.
        var first = new IdSelection(3);
        first.AddRange(0, 3);
        Assert.Equal(new long[] { 0, 1, 2 }, exact.Search(query, 10, first).Select(h => h.Id).Order());
    }

    [Fact]
    public void Append_LeavesOldInstanceUnchanged()
    {
        var a = TestVectors.RandomUnit(100, D, seed: 65);
        var b = TestVectors.RandomUnit(50, D, seed: 66);
        var query = TestVectors.RandomUnit(1, D, seed: 67);
        var idsA = TestVectors.Ids(100);
        var idsB = TestVectors.Ids(50, first: 1000);
        var old = ExactVectors.Empty(D).Append(a, idsA);
        var before = old.Search(query, 10);

        var grown = old.Append(b, idsB);
        Assert.NotSame(old, grown);
        Assert.Equal(100, old.Count);
        Assert.Equal(150, grown.Count);
        Assert.Equal(idsA, old.Ids.ToArray());
        Assert.Equal(idsA.Concat(idsB), grown.Ids.ToArray());
        Assert.Equal(a, old.Rows.ToArray());
        Assert.Equal(a.Concat(b), grown.Rows.ToArray());
        Assert.Equal(before, old.Search(query, 10));

        // The grown one searches both parts exactly.
        var reference = new ExactVectors(D, [.. a, .. b], [.. idsA, .. idsB]);
        Assert.Equal(reference.Search(query, 20), grown.Search(query, 20));
        Assert.Contains(grown.Search(query, 150), h => h.Id >= 1000);

        var same = old.Append([], []);
        Assert.NotSame(old, same);
        Assert.Equal(before, same.Search(query, 10));
    }

    [Fact]
    public void Constructor_CopiesItsArrays()
    {
        var data = TestVectors.RandomUnit(10, D, seed: 68);
        var ids = TestVectors.Ids(10);
        var exact = new ExactVectors(D, data, ids);
        var query = data.AsSpan(3 * D, D).ToArray();
        Assert.Equal(3, exact.Search(query, 1)[0].Id);
        Array.Clear(data);
        ids[3] = 99;
        Assert.Equal(3, exact.Search(query, 1)[0].Id);
        Assert.Equal(1f, exact.Search(query, 1)[0].Score, 1e-5);
    }

    [Fact]
    public void BadShapes_AreInvalidInput()
    {
        var e = Assert.Throws<InvalidInputException>(() => new ExactVectors(4, new float[7], [1, 2]));
        Assert.Contains("7 floats for 2 ids", e.Message);
        Assert.Contains("8", e.Message);
        Assert.Throws<InvalidInputException>(() => new ExactVectors(0, [], []));
        Assert.Throws<InvalidInputException>(() => ExactVectors.Empty(-1));
        var exact = new ExactVectors(4, new float[8], [1, 2]);
        Assert.Throws<InvalidInputException>(() => exact.Append(new float[5], [3]));
        Assert.Equal(2, exact.Count);
        var q = Assert.Throws<InvalidInputException>(() => exact.Search(new float[3], 1));
        Assert.Contains("4-dimensional", q.Message);
        Assert.Throws<InvalidInputException>(() => exact.Search(new float[4], 0));
    }

    [Fact]
    public async Task ConcurrentSearches_GiveIdenticalResults()
    {
        const int n = 5000;
        var data = TestVectors.RandomUnit(n, D, seed: 69);
        var ids = TestVectors.Ids(n, first: 3, step: 2);
        var queries = TestVectors.RandomUnit(16, D, seed: 70);
        var selection = Selections.Random(ids, 0.3, capacity: ids[^1] + 1, seed: 71);
        var exact = new ExactVectors(D, data, ids);
        var expected = Enumerable.Range(0, 16).Select(q => exact.Search(queries.AsSpan(q * D, D), 10, selection)).ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var mine = new List<DenseHit[]>();
            for (int round = 0; round < 10; round++)
                for (int q = 0; q < 16; q++) mine.Add(exact.Search(queries.AsSpan(q * D, D), 10, selection));
            return mine;
        })));
        foreach (var mine in results)
            for (int i = 0; i < mine.Count; i++) Assert.Equal(expected[i % 16], mine[i]);
    }
}
