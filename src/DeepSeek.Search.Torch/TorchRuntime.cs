using System.Runtime.InteropServices;
using DeepSeek.Search.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Torch;

/// <summary>
/// Process-wide libtorch set-up, done once before the first tensor (every type of this assembly calls <see cref="Initialize"/>).
/// <para>
/// By default TorchSharp uses the libtorch bundled with the app (the TorchSharp-cpu package: CPU only). When the environment variable
/// <c>DSS_LIBTORCH</c> names a folder of libtorch shared libraries — typically a PyTorch install's <c>torch/lib</c> — those are loaded
/// instead: <c>libc10</c>, <c>libtorch_cpu</c>, <c>libc10_cuda</c>, <c>libtorch_cuda</c> (the CUDA ones skipped when the folder has none)
/// and <c>libtorch</c>, then the app's own <c>libLibTorchSharp.so</c>, which binds to them, and TorchSharp's P/Invokes are resolved to
/// these handles. The app must then be built without the bundled CPU libtorch (<c>-p:TorchSharpBackend=none</c>): TorchSharp's static
/// constructor loads <c>torch_cpu</c> from the app's folders by path, and two libtorch copies in one process abort; a build that has one
/// is refused with a clear error.
/// TorchSharp 0.107 is built against libtorch 2.10; it was checked with PyTorch 2.11.0+cu130 on an H100 (CUDA, the BERT golden outputs
/// within 2e-6) and with the libtorch 2.10 CPU package. Other versions may fail to load.
/// </para>
/// <para>
/// CPU threads: <c>DSS_TORCH_THREADS</c> if set, else <see cref="Environment.ProcessorCount"/> (which honours container CPU limits);
/// inter-op threads are set to 1 (the encoder runs one forward pass at a time).
/// </para>
/// <para>
/// oneDNN's primitive cache: libtorch runs GELU through oneDNN, which caches one primitive per input shape, and each cached primitive
/// kept several MB resident (measured: 5–11 MB with a 2 × 128 and a 6 × 384 BERT). Its default capacity of 1,024 shapes let a build's
/// memory creep up by a gigabyte as batches of new sequence lengths came by, so unless <c>ONEDNN_PRIMITIVE_CACHE_CAPACITY</c> (or the
/// older <c>DNNL_PRIMITIVE_CACHE_CAPACITY</c>) is set, it is set to <see cref="OneDnnCacheCapacity"/> before libtorch runs anything (Linux).
/// </para>
/// <para>
/// OpenMP waiting: libtorch's OpenMP threads spin for a while after each parallel operation by default, holding the cores
/// that the INT8 encoder's kernel threads, the managed thread pool (a server's requests) and any other runtime need next; so
/// unless <c>OMP_WAIT_POLICY</c> or <c>GOMP_SPINCOUNT</c> is set, <c>OMP_WAIT_POLICY=PASSIVE</c> is (Linux): idle threads sleep
/// at once. Measured on the 2-core machine (`make bench SUITES=encode` with and without <c>OMP_WAIT_POLICY=ACTIVE</c>, MiniLM
/// 32 × 128, before FusedAttention): the INT8 encoder went from 1.22× to 1.84× ONNX Runtime fp32, the float32 one was
/// unchanged within its spread.
/// </para>
/// <para>
/// Large CPU tensors: libtorch takes each tensor's memory from malloc. glibc serves blocks above its mmap threshold with fresh
/// mappings and returns free memory at the top of the heap to the kernel past its trim threshold; its dynamic thresholds let
/// an encoder's activations (a 32 × 128 batch of MiniLM allocates 6–25 MB per op) bounce between the two, so every forward
/// pass faulted its pages in again (1.35 M minor faults in a 14-batch run). Unless the environment tunes malloc
/// (<c>GLIBC_TUNABLES</c> with <c>glibc.malloc.*</c>, <c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c>), the mmap
/// threshold is set to <see cref="MmapThresholdBytes"/> and the trim threshold to <see cref="TrimThresholdBytes"/> (Linux): blocks up
/// to 32 MiB are reused from the heap, and up to 256 MiB of free heap stays mapped. Measured with MiniLM 32 × 128 against ONNX Runtime
/// fp32 in alternating rounds (ONNX Runtime keeps its own arena, so is unaffected): 0.84× without, 0.95× with (minor faults 1.35 M →
/// 0.25 M).
/// </para>
/// </summary>
public static class TorchRuntime
{
    /// <summary>Environment variable naming a folder of libtorch shared libraries (e.g. <c>.../site-packages/torch/lib</c>).</summary>
    public const string LibTorchVariable = "DSS_LIBTORCH";

    /// <summary>Environment variable overriding the number of CPU threads libtorch uses.</summary>
    public const string ThreadsVariable = "DSS_TORCH_THREADS";

    /// <summary>oneDNN's environment variable for its primitive cache size (see the type remarks).</summary>
    public const string OneDnnCacheVariable = "ONEDNN_PRIMITIVE_CACHE_CAPACITY";

    /// <summary>The oneDNN primitive cache capacity set when the environment does not choose one.</summary>
    public const int OneDnnCacheCapacity = 16;

