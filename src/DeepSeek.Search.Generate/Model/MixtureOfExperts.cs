using DeepSeek.Search.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Generate;

/// <summary>The routing of N tokens: expert ids [N, K] (int64) and their float32 weights [N, K] (routed scaling included).</summary>
public sealed record RoutingDecision(Tensor Indices, Tensor Weights);

/// <summary>
/// The MoE router (HF <c>gate</c>): logits = X_f32·W_f32ᵀ, always in float32.
/// <list type="bullet">
/// <item>V3 (<c>noaux_tc</c>, HF <c>DeepseekV3MoE.route_tokens_to_experts</c>, official <c>Gate</c>): s = sigmoid(logits); selection
/// scores s + <c>e_score_correction_bias</c>; group score = sum of the top-2 selection scores of each of <c>n_group</c> groups; the
/// <c>topk_group</c> best groups are kept and the other experts' scores set to −inf (HF main and the official code; older HF filled
/// 0.0, which agrees whenever every score is positive); top-K; weights = s (bias-free) at the chosen experts, divided by their sum
/// + 1e-20 with <c>norm_topk_prob</c>, times <c>routed_scaling_factor</c>.</item>
/// <item>V2 (HF <c>DeepseekV2Moe.route_tokens_to_experts</c>): s = softmax(logits); <c>greedy</c> = top-K of s;
/// <c>group_limited_greedy</c> = group score is the max of the group, the other groups' scores set to 0.0, top-K; weights = s·scaling.
/// HF V2 never renormalises (the original remote code normalised only with <c>norm_topk_prob</c> and K &gt; 1; every released V2
/// config has it false), so neither does this.</item>
/// </list>
/// The correction bias is a float32 buffer (HF keeps it in fp32 whatever the model dtype).
/// </summary>
internal sealed class MoeRouter : ParameterBlock
{
    readonly DeepSeekVersion _version;
    readonly string _method;
    readonly int _experts, _topK, _groups, _keepGroups;
    readonly bool _normalize;
    readonly double _scaling;

    public MoeRouter(DeepSeekConfig c, Placement placement) : base("Gate")
    {
        _version = c.Version;
        _method = c.TopkMethod;
        _experts = c.NRoutedExperts;
        _topK = c.NumExpertsPerTok;
        _groups = c.NGroup ?? 1;
        _keepGroups = c.TopkGroup ?? _groups;
        _normalize = c.NormTopkProb && c.Version == DeepSeekVersion.V3;
        _scaling = c.RoutedScalingFactor;
        Weight = AddParameter("weight", new long[] { _experts, c.HiddenSize }, placement);
        if (_version == DeepSeekVersion.V3)
        {
            CorrectionBias = zeros(_experts, ScalarType.Float32, placement.Device);
            register_buffer("e_score_correction_bias", CorrectionBias);
        }
    }

    public Parameter Weight { get; }

    /// <summary>V3's <c>e_score_correction_bias</c> [E] (float32); null for V2.</summary>
    public Tensor? CorrectionBias { get; }

    /// <summary>Routes x [N, H]; also returns the float32 router probabilities [N, E] (sigmoid or softmax) for balance losses.</summary>
    public (RoutingDecision Decision, Tensor Scores) Route(Tensor x)
    {
        using var scope = NewDisposeScope();
        var logits = F.linear(x.to(ScalarType.Float32), Weight.to(ScalarType.Float32));
        long n = logits.size(0);
        Tensor scores, indices;
        if (_version == DeepSeekVersion.V3)
        {
            scores = logits.sigmoid();
            var choice = scores.Plus(CorrectionBias!);
            if (_groups > 1)
            {
                var grouped = choice.view(n, _groups, _experts / _groups);
                var groupScores = grouped.topk(2, dim: -1).values.sum(-1);
                choice = MaskGroups(choice, groupScores, n, float.NegativeInfinity);
            }
            indices = choice.topk(_topK, dim: -1, sorted: false).indexes;
        }
        else
        {
            scores = logits.softmax(-1, ScalarType.Float32);
            var choice = scores;
            if (_method == "group_limited_greedy" && _groups > 1)
            {
                var groupScores = scores.view(n, _groups, _experts / _groups).max(-1).values;
                choice = MaskGroups(scores, groupScores, n, 0.0f);
            }
            indices = choice.topk(_topK, dim: -1, sorted: false).indexes;
        }
        var weights = scores.gather(1, indices);
        if (_normalize) weights = weights / weights.sum(-1, keepdim: true).Plus(1e-20);
        weights = weights.Times(_scaling);
        return (new RoutingDecision(indices.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope()), scores.MoveToOuterDisposeScope());
    }

