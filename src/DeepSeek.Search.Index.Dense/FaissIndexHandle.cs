using System.Runtime.InteropServices;

namespace DeepSeek.Search.Index.Dense;

/// <summary>Owns one native <c>faiss::Index*</c> (a <c>dss_faiss_Index</c> handle of the shim); releasing it deletes the index.</summary>
internal sealed class FaissIndexHandle : SafeHandle
{
    public FaissIndexHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.IndexFree(handle);
        return true;
    }
}
