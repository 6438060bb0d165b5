using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>FaissIndex.Reconstruct: stored vectors back by id, one native call per batch, on real FAISS and real files.</summary>
public class ReconstructTests
{
    const int D = 16;

    /// <summary>An index of n random vectors under large, non-contiguous ids.</summary>
    static FaissIndex Filled(string factory, int n, int seed, out float[] data, out long[] ids)
    {
        data = TestVectors.RandomUnit(n, D, seed);
        ids = TestVectors.Ids(n, first: 1_000_000_007, step: 13);
        var index = FaissIndex.Create(D, factory);
        if (!index.IsTrained) index.Train(data);
        index.Add(data, ids);
        return index;
    }

    static float[] Rows(float[] data, long[] ids, IEnumerable<long> wanted)
    {
        var row = ids.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i);
        return wanted.SelectMany(id => data.AsSpan(row[id] * D, D).ToArray()).ToArray();
    }

    [Theory]
    [InlineData("IDMap2,Flat")]
    [InlineData("IDMap2,HNSW32,Flat")]
    [InlineData("IDMap2,IVF16,Flat")]
    [InlineData("IVF16,Flat")]
    public void RoundTrip_IsExact(string factory)
    {
        using var index = Filled(factory, 2000, seed: 80, out var data, out var ids);
        var wanted = (long[])ids.Clone();
        new Random(81).Shuffle(wanted);
        float[] vectors = index.Reconstruct(wanted);
        Assert.Equal(wanted.Length * D, vectors.Length);
        Assert.Equal(Rows(data, ids, wanted), vectors); // bit-exact: Flat storage keeps the floats as added
        // Repeated and single ids.
        Assert.Equal(Rows(data, ids, [ids[5], ids[5], ids[0]]), index.Reconstruct([ids[5], ids[5], ids[0]]));
        Assert.Empty(index.Reconstruct(ReadOnlySpan<long>.Empty));
    }

    [Theory]
    [InlineData("IDMap2,Flat")]
    [InlineData("IDMap2,HNSW32,Flat")]
    [InlineData("IDMap2,IVF16,Flat")]
    public void UnknownId_IsInvalidInputNamingIt(string factory)
    {
        using var index = Filled(factory, 300, seed: 82, out _, out var ids);
        var e = Assert.Throws<InvalidInputException>(() => index.Reconstruct([ids[0], 424242, ids[1]]));
        Assert.Contains("424242", e.Message);
        Assert.Contains(factory, e.Message);
        Assert.Throws<InvalidInputException>(() => index.Reconstruct([-1]));
        Assert.Throws<InvalidInputException>(() => index.Reconstruct([ids[^1] + 13]));
    }

    [Fact]
    public void RemovedId_IsUnknown_OthersStillRoundTrip()
    {
        using var index = Filled("IDMap2,Flat", 100, seed: 83, out var data, out var ids);
        Assert.Equal(1, index.Remove([ids[10]]));
        var e = Assert.Throws<InvalidInputException>(() => index.Reconstruct([ids[10]]));
        Assert.Contains(ids[10].ToString(), e.Message);
        var rest = ids.Where(id => id != ids[10]).ToArray();
        Assert.Equal(Rows(data, ids, rest), index.Reconstruct(rest));
    }

    [Theory]
    [InlineData("IDMap,Flat", "IDMap keeps no map")]
    [InlineData("IDMap,HNSW16,Flat", "IDMap keeps no map")]
    public void IndexWithoutReverseMap_IsClearErrorNamingFactory(string factory, string reason)
    {
        using var index = Filled(factory, 50, seed: 84, out _, out var ids);
        var e = Assert.Throws<FaissNativeException>(() => index.Reconstruct([ids[0]]));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains(factory, e.Message);
        Assert.Contains(reason, e.Message);
        Assert.Contains("IDMap2", e.Message);
        // Searching is unaffected.
        Assert.Equal(ids[0], index.Search(TestVectors.RandomUnit(50, D, seed: 84).AsSpan(0, D), 1)[0][0].Id);
    }

    [Fact]
    public void Ivf_DirectMapIsBuiltOnce_FollowsAdds_AndIsWritten_AndBareIvfStillRemoves()
    {
        using var index = Filled("IDMap2,IVF16,Flat", 1000, seed: 85, out var data, out var ids);
        Assert.Equal(0, IvfDirectMap(index));
        Assert.Equal(Rows(data, ids, ids[..10]), index.Reconstruct(ids[..10]));
        Assert.Equal(1, IvfDirectMap(index)); // an array over the IDMap's positions

        var more = TestVectors.RandomUnit(200, D, seed: 86);
        var moreIds = TestVectors.Ids(200, first: 5);
        index.Add(more, moreIds);
        Assert.Equal(Rows(more, moreIds, moreIds), index.Reconstruct(moreIds));

        using var dir = new TempDir();
        index.Write(dir.File("ivf.faiss"));
        using var loaded = FaissIndex.Read(dir.File("ivf.faiss"));
        Assert.Equal(1, IvfDirectMap(loaded));
        Assert.Equal(Rows(data, ids, ids), loaded.Reconstruct(ids));
        Assert.Equal(Rows(more, moreIds, moreIds[^5..]), loaded.Reconstruct(moreIds[^5..]));

        // Removal on the bare IVF (its own ids) keeps the direct map right.
        using var bare = Filled("IVF16,Flat", 500, seed: 87, out var bareData, out var bareIds);
        bare.Reconstruct(bareIds[..1]);
        Assert.Equal(2, IvfDirectMap(bare)); // a hashtable over the caller's ids
        Assert.Equal(2, bare.Remove(bareIds[..2]));
        Assert.Equal(498, bare.Count);
        Assert.Throws<InvalidInputException>(() => bare.Reconstruct(bareIds[..1]));
        Assert.Equal(Rows(bareData, bareIds, bareIds[2..]), bare.Reconstruct(bareIds[2..]));
    }

    [Fact]
    public void IdMapOverIvf_Remove_IsRefusedInsteadOfMixingUpIds()
    {
        // FAISS 1.7.3 compacts the IDMap's id list but not the IVF's stored positions: after a removal nearly every hit
        // would carry another vector's id. The shim refuses, and the index stays as it was.
        using var index = Filled("IDMap2,IVF16,Flat", 500, seed: 94, out var data, out var ids);
        index.SetSearchParameters("nprobe=16");
        var e = Assert.Throws<FaissNativeException>(() => index.Remove(ids[..2]));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains("IDMap2,IVF16,Flat", e.Message);
        Assert.Equal(500, index.Count);
        for (int i = 0; i < 500; i += 25) Assert.Equal(ids[i], index.Search(data.AsSpan(i * D, D), 1)[0][0].Id);
    }

    [Fact]
    public void HnswAndFlat_AfterWriteAndRead_RoundTrip()
    {
        using var dir = new TempDir();
        foreach (var factory in new[] { "IDMap2,Flat", "IDMap2,HNSW32,Flat" })
        {
            var index = Filled(factory, 500, seed: 88, out var data, out var ids);
            using (index) index.Write(dir.File("x.faiss"));
            using var loaded = FaissIndex.Read(dir.File("x.faiss"));
            Assert.Equal(Rows(data, ids, ids.Reverse()), loaded.Reconstruct(ids.Reverse().ToArray()));
        }
    }

    [Fact]
    public async Task Ivf_FirstReconstruct_DuringConcurrentSearches_IsSafe()
    {
        using var index = Filled("IDMap2,IVF16,Flat", 4000, seed: 89, out var data, out var ids);
        index.SetSearchParameters("nprobe=4");
        var queries = TestVectors.RandomUnit(8, D, seed: 90);
        var expected = index.Search(queries, 5);
        using var stop = new CancellationTokenSource();
        var searchers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            int rounds = 0;
            while (!stop.IsCancellationRequested || rounds < 5)
            {
                var result = index.Search(queries, 5);
                for (int q = 0; q < 8; q++) Assert.Equal(expected[q], result[q]);
                rounds++;
            }
            return rounds;
        })).ToArray();
        var readers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 20; i++)
            {
                var some = ids.Skip((t * 20 + i) * 50).Take(50).ToArray();
                Assert.Equal(Rows(data, ids, some), index.Reconstruct(some));
            }
        })).ToArray();
        await Task.WhenAll(readers);
        stop.Cancel();
        var rounds = await Task.WhenAll(searchers);
        Assert.All(rounds, r => Assert.True(r >= 5));
    }

    [Fact]
    public void ExactSearchOverReconstructedSelection_EqualsFilteredFlat()
    {
        // The fallback for a very selective filter: read the permitted vectors back and search them exactly.
        using var index = Filled("IDMap2,HNSW32,Flat", 3000, seed: 91, out _, out var ids);
        var permitted = Selections.Random(ids, 0.005, ids[^1] + 1, seed: 92);
        var permittedIds = ids.Where(permitted.Contains).ToArray();
        var exact = new ExactVectors(D, index.Reconstruct(permittedIds), permittedIds);
        var query = TestVectors.RandomUnit(1, D, seed: 93);

        using var reference = Filled("IDMap2,Flat", 3000, seed: 91, out _, out _);
        var expected = reference.Search(query, 10, permitted)[0];
        var hits = exact.Search(query, 10);
        Assert.Equal(expected.Select(h => h.Id), hits.Select(h => h.Id));
        Assert.Equal(Math.Min(10, permitted.Count), hits.Length);
    }

    static int IvfDirectMap(FaissIndex index) => index.IvfDirectMapType;
}
