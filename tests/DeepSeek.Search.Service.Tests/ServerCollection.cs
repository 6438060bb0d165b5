namespace DeepSeek.Search.Service.Tests;

/// <summary>The test classes that share one server.</summary>
[CollectionDefinition("server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
