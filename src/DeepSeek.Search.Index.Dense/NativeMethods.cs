using System.Reflection;
using System.Runtime.InteropServices;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// P/Invoke declarations of the C-ABI FAISS shim (native/faiss_shim, built as native/build/libdss_faiss.so and copied next
/// to every assembly that references this project). Vectors are float32, row-major n×d. Every call that can fail returns a
/// <see cref="FaissErrorCode"/>; <see cref="Check"/> turns a failure into a <see cref="FaissNativeException"/> carrying
/// the thread-local message the shim recorded.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "dss_faiss";

    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Core.Native.NativeLibraryProbe.For(Library));

    /// <summary>Throws <see cref="FaissNativeException"/> when <paramref name="code"/> is not <see cref="FaissErrorCode.Ok"/>.</summary>
    internal static void Check(int code, string operation)
    {
        if (code != 0) throw new FaissNativeException((FaissErrorCode)code, operation, LastError());
    }

    internal static string LastError() => Marshal.PtrToStringUTF8(LastErrorPointer()) ?? "";

    [LibraryImport(Library, EntryPoint = "dss_faiss_last_error")]
    private static partial IntPtr LastErrorPointer();

    [LibraryImport(Library, EntryPoint = "dss_faiss_version")]
    internal static partial IntPtr Version();

    [LibraryImport(Library, EntryPoint = "dss_faiss_omp_get_max_threads")]
    internal static partial int OmpGetMaxThreads();

    [LibraryImport(Library, EntryPoint = "dss_faiss_omp_set_num_threads")]
    internal static partial int OmpSetNumThreads(int threads);

    [LibraryImport(Library, EntryPoint = "dss_faiss_index_factory", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int IndexFactory(out FaissIndexHandle index, int dimension, string description, int metric);

    [LibraryImport(Library, EntryPoint = "dss_faiss_read_index", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ReadIndex(string path, int ioFlags, out FaissIndexHandle index);

    [LibraryImport(Library, EntryPoint = "dss_faiss_write_index", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int WriteIndex(FaissIndexHandle index, string path);

    [LibraryImport(Library, EntryPoint = "dss_faiss_fsync_directory", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsyncDirectory(string path);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_free")]
    internal static partial void IndexFree(IntPtr index);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_d")]
    internal static partial int IndexDimension(FaissIndexHandle index, out int dimension);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_ntotal")]
    internal static partial int IndexCount(FaissIndexHandle index, out long count);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_is_trained")]
    internal static partial int IndexIsTrained(FaissIndexHandle index, out int isTrained);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_metric_type")]
    internal static partial int IndexMetric(FaissIndexHandle index, out int metric);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_train")]
    internal static partial int IndexTrain(FaissIndexHandle index, long n, float* vectors);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_add_with_ids")]
    internal static partial int IndexAddWithIds(FaissIndexHandle index, long n, float* vectors, long* ids);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_flat_data")]
    internal static partial int IndexFlatData(FaissIndexHandle index, out float* vectors, out long* ids, out long count);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_sq8_data")]
    internal static partial int IndexSq8Data(FaissIndexHandle index, out byte* codes, out float* trained, out long* ids, out long count);

    /// <summary>What <see cref="IvfScanStorage"/> found (DSS_FAISS_IVF_SCAN_*).</summary>
    internal const int IvfScanNone = 0, IvfScanFlat = 1, IvfScanSq8 = 2;

    [LibraryImport(Library, EntryPoint = "dss_faiss_IndexIVF_scan_storage")]
    internal static partial int IvfScanStorage(FaissIndexHandle index, out int kind, out long nlist, out float* centroids, out long nprobe,
                                               out long maxCodes, out long* idMap, out float* trained, out int byResidual);

    [LibraryImport(Library, EntryPoint = "dss_faiss_IndexIVF_scan_list")]
    internal static partial int IvfScanList(FaissIndexHandle index, long list, out byte* codes, out long* ids, out long size);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_search")]
    internal static partial int IndexSearch(FaissIndexHandle index, long n, float* queries, long k, float* distances, long* labels);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_search_selected")]
    internal static partial int IndexSearchSelected(FaissIndexHandle index, long n, float* queries, long k, byte* bitmap, long capacity,
        float* distances, long* labels);

    /// <summary>Answers of <see cref="IndexCanReconstruct"/> (DSS_FAISS_RECONSTRUCT_* in Index_c.h).</summary>
    internal const int ReconstructNo = 0, ReconstructYes = 1, ReconstructNeedsDirectMap = 2;

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_can_reconstruct")]
    internal static partial int IndexCanReconstruct(FaissIndexHandle index, out int answer);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_reconstruct_batch")]
    internal static partial int IndexReconstructBatch(FaissIndexHandle index, long n, long* ids, float* vectors, out long missing);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_remove_ids")]
    internal static partial int IndexRemoveIds(FaissIndexHandle index, long n, long* ids, out long removed);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_reset")]
    internal static partial int IndexReset(FaissIndexHandle index);

    [LibraryImport(Library, EntryPoint = "dss_faiss_Index_describe")]
    internal static partial int IndexDescribe(FaissIndexHandle index, byte* buffer, nuint capacity, out nuint length);

    [LibraryImport(Library, EntryPoint = "dss_faiss_IndexHNSW_efConstruction")]
    internal static partial int HnswEfConstruction(FaissIndexHandle index, out int efConstruction);

    [LibraryImport(Library, EntryPoint = "dss_faiss_IndexHNSW_set_efConstruction")]
    internal static partial int HnswSetEfConstruction(FaissIndexHandle index, int efConstruction);

    [LibraryImport(Library, EntryPoint = "dss_faiss_IndexIVF_direct_map_type")]
    internal static partial int IvfDirectMapType(FaissIndexHandle index, out int type);

    [LibraryImport(Library, EntryPoint = "dss_faiss_IndexIVF_make_direct_map")]
    internal static partial int IvfMakeDirectMap(FaissIndexHandle index);

    [LibraryImport(Library, EntryPoint = "dss_faiss_ParameterSpace_set_index_parameters", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SetIndexParameters(FaissIndexHandle index, string parameters);
}
