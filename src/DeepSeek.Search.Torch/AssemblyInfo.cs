using System.Runtime.CompilerServices;

// TorchRuntimeTests (in the encoder tests, which load libtorch the way dss does) call the loader's internal steps
[assembly: InternalsVisibleTo("DeepSeek.Search.Encode.Tests")]
