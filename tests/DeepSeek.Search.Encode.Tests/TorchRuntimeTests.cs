using System.Runtime.InteropServices;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using TorchSharp;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Encode.Tests;

public class TorchRuntimeTests
{
    [Fact]
    public void Cpu_always_resolves()
    {
        TorchRuntime.Initialize();
        Assert.True(TorchRuntime.Threads >= 1);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice(null).type);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice(" CPU ").type);
        var auto = TorchRuntime.ResolveDevice("auto");
        Assert.Equal(TorchRuntime.CudaAvailable ? DeviceType.CUDA : DeviceType.CPU, auto.type);
        Assert.Contains("TorchSharp", TorchRuntime.Describe());
    }

    [Fact]
    public void OneDnn_primitive_cache_is_bounded_in_the_native_environment()
    {
        TorchRuntime.Initialize();
        if (!OperatingSystem.IsLinux()) return;
        // what oneDNN's getenv sees: ours, unless the environment chose a capacity itself
        string? chosen = Environment.GetEnvironmentVariable(TorchRuntime.OneDnnCacheVariable);
        string? native = Marshal.PtrToStringUTF8(GetEnv(TorchRuntime.OneDnnCacheVariable));
        if (chosen != null) Assert.Equal(chosen, native);
        else if (Environment.GetEnvironmentVariable("DNNL_PRIMITIVE_CACHE_CAPACITY") == null)
            Assert.Equal(TorchRuntime.OneDnnCacheCapacity.ToString(), native);
    }

    [DllImport("libc.so.6", EntryPoint = "getenv")]
    static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [Fact]
    public void Bad_device_names_are_rejected()
    {
        Assert.Throws<InvalidInputException>(() => TorchRuntime.ResolveDevice("gpu"));
        Assert.Throws<InvalidInputException>(() => TorchRuntime.ResolveDevice("cuda:x"));
        Assert.Throws<InvalidInputException>(() => TorchRuntime.ResolveDevice("cuda:-1"));
        if (!TorchRuntime.CudaAvailable)
        {
            var e = Assert.Throws<InvalidInputException>(() => TorchRuntime.ResolveDevice("cuda"));
            Assert.Contains(TorchRuntime.LibTorchVariable, e.Message);
        }
        else
        {
            Assert.Throws<InvalidInputException>(() => TorchRuntime.ResolveDevice("cuda:999"));
        }
    }

    [Fact]
    public void Libtorch_folder_is_checked_before_loading_anything()
    {
        var e = Assert.Throws<InvalidInputException>(() => TorchRuntime.LoadFrom("/nonexistent/torch/lib"));
        Assert.Contains("not a folder", e.Message);
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("libc10.so"), "not really");
        e = Assert.Throws<InvalidInputException>(() => TorchRuntime.LoadFrom(tmp.Path));
        Assert.Contains("libtorch_cpu.so", e.Message);

        // this test build carries the bundled CPU libtorch: an external one is refused before anything is loaded
        File.WriteAllText(tmp.File("libtorch_cpu.so"), "not really");
        File.WriteAllText(tmp.File("libtorch.so"), "not really");
        Assert.NotNull(TorchRuntime.FindBundledLibTorch(tmp.Path));
        e = Assert.Throws<InvalidInputException>(() => TorchRuntime.LoadFrom(tmp.Path));
        Assert.Contains("TorchSharpBackend=none", e.Message);
    }

    [Fact]
    public void Thread_count_must_be_positive()
    {
        Assert.Throws<InvalidInputException>(() => TorchRuntime.SetThreads(0));
    }
}