    Tensor MaskGroups(Tensor choice, Tensor groupScores, long n, float fill)
    {
        var keptGroups = groupScores.topk(_keepGroups, dim: -1, sorted: false).indexes;
        var groupMask = zeros_like(groupScores, dtype: ScalarType.Bool).scatter_(1, keptGroups, ones_like(keptGroups, dtype: ScalarType.Bool));
        var expertMask = groupMask.unsqueeze(-1).expand(n, _groups, _experts / _groups).reshape(n, _experts);
        return Scalars.With(fill, value => choice.masked_fill(expertMask.logical_not(), value));
    }
}

/// <summary>How <see cref="RoutedExperts"/> runs the experts of a batch (<see cref="DeepSeekModel.ExpertDispatch"/>).</summary>
public enum ExpertDispatch
{
    /// <summary>On CUDA <see cref="Sorted"/> without gradients (prefill and decode: on one H100 it was the fastest of the three at
    /// prefill and at decode batch 16, and within 3% of <see cref="Grouped"/> at decode batch 1) and <see cref="Grouped"/> with them
    /// (training); <see cref="PerExpert"/> on the CPU (where padding costs real arithmetic and a kernel launch costs next to nothing).</summary>
    Auto,

    /// <summary>One GEMM pair per hit expert on the gathered batch of its tokens; the tokens per expert are read on the host (one
    /// device synchronisation per MoE layer) and every expert is a few kernel launches.</summary>
    PerExpert,

    /// <summary>
    /// All experts in two batched GEMMs (<c>bmm</c>) over a padded [E, C, H] dispatch buffer, C the expert capacity; with fewer
    /// (token, expert) pairs than experts the chosen experts' weights are gathered instead ([N·K, ·, ·], one bmm row each). No host
    /// synchronisation for batches of at most <see cref="RoutedExperts.UnsyncedCapacityTokens"/> tokens (C = N: a token picks an
    /// expert at most once), one (the largest expert load) above that. Exact: no token is ever dropped.
    /// </summary>
    Grouped,

    /// <summary>
    /// The expert-sorted (token, expert) pairs through libtorch's grouped GEMM (<c>aten::_grouped_mm</c>, the kernel of transformers'
    /// <c>grouped_mm</c> experts) with each expert's exact row range as offsets: no padding, no host synchronisation, two GEMM
    /// launches per layer. TorchSharp 0.107 binds no such op, so it is reached through a two-line TorchScript function compiled by
    /// libtorch at first use (<see cref="ScriptedOps.GroupedMm"/>). libtorch has no float64 kernel and no backward for strided gradients of
    /// it: float64 weights, or a forward that records gradients, run as <see cref="Grouped"/>.
    /// </summary>
    Sorted,
}

/// <summary>
/// The routed experts in the fused layout of transformers 5.x (<c>DeepseekV3NaiveMoe</c>): <c>gate_up_proj</c> [E, 2·Im, H] (gate rows
/// first) and <c>down_proj</c> [E, H, Im]; the loader also fills them from per-expert checkpoints. Dispatch sorts the N·K (token, expert)
/// pairs by expert (one stable sort); every expert computes <c>y = down_e(act(gate_e·x) ⊙ up_e·x) · w</c>. How the experts run is
/// <see cref="Dispatch"/>: one at a time, each output cast to the activation dtype and <c>index_add_</c>-ed in expert order (the
/// accumulation order of HF, so float32 results agree to the last bits), or all at once in batched GEMMs, each token's K outputs
/// summed in float32 and cast once. No per-token loop.
/// </summary>
internal sealed class RoutedExperts : ParameterBlock
{
    /// <summary>Largest batch (tokens) whose grouped dispatch pads every expert to the whole batch rather than reading the largest
    /// expert load on the host: at decode sizes the padded rows cost less than a device synchronisation.</summary>
    internal const long UnsyncedCapacityTokens = 64;

    readonly string _act;
    readonly long _experts, _intermediate;

