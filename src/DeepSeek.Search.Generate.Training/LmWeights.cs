using TorchSharp.Modules;
using static TorchSharp.torch;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// The model being trained: the float32 <see cref="Master"/> on the training device — what the optimizer updates, the balancer adjusts
/// and checkpoints save — and, with bf16 compute, a bf16 working copy (<see cref="Compute"/>) that runs forward and backward. After
/// backward the working gradients are copied (as float32) into the master parameters; after the optimizer step and the bias update the
/// master weights and correction biases are copied back (mixed precision with fp32 master weights, as <c>DualTowers</c> of dss train:
/// TorchSharp 0.107 has no autocast). The routers and their correction biases compute in float32 in both copies.
/// </summary>
internal sealed class LmWeights : IDisposable
{
    readonly DeepSeekModel? _work;
    readonly List<(string Name, Parameter Master, Parameter? Work)> _parameters = new();
    readonly List<(Tensor Master, Tensor Work)> _biases = new();

    public LmWeights(DeepSeekModel master, ScalarType compute)
    {
        Master = master;
        if (compute == ScalarType.BFloat16)
        {
            _work = DeepSeekModel.CreateEmpty(master.Config, master.Device, ScalarType.BFloat16);
            var work = _work.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in master.named_parameters()) _parameters.Add((name, p, work[name]));
            var workBiases = _work.NamedTensors().Where(t => t.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal)).ToDictionary(t => t.Name, t => t.Tensor);
            foreach (var (name, t) in master.NamedTensors())
                if (workBiases.TryGetValue(name, out var w)) _biases.Add((t, w));
            MasterToWorking();
        }
        else foreach (var (name, p) in master.named_parameters()) _parameters.Add((name, p, null));
        foreach (var (_, p, w) in _parameters)
        {
            p.requires_grad = true;
            if (w is not null) w.requires_grad = true;
        }
    }

    /// <summary>
    /// A LoRA run's weights: the base (in the compute dtype) frozen, the adapters' float32 parameters the only ones trained; the
    /// model is its own compute copy (the adapters cast themselves to the activations' dtype).
    /// </summary>
    public LmWeights(DeepSeekModel frozenBase, LoraAdapters adapters)
    {
        Master = frozenBase;
        FrozenBase = true;
        foreach (var p in frozenBase.parameters()) p.requires_grad = false;
        foreach (var (name, t) in adapters.NamedTensors())
        {
            var p = (Parameter)t;
            p.requires_grad = true;
            _parameters.Add((name, p, null));
        }
    }

    public DeepSeekModel Master { get; }

    /// <summary>Whether only adapters train (the base's weights and correction biases stay as loaded).</summary>
    public bool FrozenBase { get; }

    /// <summary>The model that runs forward/backward: the bf16 copy, or the master itself in float32.</summary>
    public DeepSeekModel Compute => _work ?? Master;

    public bool Mixed => _work != null;

    /// <summary>The trained parameters: master parameters by HF name (fused experts), or a LoRA run's adapters by PEFT name.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> Parameters => _parameters.Select(p => (p.Name, p.Master));

    /// <summary>After backward in bf16: the working gradients, as float32, become the master gradients. No-op in float32.</summary>
    public void GradientsToMaster()
    {
        if (_work is not null) MixedPrecision.GradientsToMaster(_parameters.Select(p => (p.Master, p.Work)));
    }

    /// <summary>Copies the master weights and correction biases into the working copy and zeroes its gradients. No-op in float32.</summary>
    public void MasterToWorking()
    {
        if (_work is null) return;
        MixedPrecision.MasterToWorking(_parameters.Select(p => (p.Master, p.Work)));
        using var _ = no_grad();
        foreach (var (master, work) in _biases) work.copy_(master);
    }

    public void Dispose()
    {
        _work?.Dispose();
        Master.Dispose();
    }
}
