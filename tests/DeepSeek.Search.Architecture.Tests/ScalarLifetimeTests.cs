using DeepSeek.Search.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Architecture.Tests;

/// <summary>No code in src/ hands TorchSharp a temporary <c>Scalar</c> (see <see cref="ScalarCalls"/> for why that can free
/// the Scalar's handle while libtorch reads it); tensor arithmetic goes through <c>DeepSeek.Search.Torch.Scalars</c>.</summary>
public class ScalarLifetimeTests
{
    [Fact]
    public void No_src_assembly_passes_TorchSharp_a_Scalar_that_nothing_keeps_alive()
    {
        // src/'s builds of this test run's configuration (bin/<Configuration>/<framework>/, as this assembly's own folder says)
        var own = new DirectoryInfo(Path.GetDirectoryName(typeof(ScalarLifetimeTests).Assembly.Location)!);
        string framework = own.Name, configuration = own.Parent!.Name;
        var assemblies = Directory.GetDirectories(Path.Combine(Repo.Root, "src"), "DeepSeek.Search.*")
            .Select(dir => Path.Combine(dir, "bin", configuration, framework, Path.GetFileName(dir) + ".dll"))
            .Where(File.Exists).ToList();
        Assert.True(assemblies.Count >= 15, $"found only {assemblies.Count} built src assemblies under src/*/bin/{configuration}/{framework} (build the solution first)");
        var sites = assemblies.SelectMany(a => ScalarCalls.Find(a).Select(s => $"{Path.GetFileNameWithoutExtension(a)}: {s}")).ToList();
        Assert.True(sites.Count == 0, $"{sites.Count} calls make a temporary TorchSharp Scalar:\n" + string.Join("\n", sites));
    }

    [Fact]
    public void The_scan_finds_each_kind_of_temporary_Scalar_and_accepts_ones_kept_in_fields()
    {
        var sites = ScalarCalls.Find(typeof(ScalarSamples).Assembly.Location)
            .Where(s => s.Method.Contains(nameof(ScalarSamples), StringComparison.Ordinal))
            .Select(s => s.Method[(s.Method.LastIndexOf('.') + 1)..]).Order().ToList();
        Assert.Equal(["BadAdd", "BadAddAlpha", "BadAddAlphaAgain", "BadMaskedFill", "BadRsub", "BadScale"], sites);
    }

    /// <summary>Compiled, never run: what the scan must report (Bad*) and accept (Good*).</summary>
    static class ScalarSamples
    {
        static readonly Scalar One = 1;
        public static Tensor BadAdd(Tensor a, Tensor b) => a + b;
        public static Tensor BadAddAlpha(Tensor a, Tensor b) => a.add(b);
        public static Tensor BadAddAlphaAgain(Tensor a, Tensor b) => a.add(b, 1f);
        public static Tensor BadScale(Tensor a) => a * 0.5f;
        public static Tensor BadRsub(Tensor a) => 1f - a;
        public static Tensor BadMaskedFill(Tensor a, Tensor m) => a.masked_fill(m, float.NegativeInfinity);
        public static Tensor GoodAdd(Tensor a, Tensor b) => a.add(b, One);
        public static Tensor GoodMul(Tensor a, Tensor b) => a * b;
        public static Tensor GoodSub(Tensor a, Tensor b) => a - b;
    }
}
