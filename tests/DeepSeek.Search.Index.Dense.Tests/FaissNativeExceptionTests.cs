using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense.Tests;

public class FaissNativeExceptionTests
{
    [Fact]
    public void Message_IsOneLineAndCarriesCode()
    {
        var e = new FaissNativeException(FaissErrorCode.OutOfMemory, "search(n=1, k=5)", "out of memory\n(std::bad_alloc)\n");
        Assert.Equal("FAISS search(n=1, k=5) failed (OutOfMemory): out of memory (std::bad_alloc)", e.Message);
        Assert.Equal(FaissErrorCode.OutOfMemory, e.Code);
        Assert.Equal("out of memory\n(std::bad_alloc)\n", e.NativeMessage);
        Assert.IsAssignableFrom<SearchException>(e);
    }

    [Fact]
    public void Message_DropsFaissLocationPrefix()
    {
        const string native = "Error in virtual void faiss::IndexIVFFlat::add_core(faiss::Index::idx_t, const float*) " +
                              "at ./faiss/IndexIVFFlat.cpp:46: Error: 'is_trained' failed";
        var e = new FaissNativeException(FaissErrorCode.Faiss, "add_with_ids(n=1)", native);
        Assert.Equal("FAISS add_with_ids(n=1) failed (Faiss): Error: 'is_trained' failed", e.Message);
        Assert.Equal(native, e.NativeMessage);
        Assert.Equal("could not parse index string Foo", FaissNativeException.Summarize(
            "Error in std::unique_ptr<faiss::Index> faiss::{anonymous}::index_factory_sub(int, std::string, faiss::MetricType) " +
            "at ./faiss/index_factory.cpp:879: could not parse index string Foo"));
        Assert.Equal("plain message", FaissNativeException.Summarize("plain message"));
    }

    [Fact]
    public void EmptyNativeMessage_SaysSo()
    {
        var e = new FaissNativeException(FaissErrorCode.Unknown, "reset", "");
        Assert.EndsWith("(no message)", e.Message);
    }
}
