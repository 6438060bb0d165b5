using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>
/// Which keys each query of one forward pass may attend: <see cref="Allowed"/> [B, 1, T, P+T] (causal and not padding), and whether
/// no row of the batch has padding (<see cref="Unpadded"/>, known on the host: no mask given, or a host mask of ones, for these tokens
/// and every cached one). Unpadded passes run a fused attention kernel, which needs no mask tensor where the pattern is plain causal
/// (MultiHeadLatentAttention.FusedProduct); a padded pass keeps the eager softmax, whose fully masked rows (left padding) stay finite.
/// </summary>
internal readonly record struct AttentionMask(Tensor Allowed, bool Unpadded);
