using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>A fact that runs only where <c>python3 -c "import faiss"</c> works (TestKit's <see cref="PythonRunner"/>); skipped (with the reason) elsewhere.</summary>
public sealed class PythonFaissFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Unavailable = new(() => PythonRunner.Missing("faiss, numpy"));

    public PythonFaissFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = reason;
    }
}