    static readonly object Gate = new();
    static volatile bool _initialized;
    static readonly Dictionary<string, IntPtr> Preloaded = new(StringComparer.Ordinal);

    /// <summary>The <c>DSS_LIBTORCH</c> folder in use, or null when the bundled libtorch is used.</summary>
    public static string? LibTorchDirectory { get; private set; }

    /// <summary>Number of CPU threads libtorch was told to use.</summary>
    public static int Threads { get; private set; }

    /// <summary>Loads the native libraries (see the type remarks) and sets CPU threads. Idempotent and thread-safe.</summary>
    public static void Initialize()
    {
        if (_initialized) return;
        lock (Gate)
        {
            if (_initialized) return;
            int threads = Environment.ProcessorCount;
            string? env = Environment.GetEnvironmentVariable(ThreadsVariable);
            if (!string.IsNullOrWhiteSpace(env) && (!int.TryParse(env, out threads) || threads < 1))
                throw new InvalidInputException($"{ThreadsVariable}='{env}' is not a positive number of threads");

            BoundOneDnnCache();
            PassiveOpenMpWait();
            KeepLargeBlocks();
            string? dir = Environment.GetEnvironmentVariable(LibTorchVariable);
            if (!string.IsNullOrWhiteSpace(dir) && LibTorchDirectory == null) LoadFrom(dir);

            try { torch.set_num_interop_threads(1); }
            catch (Exception) { /* can only be set before the first parallel work; harmless if someone else did it first */ }
            torch.set_num_threads(threads);
            Threads = threads;
            _initialized = true;
        }
    }

