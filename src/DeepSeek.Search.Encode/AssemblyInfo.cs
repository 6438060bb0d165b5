using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("DeepSeek.Search.Encode.Tests")]
[assembly: InternalsVisibleTo("DeepSeek.Search.Train")] // BertModel.Affine / Activation for the masked-LM head
