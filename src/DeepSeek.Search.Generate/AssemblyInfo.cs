using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("DeepSeek.Search.Generate.Tests")]
[assembly: InternalsVisibleTo("DeepSeek.Search.Benchmarks")]
