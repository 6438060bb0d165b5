using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Rag.Tests;

/// <summary>Which model folder a collection answers and re-ranks with (the one rule the CLI and the service share).</summary>
public sealed class GeneratorPoolTests
{
    static string Model(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        return folder;
    }

    [Fact]
    public void A_collection_re_ranks_with_the_configured_model_else_its_reranker_folder_else_its_generator()
    {
        using var dir = new TempDir();
        string collection = Path.Combine(dir.Path, "c");
        Directory.CreateDirectory(collection);
        Assert.Null(GeneratorPool.ResolveReranker(null, collection));

        string generator = Model(Path.Combine(collection, GeneratorPool.CollectionFolderName));
        Assert.Equal(generator, GeneratorPool.ResolveReranker(null, collection));
        Assert.Equal(generator, GeneratorPool.Resolve(null, collection));

        Directory.CreateDirectory(Path.Combine(collection, GeneratorPool.RerankerFolderName)); // empty: not a model
        Assert.Equal(generator, GeneratorPool.ResolveReranker(null, collection));
        string reranker = Model(Path.Combine(collection, GeneratorPool.RerankerFolderName));
        Assert.Equal(reranker, GeneratorPool.ResolveReranker(null, collection));
        Assert.Equal(generator, GeneratorPool.Resolve(null, collection)); // answers keep the generator

        string configured = Model(Path.Combine(dir.Path, "elsewhere"));
        Assert.Equal(configured, GeneratorPool.ResolveReranker(configured, collection));
        using var pool = new GeneratorPool(configuredModel: configured);
        Assert.Equal(reranker, pool.RerankerFolderFor(collection)); // the collection's own re-ranker beats the configured generator
        using var pool2 = new GeneratorPool(configuredModel: configured, configuredReranker: configured);
        Assert.Equal(Path.GetFullPath(configured), pool2.RerankerFolderFor(collection));

        var e = Assert.Throws<InvalidInputException>(() => new GeneratorPool(configuredReranker: Path.Combine(dir.Path, "nowhere")));
        Assert.Equal("Generator:RerankModel", e.Setting);
    }
}
