namespace DeepSeek.Search.Index.Dense;

/// <summary>Status codes of the native shim (native/faiss_shim/error_c.h); every failing call returns one.</summary>
public enum FaissErrorCode
{
    Ok = 0,
    /// <summary>FAISS threw a <c>faiss::FaissException</c> (bad factory string, untrained index, unknown parameter, unreadable file, ...).</summary>
    Faiss = 1,
    /// <summary>A native allocation failed (<c>std::bad_alloc</c>).</summary>
    OutOfMemory = 2,
    /// <summary>Some other <c>std::exception</c>.</summary>
    StdException = 3,
    /// <summary>A C++ exception that is not a <c>std::exception</c>.</summary>
    Unknown = 4,
    /// <summary>The shim rejected an argument before calling FAISS.</summary>
    Argument = 5,
    /// <summary>The shim's own file handling failed (open, write, fsync, close).</summary>
    Io = 6,
}