    // oneDNN reads the variable with getenv when it first creates a primitive, so it has to be in the native environment
    // (Environment.SetEnvironmentVariable changes only .NET's copy on Unix).
    static void BoundOneDnnCache()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable(OneDnnCacheVariable) != null || Environment.GetEnvironmentVariable("DNNL_PRIMITIVE_CACHE_CAPACITY") != null) return;
        if (SetEnv(OneDnnCacheVariable, OneDnnCacheCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture), 0) != 0)
            throw new InvalidOperationException($"setenv({OneDnnCacheVariable}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>The OpenMP wait policy set when the environment does not choose one (see the type remarks).</summary>
    public const string OpenMpWaitPolicy = "PASSIVE";

    // libgomp (libtorch's OpenMP) reads OMP_WAIT_POLICY when it is loaded, which Initialize does after this.
    static void PassiveOpenMpWait()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") != null || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") != null) return;
        if (SetEnv("OMP_WAIT_POLICY", OpenMpWaitPolicy, 0) != 0)
            throw new InvalidOperationException($"setenv(OMP_WAIT_POLICY) failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>glibc's mmap threshold set when the environment does not tune malloc (see the type remarks): 32 MiB, its maximum on 64-bit.</summary>
    public const int MmapThresholdBytes = 32 << 20;

    /// <summary>glibc's trim threshold set alongside <see cref="MmapThresholdBytes"/>: free memory at the top of the heap kept for reuse.</summary>
    public const int TrimThresholdBytes = 256 << 20;

    // glibc's mallopt parameters (malloc.h)
    const int MallocTrimThreshold = -1, MallocMmapThreshold = -3;

    static void KeepLargeBlocks()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is { } tunables && tunables.Contains("glibc.malloc.", StringComparison.Ordinal)) return;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") != null || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") != null) return;
        // Only speed depends on it: a C library that is not glibc (no such entry point) or refuses a value keeps its own policy.
        try
        {
            if (MallOpt(MallocMmapThreshold, MmapThresholdBytes) == 1) _ = MallOpt(MallocTrimThreshold, TrimThresholdBytes);
        }
        catch (EntryPointNotFoundException) { }
        catch (DllNotFoundException) { }
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    static extern int MallOpt(int parameter, int value);

    [DllImport("libc.so.6", EntryPoint = "setenv", SetLastError = true)]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>Changes the number of CPU threads libtorch uses for one operation.</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new InvalidInputException($"thread count must be positive (got {threads})");
        Initialize();
        torch.set_num_threads(threads);
        Threads = threads;
    }

    /// <summary>Loads libtorch from <paramref name="dir"/> (the DSS_LIBTORCH path); internal for tests of its checks.</summary>
    internal static void LoadFrom(string dir)
    {
        if (!Directory.Exists(dir))
            throw new InvalidInputException($"{LibTorchVariable}='{dir}' is not a folder (point it at a libtorch lib folder, e.g. .../site-packages/torch/lib)");
        if (!OperatingSystem.IsLinux())
            throw new InvalidInputException($"{LibTorchVariable} is supported on Linux only");

        // order matters: each library's dependencies first, so that they resolve to these copies by soname
        (string Name, bool Required)[] libraries =
        {
            ("libc10.so", true), ("libtorch_cpu.so", true), ("libc10_cuda.so", false), ("libtorch_cuda.so", false), ("libtorch.so", true),
        };
        foreach (var (name, required) in libraries)
            if (required && !File.Exists(Path.Combine(dir, name)))
                throw new InvalidInputException($"{LibTorchVariable}='{dir}' has no {name}: not a libtorch lib folder");
        if (FindBundledLibTorch(dir) is string bundled)
            throw new InvalidInputException(
                $"{LibTorchVariable} is set but this build carries its own libtorch ({bundled}); TorchSharp would load both, which aborts. " +
                "Build or publish with -p:TorchSharpBackend=none to use an external libtorch, or unset " + LibTorchVariable);
        foreach (var (name, _) in libraries)
        {
            string path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue;
            try { Preloaded[name] = NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { throw new InvalidInputException($"{LibTorchVariable}: cannot load {path}: {e.Message}", e); }
        }

        string sharp = FindLibTorchSharp()
            ?? throw new InvalidInputException($"{LibTorchVariable}: libLibTorchSharp.so not found beside the application ({AppContext.BaseDirectory})");
        IntPtr sharpHandle;
        try { sharpHandle = NativeLibrary.Load(sharp); }
        catch (DllNotFoundException e)
        {
            throw new InvalidInputException($"{LibTorchVariable}: cannot load {sharp} against the libtorch in {dir} (is it libtorch 2.10?): {e.Message}", e);
        }

        // TorchSharp loads "torch_cpu"/"torch_cuda" and "LibTorchSharp" by name; answer with the handles above so that the bundled
        // CPU libtorch is not loaded a second time beside them.
        IntPtr cpu = Preloaded["libtorch_cpu.so"];
        IntPtr cuda = Preloaded.TryGetValue("libtorch_cuda.so", out var c) ? c : cpu;
        NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, (name, _, _) => name switch
        {
            "LibTorchSharp" or "libLibTorchSharp" or "libLibTorchSharp.so" => sharpHandle,
            "torch_cpu" or "libtorch_cpu" or "libtorch_cpu.so" => cpu,
            "torch_cuda" or "libtorch_cuda" or "libtorch_cuda.so" => cuda,
            _ => IntPtr.Zero,
        });
        LibTorchDirectory = Path.GetFullPath(dir);
    }

    /// <summary>
    /// A libtorch_cpu.so that TorchSharp's loader would find in the app's native search folders (other than <paramref name="dir"/>):
    /// TorchSharp's static constructor loads "torch_cpu" by name from those folders before anything can stop it.
    /// </summary>
    internal static string? FindBundledLibTorch(string dir)
    {
        string external = Path.GetFullPath(dir).TrimEnd('/');
        var folders = (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(AppContext.BaseDirectory)
            .Append(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"));
        foreach (var folder in folders)
        {
            string candidate = Path.Combine(folder, "libtorch_cpu.so");
            if (Path.GetFullPath(folder).TrimEnd('/') != external && File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        return null;
    }

    static string? FindLibTorchSharp()
    {
        string[] roots = { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(TorchRuntime).Assembly.Location) ?? AppContext.BaseDirectory };
        foreach (var root in roots.Distinct())
        {
            foreach (var candidate in new[] { Path.Combine(root, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), Path.Combine(root, "libLibTorchSharp.so") })
                if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Whether libtorch can use a CUDA device.</summary>
    public static bool CudaAvailable
    {
        get
        {
            Initialize();
            try { return torch.cuda.is_available(); }
            catch (Exception) { return false; }
        }
    }

    /// <summary>
    /// A device from a user setting: null/empty or <c>"cpu"</c>; <c>"cuda"</c> or <c>"cuda:N"</c> (an error when CUDA is not available);
    /// <c>"auto"</c> = CUDA when available, else CPU.
    /// </summary>
    public static Device ResolveDevice(string? spec)
    {
        Initialize();
        string s = (spec ?? "").Trim().ToLowerInvariant();
        switch (s)
        {
            case "" or "cpu":
                return torch.CPU;
            case "auto":
                return CudaAvailable ? torch.CUDA : torch.CPU;
        }
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (s.Length > 4 && (!int.TryParse(s.AsSpan(5), out index) || index < 0))
                throw new InvalidInputException($"device '{spec}': expected cuda:N with N a device number");
            if (!CudaAvailable)
                throw new InvalidInputException(
                    $"device '{spec}' requested but CUDA is not available (bundled libtorch is CPU-only; set {LibTorchVariable} to a CUDA PyTorch's torch/lib folder)");
            int count = (int)torch.cuda.device_count();
            if (index >= count) throw new InvalidInputException($"device '{spec}': only {count} CUDA device(s)");
            return torch.device(DeviceType.CUDA, index);
        }
        throw new InvalidInputException($"unknown device '{spec}' (use auto, cpu, cuda or cuda:N)");
    }

    /// <summary>One line on the runtime in use, for logs and benchmark reports.</summary>
    public static string Describe()
    {
        Initialize();
        string lib = LibTorchDirectory != null ? $"libtorch from {LibTorchDirectory}" : "bundled libtorch";
        return $"TorchSharp {typeof(torch).Assembly.GetName().Version} ({lib}), {Threads} CPU threads, CUDA {(CudaAvailable ? $"yes ({torch.cuda.device_count()} device(s))" : "no")}";
    }
}
