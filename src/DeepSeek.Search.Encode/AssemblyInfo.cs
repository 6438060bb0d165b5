using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("DeepSeek.Search.Encode.Tests")]
