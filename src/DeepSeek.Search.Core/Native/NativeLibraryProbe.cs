using System.Reflection;
using System.Runtime.InteropServices;

namespace DeepSeek.Search.Core.Native;

/// <summary>
/// The one way our own native libraries (native/build/libdss_*.so, copied next to every assembly that references their
/// project) are found: beside the application, then beside the assembly asking, then in <c>$DSS_NATIVE_DIR</c>; else the
/// runtime's default probing.
/// </summary>
public static class NativeLibraryProbe
{
    /// <summary>
    /// A <see cref="DllImportResolver"/> for the library called <paramref name="name"/> (e.g. <c>dss_faiss</c> for
    /// libdss_faiss.so); other names are left to the runtime. Register it once per assembly with
    /// <see cref="NativeLibrary.SetDllImportResolver"/>.
    /// </summary>
    public static DllImportResolver For(string name) => (libraryName, assembly, _) => libraryName == name ? Find(name, assembly) : IntPtr.Zero;

    static IntPtr Find(string name, Assembly assembly)
    {
        string fileName = OperatingSystem.IsWindows() ? name + ".dll" : OperatingSystem.IsMacOS() ? $"lib{name}.dylib" : $"lib{name}.so";
        string?[] directories = [AppContext.BaseDirectory, Path.GetDirectoryName(assembly.Location), Environment.GetEnvironmentVariable("DSS_NATIVE_DIR")];
        foreach (var directory in directories)
        {
            if (string.IsNullOrEmpty(directory)) continue;
            string candidate = Path.Combine(directory, fileName);
            // Load (not TryLoad): a present but unloadable library (a missing dependency, ...) reports the loader's reason.
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        }
        return IntPtr.Zero;
    }
}
