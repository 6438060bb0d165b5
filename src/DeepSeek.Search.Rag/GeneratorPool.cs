using System.Collections.Concurrent;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Rerank;

namespace DeepSeek.Search.Rag;

/// <summary>
/// The generators a process answers and re-ranks with, loaded once per model folder and shared (a generator runs one
/// generation at a time; the query-likelihood scorer over it one batch at a time). Which folder a collection uses:
/// the configured one, else the collection's own <c>generator/</c> folder (<see cref="CollectionDefault"/>: where
/// <c>dss train-lm --out indexes/C/generator</c> puts a small model trained on the collection), else none.
/// </summary>
public sealed class GeneratorPool : IDisposable
{
    /// <summary>The folder, inside a collection's folder, of the generator trained on it.</summary>
    public const string CollectionFolderName = "generator";

    /// <summary>The folder, inside a collection's folder, of the re-ranker trained for it (<c>dss train-reranker --out INDEX_ROOT/C/reranker</c>).</summary>
    public const string RerankerFolderName = "reranker";

    readonly ConcurrentDictionary<string, Lazy<(DeepSeekGenerator Generator, IPassageScorer Scorer)>> _loaded = new(StringComparer.Ordinal);
    readonly DeepSeekModelOptions _options;
    bool _disposed;

    public GeneratorPool(string? configuredModel = null, DeepSeekModelOptions? options = null, string? configuredReranker = null)
    {
        ConfiguredModel = string.IsNullOrWhiteSpace(configuredModel) ? null : Path.GetFullPath(RequireModel(configuredModel, "Generator:Model"));
        ConfiguredReranker = string.IsNullOrWhiteSpace(configuredReranker) ? null : Path.GetFullPath(RequireModel(configuredReranker, "Generator:RerankModel"));
        _options = options ?? new DeepSeekModelOptions();
    }

    /// <summary><paramref name="folder"/> when it holds a model (config.json); else an error naming it and <paramref name="setting"/>.</summary>
    public static string RequireModel(string folder, string setting) =>
        DeepSeekCheckpoint.IsModelFolder(folder) ? folder
            : throw new InvalidInputException($"generator folder '{folder}' has no config.json (a DeepSeek Hugging Face folder, e.g. from dss train-lm --out DIR, or a PEFT adapter folder over one)") { Setting = setting };

    /// <summary>
    /// The one rule for which generator a collection uses: <paramref name="configured"/> (checked) when given, else the
    /// collection's own <c>generator/</c> folder when it holds a model, else null.
    /// </summary>
    public static string? Resolve(string? configured, string collectionDirectory, string setting = "model")
    {
        if (!string.IsNullOrWhiteSpace(configured)) return RequireModel(configured, setting);
        string own = CollectionDefault(collectionDirectory);
        return DeepSeekCheckpoint.IsModelFolder(own) ? own : null;
    }

    /// <summary>
    /// The one rule for which model a collection re-ranks with: <paramref name="configured"/> (checked) when given, else the
    /// collection's own <c>reranker/</c> folder when it holds a model, else its generator (<paramref name="generator"/>, the
    /// configured one, else <see cref="Resolve"/>'s).
    /// </summary>
    public static string? ResolveReranker(string? configured, string collectionDirectory, string? generator = null, string setting = "model")
    {
        if (!string.IsNullOrWhiteSpace(configured)) return RequireModel(configured, setting);
        string own = Path.Combine(collectionDirectory, RerankerFolderName);
        return DeepSeekCheckpoint.IsModelFolder(own) ? own : generator ?? Resolve(null, collectionDirectory);
    }

    /// <summary>The model folder every collection uses, when configured.</summary>
    public string? ConfiguredModel { get; }

    /// <summary>The re-ranking model folder every collection uses, when configured (else <see cref="RerankerFolderFor"/>'s rule).</summary>
    public string? ConfiguredReranker { get; }

    /// <summary>The re-ranking model folder for the collection at <paramref name="collectionDirectory"/>, or null when there is none.</summary>
    public string? RerankerFolderFor(string collectionDirectory) => ResolveReranker(ConfiguredReranker, collectionDirectory, ConfiguredModel);

    /// <summary>Where a collection's own generator lives: <c>COLLECTION_DIR/generator</c>.</summary>
    public static string CollectionDefault(string collectionDirectory) => Path.Combine(collectionDirectory, CollectionFolderName);

    /// <summary>The model folder for the collection at <paramref name="collectionDirectory"/>, or null when there is none.</summary>
    public string? FolderFor(string collectionDirectory) => ConfiguredModel ?? Resolve(null, collectionDirectory);

    /// <summary>The generator of <paramref name="folder"/>, loaded on first use.</summary>
    public DeepSeekGenerator Generator(string folder) => Load(folder).Generator;

    /// <summary>The re-ranking scorer of <paramref name="folder"/>'s model: pointwise for a dss train-reranker folder, else query likelihood.</summary>
    public IPassageScorer Scorer(string folder) => Load(folder).Scorer;

    (DeepSeekGenerator Generator, IPassageScorer Scorer) Load(string folder)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string key = Path.GetFullPath(folder);
        var lazy = _loaded.GetOrAdd(key, k => new Lazy<(DeepSeekGenerator, IPassageScorer)>(() =>
        {
            var g = DeepSeekGenerator.Load(k, _options);
            try { return (g, RerankerModel.Scorer(g, k)); }
            catch { g.Dispose(); throw; }
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        try { return lazy.Value; }
        catch
        {
            _loaded.TryRemove(new KeyValuePair<string, Lazy<(DeepSeekGenerator, IPassageScorer)>>(key, lazy));
            throw;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var lazy in _loaded.Values)
            if (lazy.IsValueCreated) lazy.Value.Generator.Dispose();
        _loaded.Clear();
    }
}
