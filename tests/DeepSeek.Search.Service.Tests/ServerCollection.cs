namespace DeepSeek.Search.Service.Tests;

/// <summary>The test classes that share one server.</summary>
[CollectionDefinition("server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;

/// <summary>
/// The tests that train and run the tiny generator in this process (AskTests, InteropClientTests): run alone, so the
/// training's tensor churn never overlaps other tests' TorchSharp work in the same process.
/// </summary>
[CollectionDefinition("generator", DisableParallelization = true)]
public sealed class GeneratorCollection;
