using DeepSeek.Search.Core;
using DeepSeek.Search.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// The model of one <see cref="LmTrainer"/> run: its configuration (from the settings and the tokenizer), the DeepSeek-V3 model (new,
/// or from the checkpoint being resumed) with its working weights (<see cref="LmWeights"/>), the MoE balance observer of the training
/// steps, and the AdamW groups over its parameters (weight decay on matrices only).
/// </summary>
sealed class LmModel : IDisposable
{
    readonly LmTrainOptions _o;

    public LmModel(LmTrainOptions options, DeepSeekConfig config)
    {
        _o = options;
        Config = config;
    }

    public DeepSeekConfig Config { get; }
    public LmWeights Weights { get; private set; } = null!;
    public MoeBalanceObserver Observer { get; private set; } = null!;

    /// <summary>A LoRA run's adapters (null otherwise).</summary>
    public LoraAdapters? Adapters { get; private set; }

    /// <summary>The config of the --init model, which must cover the tokenizer's ids.</summary>
    public static DeepSeekConfig InitConfig(string initPath, int tokenizerVocab)
    {
        var config = DeepSeekConfig.Load(Path.Combine(initPath, DeepSeekConfig.FileName));
        if (tokenizerVocab > config.VocabSize)
            throw new InvalidInputException($"--init {initPath}: its tokenizer has {tokenizerVocab:N0} ids, more than the model's vocabulary of {config.VocabSize:N0}");
        return config;
    }

    /// <summary>Loads (from <paramref name="checkpointDir"/> when resuming) or creates the model, in float32 master weights on the run's device.</summary>
    public void Build(string? checkpointDir, TrainingRuntime runtime, Action<string> say)
    {
        DeepSeekModel model;
        if (_o.Lora is { } lora)
        {
            // LoRA: the --init base in the compute dtype, frozen; adapters new (PEFT's init, seeded) or from the checkpoint being resumed
            model = DeepSeekCheckpoint.Load(_o.InitPath!, new DeepSeekModelOptions { Device = _o.Device, DType = runtime.Compute });
            try
            {
                Adapters = checkpointDir != null ? LoraAdapters.Load(model, checkpointDir, trainable: true) : LoraAdapters.Attach(model, lora, _o.Seed);
                say($"LoRA on {_o.InitPath}: {Adapters}, {Adapters.ParameterCount:N0} trainable parameters of {model.parameters().Sum(p => p.numel()) + Adapters.ParameterCount:N0}");
                model.train();
                Weights = new LmWeights(model, Adapters);
            }
            catch
            {
                Adapters?.Dispose();
                model.Dispose();
                throw;
            }
            Observer = new MoeBalanceObserver(Config, _o.SeqAuxLoss);
            return;
        }
        if (checkpointDir != null)
        {
            model = DeepSeekCheckpoint.Load(checkpointDir, new DeepSeekModelOptions { Device = _o.Device, DType = ScalarType.Float32 });
            if (model.Config.VocabSize != Config.VocabSize || model.Config.NumHiddenLayers != Config.NumHiddenLayers)
            {
                model.Dispose();
                throw new CheckpointException($"{checkpointDir}: the checkpoint's model does not match the settings");
            }
        }
        else if (_o.InitPath != null)
        {
            model = DeepSeekCheckpoint.Load(_o.InitPath, new DeepSeekModelOptions { Device = _o.Device, DType = ScalarType.Float32 });
            say($"fine-tuning all {model.parameters().Sum(p => p.numel()):N0} parameters of {_o.InitPath}");
        }
        else
        {
            model = DeepSeekModel.Create(Config, new DeepSeekModelOptions { Device = _o.Device, DType = ScalarType.Float32, Seed = _o.Seed });
            long total = model.parameters().Sum(p => p.numel());
            say($"new model: {Config.NumHiddenLayers} layers ({Config.FirstKDenseReplace} dense), hidden {Config.HiddenSize}, {Config.NumAttentionHeads} heads, " +
                $"{Config.NRoutedExperts} routed experts top-{Config.NumExpertsPerTok} + {Config.NSharedExperts} shared, vocabulary {Config.VocabSize:N0}: {total:N0} parameters");
        }
        try
        {
            model.train();
            Weights = new LmWeights(model, runtime.Compute);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        Observer = new MoeBalanceObserver(Config, _o.SeqAuxLoss);
    }

    /// <summary>AdamW over the master parameters (decayed matrices first, then the rest) and the parameters it clips, in that order.</summary>
    public (AdamW Optimizer, List<Parameter> Clipped) BuildOptimizer()
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (_, p) in Weights.Parameters) (p.dim() >= 2 ? decay : noDecay).Add(p);
        var parameters = decay.Concat(noDecay).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, new AdamW.Options { weight_decay = _o.WeightDecay }),
            new(noDecay, new AdamW.Options { weight_decay = 0 }),
        };
        var optimizer = optim.AdamW(groups, _o.LearningRate, beta1: _o.Beta1, beta2: _o.Beta2, eps: 1e-8, weight_decay: _o.WeightDecay);
        return (optimizer, parameters);
    }

    public void Dispose()
    {
        Observer?.Dispose();
        Adapters?.Dispose();
        Weights?.Dispose();
    }
}
