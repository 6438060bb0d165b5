using DeepSeek.Search.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Training;

/// <summary>Arithmetic of a training run's forward and backward passes (<c>--precision auto|fp32|bf16</c> of dss train and train-lm).</summary>
public enum TrainingPrecision
{
    /// <summary>bf16 on CUDA, fp32 on CPU.</summary>
    Auto,
    Float32,

    /// <summary>bf16 working copy of the weights for the passes, fp32 master weights and optimizer state.</summary>
    BFloat16,
}

/// <summary>
/// The prologue every training run starts with: libtorch initialised (before anything touches torch, so that the configured libtorch
/// is the one loaded), the CPU thread count, the device, and the compute precision that <see cref="TrainingPrecision.Auto"/> resolves to
/// there.
/// </summary>
public sealed record TrainingRuntime(Device Device, ScalarType Compute)
{
    /// <summary>Initialises libtorch, applies <paramref name="threads"/> and resolves <paramref name="device"/> and <paramref name="precision"/>.</summary>
    public static TrainingRuntime Start(string device, int? threads, TrainingPrecision precision)
    {
        TorchRuntime.Initialize();
        if (threads is int t) TorchRuntime.SetThreads(t);
        var resolved = TorchRuntime.ResolveDevice(device);
        var compute = precision switch
        {
            TrainingPrecision.Float32 => ScalarType.Float32,
            TrainingPrecision.BFloat16 => ScalarType.BFloat16,
            _ => resolved.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        };
        return new TrainingRuntime(resolved, compute);
    }

    public bool BFloat16 => Compute == ScalarType.BFloat16;

    /// <summary>"bf16" or "fp32", as results and progress lines name the precision.</summary>
    public string PrecisionName => BFloat16 ? "bf16" : "fp32";

    /// <summary>The device type in lower case ("cpu", "cuda"), as the "training N step(s) …" line names it.</summary>
    public string DeviceKind => Device.type.ToString().ToLowerInvariant();
}
