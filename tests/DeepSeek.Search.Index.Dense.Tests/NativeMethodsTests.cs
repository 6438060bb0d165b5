namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>The shim's C contract, called directly: status codes, the thread-local message, argument checks.</summary>
public unsafe class NativeMethodsTests
{
    [Fact]
    public void Success_ClearsLastError()
    {
        Assert.NotEqual(0, NativeMethods.IndexFactory(out var bad, 4, "Foo123", 0));
        Assert.True(bad.IsInvalid);
        Assert.NotEmpty(NativeMethods.LastError());

        Assert.Equal(0, NativeMethods.IndexFactory(out var good, 4, "Flat", 0));
        using (good)
        {
            Assert.False(good.IsInvalid);
            Assert.Equal("", NativeMethods.LastError());
        }
    }

    [Fact]
    public void Free_LeavesLastErrorAlone()
    {
        Assert.Equal(0, NativeMethods.IndexFactory(out var handle, 4, "Flat", 0));
        Assert.NotEqual(0, NativeMethods.SetIndexParameters(handle, "bogus=1"));
        string message = NativeMethods.LastError();
        Assert.NotEmpty(message);
        handle.Dispose();
        Assert.Equal(message, NativeMethods.LastError());
    }

    [Fact]
    public void LastError_IsPerThread()
    {
        Assert.NotEqual(0, NativeMethods.IndexFactory(out var bad, 4, "Foo123", 0));
        bad.Dispose();
        string other = "unset";
        var thread = new Thread(() => other = NativeMethods.LastError());
        thread.Start();
        thread.Join();
        Assert.Equal("", other);
        Assert.Contains("Foo123", NativeMethods.LastError());
    }

