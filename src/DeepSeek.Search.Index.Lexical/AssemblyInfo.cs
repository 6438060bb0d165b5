using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("DeepSeek.Search.Index.Lexical.Tests")]
[assembly: InternalsVisibleTo("DeepSeek.Search.Benchmarks")]