    public RoutedExperts(DeepSeekConfig c, Placement placement) : base("Experts")
    {
        _act = c.HiddenAct;
        _experts = c.NRoutedExperts;
        _intermediate = c.MoeIntermediateSize;
        GateUp = AddParameter("gate_up_proj", new[] { _experts, 2 * _intermediate, c.HiddenSize }, placement);
        Down = AddParameter("down_proj", new[] { _experts, c.HiddenSize, _intermediate }, placement);
    }

    public Parameter GateUp { get; }
    public Parameter Down { get; }

    /// <summary>How the experts run; <see cref="ExpertDispatch.Auto"/> resolves by the weights' device.</summary>
    public ExpertDispatch Dispatch { get; set; }

    /// <summary>x [N, H] with its routing → Σₖ wₖ·Expertₖ(x) [N, H]; <paramref name="load"/> receives the tokens per expert.</summary>
    public Tensor Forward(Tensor x, RoutingDecision routing, long[]? load = null)
    {
        using var scope = NewDisposeScope();
        long k = routing.Indices.size(1);
        var flat = routing.Indices.reshape(-1);
        var (experts, order) = flat.sort(stable: true);
        var tokens = Scalars.With(k, divisor => order.floor_divide(divisor));
        var weights = routing.Weights.reshape(-1).index_select(0, order);
        var counts = flat.bincount(null, _experts);
        if (load != null)
            using (var c = counts.cpu()) Array.Copy(c.data<long>().ToArray(), load, Math.Min(_experts, load.Length));

        var dispatch = Resolve(Dispatch, GateUp.device_type, x.dtype, is_grad_enabled());
        if (dispatch != ExpertDispatch.PerExpert)
        {
            // Back to token order by the inverse permutation, then each token's K outputs summed in float32: no atomics, so the
            // result is the same from run to run on CUDA (index_add_ there adds in whatever order its threads arrive).
            var outputs = dispatch == ExpertDispatch.Sorted ? Sorted(x, tokens, counts) : Grouped(x, experts, tokens, counts);
            var weighted = outputs * weights.unsqueeze(1);
            var byToken = zeros_like(weighted).index_copy(0, order, weighted);
            return byToken.view(x.size(0), k, x.size(1)).sum(1).to(x.dtype).MoveToOuterDisposeScope();
        }
        var output = zeros_like(x);
        var contributions = (PerExpert(x, tokens, counts) * weights.unsqueeze(1)).to(x.dtype);
        Scalars.With(1L, one => output.index_add_(0, tokens, contributions, one));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The dispatch that runs for <paramref name="requested"/> (see <see cref="ExpertDispatch"/>).</summary>
    internal static ExpertDispatch Resolve(ExpertDispatch requested, TorchSharp.DeviceType device, ScalarType dtype, bool gradients)
    {
        bool sortable = ScriptedOps.GroupedMmSupports(dtype) && !gradients;
        return requested switch
        {
            ExpertDispatch.Auto when device != TorchSharp.DeviceType.CUDA => ExpertDispatch.PerExpert,
            ExpertDispatch.Auto => sortable ? ExpertDispatch.Sorted : ExpertDispatch.Grouped,
            ExpertDispatch.Sorted when !sortable => ExpertDispatch.Grouped,
            var chosen => chosen,
        };
    }

    /// <summary>Expert outputs [N·K, H] in the sorted pair order, one expert at a time (the counts are read on the host).</summary>
    Tensor PerExpert(Tensor x, Tensor tokens, Tensor counts)
    {
        long[] perExpert;
        using (var c = counts.cpu()) perExpert = c.data<long>().ToArray();
        var parts = new List<Tensor>();
        long offset = 0;
        for (int e = 0; e < _experts; e++)
        {
            long count = perExpert[e];
            if (count == 0) continue;
            var batch = x.index_select(0, tokens.narrow(0, offset, count));
            parts.Add(F.linear(GatedHidden(F.linear(batch, GateUp[e])), Down[e]));
            offset += count;
        }
        return parts.Count == 1 ? parts[0] : cat(parts, 0);
    }

    /// <summary>Expert outputs [N·K, H] in the sorted pair order from batched GEMMs (see <see cref="ExpertDispatch.Grouped"/>).</summary>
    Tensor Grouped(Tensor x, Tensor experts, Tensor tokens, Tensor counts)
    {
        long pairs = tokens.size(0), n = x.size(0), hidden = x.size(1);
        var inputs = x.index_select(0, tokens);
        if (pairs < _experts)
        {
            // Fewer pairs than experts (decode at small batch): gather each pair's expert weights, one bmm row per pair.
            var gateUp = bmm(inputs.unsqueeze(1), GateUp.index_select(0, experts).transpose(1, 2));
            return bmm(GatedHidden(gateUp), Down.index_select(0, experts).transpose(1, 2)).squeeze(1);
        }
        long capacity = n <= UnsyncedCapacityTokens ? n : counts.max().item<long>();
        var starts = counts.cumsum(0) - counts;
        var rank = Scalars.With(pairs, stop => arange(stop, dtype: ScalarType.Int64, device: x.device)) - starts.index_select(0, experts);
        var slots = experts.Times(capacity).Plus(rank);
        var buffer = zeros(new[] { _experts * capacity, hidden }, dtype: x.dtype, device: x.device).index_copy(0, slots, inputs);
        var up = bmm(buffer.view(_experts, capacity, hidden), GateUp.transpose(1, 2));
        var down = bmm(GatedHidden(up), Down.transpose(1, 2));
        return down.view(_experts * capacity, hidden).index_select(0, slots);
    }

    /// <summary>Expert outputs [N·K, H] in the sorted pair order from two grouped GEMMs (see <see cref="ExpertDispatch.Sorted"/>).</summary>
    Tensor Sorted(Tensor x, Tensor tokens, Tensor counts)
    {
        var ends = counts.cumsum(0).to(ScalarType.Int32);
        var inputs = x.index_select(0, tokens);
        var up = ScriptedOps.GroupedMm(inputs, GateUp.transpose(1, 2), ends);
        return ScriptedOps.GroupedMm(GatedHidden(up), Down.transpose(1, 2), ends);
    }

    /// <summary>act(gate) ⊙ up of a [..., 2·Im] gate/up projection.</summary>
    Tensor GatedHidden(Tensor gateUp) =>
        Functional.Activation(gateUp.narrow(-1, 0, _intermediate), _act) * gateUp.narrow(-1, _intermediate, _intermediate);
}

/// <summary>
/// A DeepSeekMoE block (HF <c>DeepseekV3MoE</c> / <c>DeepseekV2Moe</c>): router, routed experts, and <c>n_shared_experts</c> shared
/// experts fused into one gated MLP of width Im·Ns applied to every token unweighted; output = routed + shared.
/// </summary>
internal sealed class MoeBlock : ParameterBlock
{
    readonly GatedMlp? _shared;

