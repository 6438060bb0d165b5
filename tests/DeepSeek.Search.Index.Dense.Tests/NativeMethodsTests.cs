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
}