    [Fact]
    public void Shim_RejectsBadArguments()
    {
        Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexFactory(out var h1, 0, "Flat", 0));
        Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexFactory(out var h2, 4, "Flat", 9));
        h1.Dispose();
        h2.Dispose();

        Assert.Equal(0, NativeMethods.IndexFactory(out var handle, 4, "IDMap2,Flat", 0));
        using (handle)
        {
            var x = new float[4];
            var distances = new float[1];
            var labels = new long[1];
            fixed (float* px = x)
            fixed (float* pd = distances)
            fixed (long* pl = labels)
            {
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexSearch(handle, 1, px, 0, pd, pl));
                Assert.Contains("k must be positive", NativeMethods.LastError());
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexSearch(handle, 1, null, 1, pd, pl));
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexAddWithIds(handle, -1, px, null));
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexTrain(handle, 1, null));
            }
        }
    }

    [Fact]
    public void Check_ThrowsWithCodeAndMessage()
    {
        int code = NativeMethods.IndexFactory(out var bad, 4, "Foo123", 0);
        bad.Dispose();
        var e = Assert.Throws<FaissNativeException>(() => NativeMethods.Check(code, "index_factory"));
        Assert.Equal(FaissErrorCode.Faiss, e.Code);
        Assert.Equal("index_factory", e.Operation);
        Assert.StartsWith("FAISS index_factory failed (Faiss): ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ReadIndex_MissingFile_IsFaissErrorNotCrash()
    {
        // FaissIndex.Read checks existence first; the shim itself must also survive it.
        int code = NativeMethods.ReadIndex("/nonexistent/dir/x.faiss", 0, out var handle);
        Assert.Equal((int)FaissErrorCode.Faiss, code);
        Assert.True(handle.IsInvalid);
        Assert.Contains("x.faiss", NativeMethods.LastError());
        handle.Dispose();
    }

    [Fact]
    public void SearchSelected_RejectsBadArguments()
    {
        Assert.Equal(0, NativeMethods.IndexFactory(out var handle, 4, "IDMap2,Flat", 0));
        using (handle)
        {
            var x = new float[4];
            long[] ids = [3];
            fixed (float* px = x)
            fixed (long* pids = ids)
                Assert.Equal(0, NativeMethods.IndexAddWithIds(handle, 1, px, pids));
            var distances = new float[1];
            var labels = new long[1];
            byte[] bits = [0b0000_1000, 0];
            fixed (float* px = x)
            fixed (float* pd = distances)
            fixed (long* pl = labels)
            fixed (byte* pb = bits)
            {
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexSearchSelected(handle, 1, px, 1, pb, -1, pd, pl));
                Assert.Contains("capacity", NativeMethods.LastError());
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexSearchSelected(handle, 1, px, 1, null, 8, pd, pl));
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexSearchSelected(handle, 1, px, 0, pb, 8, pd, pl));
                // Bit 3 set but capacity 3: a bit at the capacity.
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexSearchSelected(handle, 1, px, 1, pb, 3, pd, pl));
                Assert.Contains("beyond its capacity", NativeMethods.LastError());
                Assert.Equal(0, NativeMethods.IndexSearchSelected(handle, 1, px, 1, pb, 4, pd, pl));
                Assert.Equal(3, labels[0]);
                Assert.Equal("", NativeMethods.LastError());
                bits[0] = 0b0000_0100; // id 2 only: absent, so no hit
                Assert.Equal(0, NativeMethods.IndexSearchSelected(handle, 1, px, 1, pb, 16, pd, pl));
                Assert.Equal(-1, labels[0]);
            }
        }
    }

    [Theory]
    [InlineData("IDMap2,Flat", NativeMethods.ReconstructYes)]
    [InlineData("IDMap2,HNSW16,Flat", NativeMethods.ReconstructYes)]
    [InlineData("Flat", NativeMethods.ReconstructYes)]
    [InlineData("IDMap,Flat", NativeMethods.ReconstructNo)]
    [InlineData("IDMap2,IVF4,Flat", NativeMethods.ReconstructNeedsDirectMap)]
    [InlineData("IVF4,Flat", NativeMethods.ReconstructNeedsDirectMap)]
    public void CanReconstruct_ByType(string factory, int expected)
    {
        Assert.Equal(0, NativeMethods.IndexFactory(out var handle, 4, factory, 0));
        using (handle)
        {
            Assert.Equal(0, NativeMethods.IndexCanReconstruct(handle, out int answer));
            Assert.Equal(expected, answer);
            int made = NativeMethods.IvfMakeDirectMap(handle);
            if (expected == NativeMethods.ReconstructNeedsDirectMap)
            {
                Assert.Equal(0, made);
                Assert.Equal(0, NativeMethods.IndexCanReconstruct(handle, out answer));
                Assert.Equal(NativeMethods.ReconstructYes, answer);
                Assert.Equal(0, NativeMethods.IvfDirectMapType(handle, out int type));
                Assert.Equal(factory.StartsWith("IDMap", StringComparison.Ordinal) ? 1 : 2, type);
            }
            else
            {
                Assert.Equal((int)FaissErrorCode.Argument, made);
                Assert.Contains("not an IVF index", NativeMethods.LastError());
                Assert.Equal(0, NativeMethods.IvfDirectMapType(handle, out int type));
                Assert.Equal(-1, type);
            }
        }
    }

    [Fact]
    public void ReconstructBatch_ReportsMissingPosition()
    {
        Assert.Equal(0, NativeMethods.IndexFactory(out var handle, 2, "IDMap2,Flat", 0));
        using (handle)
        {
            float[] x = [1, 2, 3, 4];
            long[] ids = [10, 20];
            fixed (float* px = x)
            fixed (long* pids = ids)
                Assert.Equal(0, NativeMethods.IndexAddWithIds(handle, 2, px, pids));
            long[] wanted = [20, 10, 30];
            var output = new float[6];
            fixed (long* pw = wanted)
            fixed (float* po = output)
            {
                Assert.Equal(0, NativeMethods.IndexReconstructBatch(handle, 2, pw, po, out long missing));
                Assert.Equal(-1, missing);
                Assert.Equal(new float[] { 3, 4, 1, 2 }, output[..4]);
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexReconstructBatch(handle, 3, pw, po, out missing));
                Assert.Equal(2, missing);
                Assert.Contains("id 30", NativeMethods.LastError());
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexReconstructBatch(handle, -1, pw, po, out missing));
                Assert.Equal(-1, missing);
                Assert.Equal((int)FaissErrorCode.Argument, NativeMethods.IndexReconstructBatch(handle, 1, null, po, out missing));
            }
        }
    }
}