    public MoeBlock(DeepSeekConfig c, Placement placement) : base("MoE")
    {
        Router = new MoeRouter(c, placement);
        Experts = new RoutedExperts(c, placement);
        register_module("gate", Router);
        register_module("experts", Experts);
        if (c.NSharedExperts > 0)
        {
            _shared = new GatedMlp(c.HiddenSize, (long)c.MoeIntermediateSize * c.NSharedExperts, c.HiddenAct, placement);
            register_module("shared_experts", _shared);
        }
    }

    public MoeRouter Router { get; }
    public RoutedExperts Experts { get; }

    /// <summary>x [B, T, H] → [B, T, H]; the routing and router probabilities go to <paramref name="observer"/> when given.</summary>
    public Tensor Forward(Tensor x, int layer, IMoeObserver? observer)
    {
        using var scope = NewDisposeScope();
        var shape = TensorShape.Of(x);
        var flat = x.reshape(-1, shape[^1]);
        var (routing, scores) = Router.Route(flat);
        var load = observer != null ? new long[Experts.GateUp.size(0)] : null;
        var y = Experts.Forward(flat, routing, load).view(shape);
        observer?.OnRouted(layer, routing, scores, load!);
        if (_shared != null) y = y.Plus(_shared.Forward(x));
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>Receives each MoE layer's routing during a forward pass (tracing, load statistics, balance losses).</summary>
public interface IMoeObserver
{
    /// <summary>Called inside the layer's dispose scope: tensors must be cloned or detached to be kept.</summary>
    void OnRouted(int layer, RoutingDecision routing, Tensor scores, long[] tokensPerExpert);
}
