using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Cli;

/// <summary>
/// The options of a language-model training run shared by `dss train-lm` and `dss train-reranker` (LoRA, optimisation, schedule,
/// device, logging, checkpoints, resume), and the one place they become <see cref="LmTrainOptions"/> fields.
/// </summary>
sealed class LmTrainArguments(string initOption = "--init", int defaultEpochs = 1, double defaultLearningRate = 1e-3)
{
    public Option<int?> LoraRank { get; } = new Option<int?>("--lora-rank") { Description = $"Fine-tune {initOption} with LoRA adapters of this rank (base frozen) and write a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)" };
    public Option<double?> LoraAlpha { get; } = new Option<double?>("--lora-alpha") { Description = "LoRA alpha (scaling alpha/rank) [default: 2 × rank]" };
    public Option<string?> LoraTargets { get; } = new Option<string?>("--lora-targets") { Description = "Modules to adapt, comma-separated: q_proj, q_a_proj, q_b_proj, kv_a_proj_with_mqa, kv_b_proj, o_proj, gate_proj, up_proj, down_proj, lm_head; kv_proj = both kv projections, attention, mlp [default: attention]. Python peft 0.21 on transformers 5 reads gate_proj/up_proj/down_proj of a DeepSeek-V3 base as the fused routed experts, so only attention and lm_head adapters load there" };
    public Option<bool> RsLora { get; } = new Option<bool>("--rslora") { Description = "Rank-stabilised LoRA scaling alpha/sqrt(rank)" };
    public Option<double> ValFraction { get; } = new Option<double>("--val-fraction") { Description = "Share of the blocks held out for validation loss (every round(1/f)-th block)", DefaultValueFactory = _ => 0.05 };
    public Option<int> ValMax { get; } = new Option<int>("--val-max-blocks") { Description = "Validation loss over at most N held-out blocks (0 = all)", DefaultValueFactory = _ => 256 };
    public Option<int> Batch { get; } = new Option<int>("--batch-size") { Description = "Blocks (supervised pairs with --sft) per step", DefaultValueFactory = _ => 16 };
    public Option<int> Epochs { get; } = new Option<int>("--epochs") { Description = "Passes over the training blocks", DefaultValueFactory = _ => defaultEpochs };
    public Option<int> MaxSteps { get; } = new Option<int>("--max-steps") { Description = "Train exactly this many steps (overrides --epochs)", DefaultValueFactory = _ => 0 };
    public Option<double> Lr { get; } = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => defaultLearningRate };
    public Option<string> Schedule { get; } = new Option<string>("--schedule") { Description = "Decay after warmup: cosine, linear or constant", DefaultValueFactory = _ => "cosine" }
            .AcceptOnlyFromAmong("cosine", "linear", "constant");
    public Option<double> MinLr { get; } = new Option<double>("--min-lr-ratio") { Description = "cosine/linear decay ends at peak × this", DefaultValueFactory = _ => 0.1 };
    public Option<double> Warmup { get; } = new Option<double>("--warmup") { Description = "Linear warmup, as a fraction of all steps", DefaultValueFactory = _ => 0.05 };
    public Option<int?> WarmupSteps { get; } = new Option<int?>("--warmup-steps") { Description = "Linear warmup in steps (overrides --warmup)" };
    public Option<double> WeightDecay { get; } = new Option<double>("--weight-decay") { Description = "AdamW weight decay (matrices only; not norms and biases)", DefaultValueFactory = _ => 0.1 };
    public Option<double> Beta2 { get; } = new Option<double>("--beta2") { Description = "AdamW β2 (β1 is 0.9)", DefaultValueFactory = _ => 0.95 };
    public Option<double> Clip { get; } = new Option<double>("--clip") { Description = "Clip the gradient's global L2 norm (0 = off)", DefaultValueFactory = _ => 1.0 };
    public Option<long> Seed { get; } = new Option<long>("--seed") { Description = "Seed of initialisation and batch order", DefaultValueFactory = _ => 42 };
    public Option<double> BiasSpeed { get; } = new Option<double>("--bias-update-speed") { Description = "γ of DeepSeek-V3's aux-loss-free balancing: after every step b_i += γ·sign(mean(c) − c_i) (0 = off)", DefaultValueFactory = _ => 0.001 };
    public Option<double> SeqAux { get; } = new Option<double>("--seq-aux-loss") { Description = "α of the sequence-wise balance loss (0 = off; DeepSeek-V3 used 1e-4)", DefaultValueFactory = _ => 0.0 };
    public Option<string> Device { get; } = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto (CUDA needs DSS_LIBTORCH; see README)", DefaultValueFactory = _ => "cpu" };
    public Option<string> Precision { get; } = CommonOptions.Precision();
    public Option<int?> Threads { get; } = new Option<int?>("--threads") { Description = "CPU threads for libtorch [default: all]" };
    public Option<int> LogEvery { get; } = new Option<int>("--log-every") { Description = "Report loss, tokens/s, lr and expert load every N steps", DefaultValueFactory = _ => 10 };
    public Option<int> EvalEvery { get; } = new Option<int>("--eval-every") { Description = "Validation loss every N steps (and before and after training; 0 = only then)", DefaultValueFactory = _ => 100 };
    public Option<int> CheckpointEvery { get; } = new Option<int>("--checkpoint-every") { Description = "Resumable checkpoint every N steps (and after the last; 0 = only then)", DefaultValueFactory = _ => 0 };
    public Option<int> Keep { get; } = new Option<int>("--keep-checkpoints") { Description = "Checkpoints kept", DefaultValueFactory = _ => 1 };
    public Option<bool> Resume { get; } = new Option<bool>("--resume") { Description = "Continue OUT.partial (or a finished OUT) from its newest checkpoint" };
    public Option<bool> Overwrite { get; } = new Option<bool>("--overwrite") { Description = "Replace an existing output folder (only once training succeeds)" };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { LoraRank, LoraAlpha, LoraTargets, RsLora, ValFraction, ValMax, Batch, Epochs, MaxSteps, Lr, Schedule, MinLr, Warmup, WarmupSteps, WeightDecay, Beta2, Clip, Seed, BiasSpeed, SeqAux, Device, Precision, Threads, LogEvery, EvalEvery, CheckpointEvery, Keep, Resume, Overwrite })
            command.Options.Add(o);
    }

    /// <summary>The LoRA settings asked for; null without --lora-rank (its companions without it are an error).</summary>
    public LoraSettings? Lora(ParseResult pr) =>
        pr.GetValue(LoraRank) is int rank
            ? new LoraSettings { Rank = rank, Alpha = pr.GetValue(LoraAlpha), Targets = LoraSettings.ParseTargets(pr.GetValue(LoraTargets)), UseRsLora = pr.GetValue(RsLora) }
            : pr.GetValue(LoraAlpha) is not null || pr.GetValue(LoraTargets) is not null || pr.GetValue(RsLora)
                ? throw new InvalidInputException("--lora-alpha, --lora-targets and --rslora need --lora-rank") { Setting = "lora-rank" }
                : null;

    /// <summary><paramref name="options"/> with this run's settings.</summary>
    public LmTrainOptions Apply(ParseResult pr, LmTrainOptions options) => options with
    {
        Lora = Lora(pr),
        ValidationFraction = pr.GetValue(ValFraction),
        ValidationMaxBlocks = pr.GetValue(ValMax),
        BatchSize = pr.GetValue(Batch),
        Epochs = pr.GetValue(Epochs),
        MaxSteps = pr.GetValue(MaxSteps),
        LearningRate = pr.GetValue(Lr),
        Schedule = pr.GetValue(Schedule) switch { "linear" => LmSchedule.Linear, "constant" => LmSchedule.Constant, _ => LmSchedule.Cosine },
        MinLearningRateRatio = pr.GetValue(MinLr),
        WarmupRatio = pr.GetValue(Warmup),
        WarmupSteps = pr.GetValue(WarmupSteps),
        WeightDecay = pr.GetValue(WeightDecay),
        Beta2 = pr.GetValue(Beta2),
        ClipNorm = pr.GetValue(Clip),
        Seed = pr.GetValue(Seed),
        BiasUpdateSpeed = pr.GetValue(BiasSpeed),
        SeqAuxLoss = pr.GetValue(SeqAux),
        Device = pr.GetValue(Device)!,
        Precision = CommonOptions.ParsePrecision(pr.GetValue(Precision)),
        Threads = pr.GetValue(Threads),
        LogEvery = pr.GetValue(LogEvery),
        EvalEvery = pr.GetValue(EvalEvery),
        CheckpointEvery = pr.GetValue(CheckpointEvery),
        KeepCheckpoints = pr.GetValue(Keep),
        Resume = pr.GetValue(Resume),
        Overwrite = pr.GetValue(Overwrite),
    };
}
