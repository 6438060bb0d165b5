using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>FaissIndex on bad input: every failure is a clear .NET exception, never a crashed process.</summary>
public class FaissIndexFailureTests
{
    const int D = 16;

    static FaissIndex FlatWith(int n, int seed = 1)
    {
        var index = FaissIndex.Create(D);
        index.Add(TestVectors.RandomUnit(n, D, seed), TestVectors.Ids(n));
        return index;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Create_NonPositiveDimension(int dimension)
    {
        var e = Assert.Throws<InvalidInputException>(() => FaissIndex.Create(dimension));
        Assert.Contains("dimension", e.Message);
        Assert.Contains(dimension.ToString(), e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Create_EmptyFactory(string factory)
    {
        var e = Assert.Throws<InvalidInputException>(() => FaissIndex.Create(D, factory));
        Assert.Contains("factory", e.Message);
    }

    [Fact]
    public void Create_UnknownMetric()
    {
        Assert.Throws<InvalidInputException>(() => FaissIndex.Create(D, "Flat", (FaissMetric)7));
    }

    [Theory]
    [InlineData("Foo123")]
    [InlineData("IDMap2,HNSWxyz,Flat")]
    [InlineData("IDMap2,Flat,Bar")]
    public void Create_BadFactoryString_IsFaissError(string factory)
    {
        var e = Assert.Throws<FaissNativeException>(() => FaissIndex.Create(D, factory));
        Assert.Equal(FaissErrorCode.Faiss, e.Code);
        Assert.False(string.IsNullOrWhiteSpace(e.NativeMessage));
        Assert.Contains(factory, e.Message);
        Assert.IsAssignableFrom<SearchException>(e);
    }

    [Fact]
    public void WrongDimension_NamesExpectedDimension()
    {
        using var index = FlatWith(10);
        var add = Assert.Throws<InvalidInputException>(() => index.Add(new float[D + 1], [1]));
        Assert.Contains($"{D}-dimensional", add.Message);
        var search = Assert.Throws<InvalidInputException>(() => index.Search(new float[D * 2 - 1], 3));
        Assert.Contains($"{D}-dimensional", search.Message);
        var train = Assert.Throws<InvalidInputException>(() => index.Train(new float[7]));
        Assert.Contains($"{D}-dimensional", train.Message);
        Assert.Equal(10, index.Count);
    }

    [Fact]
    public void Add_IdCountMismatch()
    {
        using var index = FaissIndex.Create(D);
        var e = Assert.Throws<InvalidInputException>(() => index.Add(new float[3 * D], [1, 2]));
        Assert.Contains("2 ids for 3 vectors", e.Message);
        Assert.Equal(0, index.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Search_NonPositiveK(int k)
    {
        using var index = FlatWith(10);
        var e = Assert.Throws<InvalidInputException>(() => index.Search(new float[D], k));
        Assert.Contains("k must be positive", e.Message);
    }

    [Fact]
    public void Train_Empty()
    {
        using var index = FaissIndex.Create(D, "IVF4,Flat");
        Assert.Throws<InvalidInputException>(() => index.Train(ReadOnlySpan<float>.Empty));
    }

    [Fact]
    public void UntrainedIvf_Add_IsFaissErrorAndIndexStaysUsable()
    {
        using var index = FaissIndex.Create(D, "IVF16,Flat");
        var data = TestVectors.RandomUnit(100, D, seed: 2);
        var e = Assert.Throws<FaissNativeException>(() => index.Add(data, TestVectors.Ids(100)));
        Assert.Equal(FaissErrorCode.Faiss, e.Code);
        Assert.Contains("is_trained", e.NativeMessage);
        Assert.Contains("'is_trained' failed", e.Message);
        Assert.Equal(0, index.Count);

        // After the failure the same index trains and works.
        var training = TestVectors.RandomUnit(1000, D, seed: 3);
        index.Train(training);
        index.Add(data, TestVectors.Ids(100));
        Assert.Equal(100, index.Count);
    }

    [Fact]
    public void IvfWithZeroLists_IsRejectedNotAborted()
    {
        // FAISS 1.7.3 accepts "IVF0,Flat" and then aborts the process (assert) on the first add.
        var e = Assert.Throws<FaissNativeException>(() => FaissIndex.Create(D, "IVF0,Flat"));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains("nlist", e.Message);
    }

    [Theory]
    [InlineData("IDMap2,HNSW16,Flat", "efSearch=0")]
    [InlineData("IDMap2,HNSW16,Flat", "efSearch=-4")]
    [InlineData("IVF4,Flat", "nprobe=0")]
    public void SetSearchParameters_NonPositiveCount_IsRejected(string factory, string parameters)
    {
        using var index = FaissIndex.Create(D, factory);
        var e = Assert.Throws<FaissNativeException>(() => index.SetSearchParameters(parameters));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains("at least 1", e.Message);
    }

    [Theory]
    [InlineData("IDMap2,Flat", "parallel_mode=1", "IVF indexes only")]
    [InlineData("IDMap2,HNSW16,Flat", "efSearch=16,parallel_mode=1", "IVF indexes only")]
    [InlineData("IVF4,Flat", "parallel_mode=2", "must be 0 (over queries) or 1 (over lists), got 2")]
    public void SetSearchParameters_ParallelMode_OnlyIvfAndZeroOrOne(string factory, string parameters, string message)
    {
        using var index = FaissIndex.Create(D, factory);
        var e = Assert.Throws<FaissNativeException>(() => index.SetSearchParameters(parameters));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void IvfTrain_TooFewPoints_IsFaissError()
    {
        using var index = FaissIndex.Create(D, "IVF16,Flat");
        var e = Assert.Throws<FaissNativeException>(() => index.Train(TestVectors.RandomUnit(5, D, seed: 4)));
        Assert.Contains("training points", e.NativeMessage);
        Assert.False(index.IsTrained);
    }

    [Fact]
    public void Hnsw_Remove_IsFaissError()
    {
        using var index = FaissIndex.Create(D, "IDMap2,HNSW16,Flat");
        index.Add(TestVectors.RandomUnit(20, D, seed: 5), TestVectors.Ids(20));
        var e = Assert.Throws<FaissNativeException>(() => index.Remove([1, 2]));
        Assert.Equal(FaissErrorCode.Faiss, e.Code);
        Assert.Equal(20, index.Count);
    }

    [Theory]
    [InlineData("IDMap2,Flat", "efSearch=64")]
    [InlineData("IDMap2,HNSW16,Flat", "nprobe=4")]
    [InlineData("IDMap2,HNSW16,Flat", "efSearch")]
    [InlineData("IVF4,Flat", "bogus=1")]
    public void SetSearchParameters_Unknown_IsFaissError(string factory, string parameters)
    {
        using var index = FaissIndex.Create(D, factory);
        var e = Assert.Throws<FaissNativeException>(() => index.SetSearchParameters(parameters));
        Assert.Equal(FaissErrorCode.Faiss, e.Code);
        Assert.Throws<InvalidInputException>(() => index.SetSearchParameters(" "));
    }

    [Fact]
    public void HnswEfConstruction_OnFlatOrBelowOne()
    {
        using var flat = FaissIndex.Create(D);
        var e = Assert.Throws<FaissNativeException>(() => flat.SetHnswEfConstruction(64));
        Assert.Equal(FaissErrorCode.Argument, e.Code);
        Assert.Contains("not an HNSW index", e.Message);
        using var hnsw = FaissIndex.Create(D, "IDMap2,HNSW16,Flat");
        Assert.Throws<InvalidInputException>(() => hnsw.SetHnswEfConstruction(0));
    }

    [Fact]
    public void Threads_BelowOne()
    {
        Assert.Throws<InvalidInputException>(() => FaissIndex.Threads = 0);
        Assert.True(FaissIndex.Threads >= 1);
    }

    [Fact]
    public void Read_MissingFile_IsInvalidInput()
    {
        using var dir = new TempDir();
        string path = dir.File("nope.faiss");
        var e = Assert.Throws<InvalidInputException>(() => FaissIndex.Read(path));
        Assert.Contains("not found", e.Message);
        Assert.Contains(path, e.Message);
        Assert.IsType<FileNotFoundException>(e.InnerException);
        Assert.Throws<InvalidInputException>(() => FaissIndex.Read(""));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.0)]
    public void Read_TruncatedFile_IsIndexCorrupt(double keepFraction)
    {
        using var dir = new TempDir();
        string path = dir.File("t.faiss");
        using (var index = FlatWith(200)) index.Write(path);
        long length = new FileInfo(path).Length;
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength((long)(length * keepFraction));

        var e = Assert.Throws<IndexCorruptException>(() => FaissIndex.Read(path));
        Assert.Contains(path, e.Message);
        var native = Assert.IsType<FaissNativeException>(e.InnerException);
        Assert.False(string.IsNullOrWhiteSpace(native.NativeMessage));
        Assert.Contains(FaissNativeException.Summarize(native.NativeMessage), e.Message);
        Assert.Contains("read error", e.Message);
    }

    [Fact]
    public void Read_GarbageFile_IsIndexCorrupt()
    {
        using var dir = new TempDir();
        string path = dir.File("g.faiss");
        var bytes = new byte[4096];
        new Random(6).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<IndexCorruptException>(() => FaissIndex.Read(path));
        Assert.Contains("not recognized", e.Message);

        File.WriteAllText(path, "this is not a FAISS index\n");
        Assert.Throws<IndexCorruptException>(() => FaissIndex.Read(path));
    }

    [Fact]
    public void Read_CorruptHeader_IsIndexCorrupt()
    {
        using var dir = new TempDir();
        string path = dir.File("c.faiss");
        using (var index = FlatWith(50)) index.Write(path);
        var bytes = File.ReadAllBytes(path);
        // The first four bytes are the outer index's type code ("IxM2" for IDMap2); break it.
        Assert.Equal("IxM2", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        bytes[0] = (byte)'Q';
        File.WriteAllBytes(path, bytes);
        Assert.Throws<IndexCorruptException>(() => FaissIndex.Read(path));
    }

    [Fact]
    public void Write_MissingFolder_IsInvalidInput()
    {
        using var dir = new TempDir();
        using var index = FlatWith(5);
        var e = Assert.Throws<InvalidInputException>(() => index.Write(Path.Combine(dir.Path, "absent", "x.faiss")));
        Assert.Contains("does not exist", e.Message);
        Assert.Throws<InvalidInputException>(() => index.Write(" "));
    }

    [Fact]
    public void Write_Failure_LeavesNoTemporaryAndKeepsOldFile()
    {
        using var dir = new TempDir();
        string path = dir.File("keep.faiss");
        using var index = FlatWith(5);
        index.Write(path);
        // A folder squatting on the temporary name makes FAISS's open fail.
        Directory.CreateDirectory(path + ".tmp");
        var e = Assert.Throws<FaissNativeException>(() => index.Write(path));
        Assert.Equal(FaissErrorCode.Io, e.Code);
        Assert.Contains(".tmp", e.NativeMessage);
        using var old = FaissIndex.Read(path);
        Assert.Equal(5, old.Count);
    }
}
