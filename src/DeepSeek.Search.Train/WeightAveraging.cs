using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>
/// Weight-space interpolation between a fine-tuned encoder and the one it started from, θ = w·θ_init + (1 − w)·θ_tuned
/// (WiSE-FT, Wortsman et al., CVPR 2022): a cheap way to keep a pretrained model's robustness when the fine-tuning signal is
/// weak (self-supervised pseudo-pairs). Both folders must hold the same architecture; the result replaces the tuned weights.
/// </summary>
public static class WeightAveraging
{
    /// <summary>Rewrites the <c>model.safetensors</c> in <paramref name="tunedDir"/> as the interpolation with <paramref name="initDir"/>.</summary>
    public static void Interpolate(string tunedDir, string initDir, double initWeight)
    {
        if (!(initWeight >= 0 && initWeight <= 1)) throw new InvalidInputException($"--init-weight must be in [0, 1] (got {initWeight})");
        using var tuned = BertCheckpoint.Load(tunedDir);
        using var init = BertCheckpoint.Load(initDir);
        if (tuned.Config with { InitializerRange = 0 } != init.Config with { InitializerRange = 0 })
            throw new CheckpointException($"{initDir}: not the architecture of the trained model in {tunedDir}; cannot interpolate their weights");
        var source = init.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var (name, p) in tuned.named_parameters())
            {
                if (!source.TryGetValue(name, out var q))
                    throw new CheckpointException($"{initDir}: has no '{name}' (the trained model has a pooler it lacks, or the reverse)");
                Scalars.With(1 - initWeight, initWeight, (keep, take) => p.mul_(keep).add_(q, alpha: take));
            }
        }
        BertCheckpoint.Save(tuned, tunedDir);
    }
}
