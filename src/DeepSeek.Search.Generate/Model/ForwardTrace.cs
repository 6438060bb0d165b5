using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>The experts chosen for each token by one MoE layer.</summary>
/// <param name="Indices">Expert ids [N, K], each row sorted by expert id (N = batch · new tokens, row-major).</param>
/// <param name="Weights">The matching routed weights [N, K] (routed scaling included).</param>
/// <param name="K">Experts per token.</param>
public sealed record LayerRoutes(long[] Indices, float[] Weights, int K)
{
    public int Tokens => Indices.Length / K;
}

/// <summary>
/// Optional recorder for <see cref="DeepSeekModel.Forward"/>: the embeddings, each decoder layer's output, the final-norm output
/// (float32 copies on the CPU, [B, T, H] row-major) and the routing of every MoE layer — what HF forward hooks capture, for comparing
/// with reference activations and for inspecting expert load.
/// </summary>
public sealed class ForwardTrace : IMoeObserver
{
    readonly Dictionary<int, LayerRoutes> _routes = new();
    readonly List<float[]> _layers = new();

    public float[]? Embeddings { get; private set; }
    public IReadOnlyList<float[]> LayerOutputs => _layers;
    public float[]? FinalNorm { get; private set; }

    /// <summary>Routing by decoder-layer index (MoE layers only).</summary>
    public IReadOnlyDictionary<int, LayerRoutes> Routes => _routes;

    internal void OnEmbeddings(Tensor x) => Embeddings = ToArray(x);
    internal void OnLayer(Tensor x) => _layers.Add(ToArray(x));
    internal void OnFinalNorm(Tensor x) => FinalNorm = ToArray(x);

    void IMoeObserver.OnRouted(int layer, RoutingDecision routing, Tensor scores, long[] tokensPerExpert)
    {
        using var scope = NewDisposeScope();
        var (sorted, order) = routing.Indices.sort(-1);
        var weights = routing.Weights.gather(1, order);
        _routes[layer] = new LayerRoutes(sorted.cpu().data<long>().ToArray(), ToArray(weights), (int)routing.Indices.size(1));
    }

    static float[] ToArray(Tensor t)
    {
        using var cpu = t.detach().to(ScalarType.Float32, CPU).contiguous();
        return cpu.data<float>().ToArray();
    }
}
