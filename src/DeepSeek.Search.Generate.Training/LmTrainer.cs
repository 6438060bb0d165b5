using DeepSeek.Search.Core;
using DeepSeek.Search.Training;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// Trains a DeepSeek-V3 mixture-of-experts causal LM from scratch on a corpus (<c>dss train-lm</c>) and writes a Hugging Face
/// DeepseekV3ForCausalLM folder that <see cref="DeepSeekModel.Load"/>, <c>dss generate</c> and transformers' <c>from_pretrained</c> load:
/// config.json (5.x style), model.safetensors (float32, per-expert layout, correction biases included), generation_config.json,
/// tokenizer.json + tokenizer_config.json, plus training_curve.csv/.png, train_lm.json and the last resumable checkpoint under
/// checkpoints/.
/// <para>
/// Data: the corpus's documents (<see cref="LmCorpus"/>) are tokenised by the given tokenizer or by a byte-level BPE trained on them
/// (<see cref="BpeTrainer"/>), joined with EOS and packed into <see cref="LmTrainOptions.SeqLen"/> blocks; a deterministic slice is held
/// out for validation (<see cref="PackedBlocks"/>). Each epoch visits the training blocks in an order drawn from (seed, epoch).
/// </para>
/// <para>
/// Each step: a batch of blocks → the causal-LM cross-entropy (logits shifted, in float32, averaged over the predicted tokens) plus the
/// optional sequence-wise balance loss → backward → global-norm clipping → AdamW (weight decay on matrices only) at the scheduled rate
/// (linear warmup, cosine or linear decay to a floor) → DeepSeek-V3's auxiliary-loss-free bias update on every MoE layer from the step's
/// tokens per expert (<see cref="BiasBalancer"/>). fp32 on the CPU; bf16 compute with fp32 master weights on CUDA (<see cref="LmWeights"/>).
/// </para>
/// <para>
/// Like dss train, the run works in <c>OUT.partial</c> and renames it to OUT only when it succeeds (an existing OUT is replaced only
/// with <see cref="LmTrainOptions.Overwrite"/>, and only then); a failed or cancelled run keeps its checkpoints for
/// <see cref="LmTrainOptions.Resume"/>. On the CPU a resumed run is bit-identical to a straight one: the batch order is a function of
/// (seed, epoch), the model has no dropout, and checkpoints hold the exact float32 weights, correction biases, AdamW moments and steps.
/// </para>
/// <para>
/// The run itself is <see cref="LmRun"/>, put together from <see cref="LmData"/>, <see cref="LmModel"/>, <see cref="LmFingerprint"/>
/// and <see cref="LmValidation"/>.
/// </para>
/// </summary>
public static class LmTrainer
{
    public const string PartialSuffix = RunFolders.PartialSuffix, SummaryFile = "train_lm.json";

    /// <summary>
    /// Fine-tunes <paramref name="initPath"/> on a supervised pairs file (prompt ids + response, loss on the response only) at
    /// <paramref name="seqLen"/> into <paramref name="outputPath"/>, with <paramref name="settings"/>' run options (learning rate,
    /// epochs, LoRA, device, ...): the one way <c>dss train-reranker</c> and <c>dss train-reader</c> train the pairs they build.
    /// </summary>
    public static LmTrainResult TrainPairs(LmTrainOptions settings, string initPath, string pairsPath, int seqLen, string outputPath,
        IProgress<ProgressEvent>? progress = null, CancellationToken cancellation = default) =>
        Train(settings with
        {
            CorpusPath = null,
            SftPath = pairsPath,
            InitPath = initPath,
            TokenizerPath = null,
            SeqLen = seqLen,
            OutputPath = outputPath,
        }, progress, cancellation);

    public static LmTrainResult Train(LmTrainOptions options, IProgress<ProgressEvent>? progress = null, CancellationToken cancellation = default) =>
        Train(options, progress, onFinished: null, cancellation);

    /// <summary>As the public overload; <paramref name="onFinished"/> sees the trained (master) model once it is saved, before it is disposed.</summary>
    internal static LmTrainResult Train(LmTrainOptions options, IProgress<ProgressEvent>? progress, Action<DeepSeekModel>? onFinished,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (output, work) = RunFolders.Of(options.OutputPath);
        var (fresh, extending) = RunFolders.Prepare(output, work, options.Resume, options.Overwrite, w => Checkpoints.List(w).Count > 0);
        try
        {
            using var run = new LmRun(options, output, work, extending, progress, onFinished, cancellation);
            return run.Execute();
        }
        catch
        {
            // failed before a checkpoint of its own: nothing to resume, so leave nothing behind
            RunFolders.DiscardIfNothingNew(work, fresh, extending, output);
            throw;
        }
    }

    /// <summary>
    /// The causal-LM loss: CE(logits[:, :-1].float(), labels[:, 1:]), mean (or sum) over the predicted tokens; a label of −100 takes no
    /// loss (transformers' ignore_index). Plain text passes its ids as the labels.
    /// </summary>
    internal static Tensor CausalLmLoss(Tensor logits, Tensor labels, bool sum = false)
    {
        long b = logits.shape[0], t = logits.shape[1], v = logits.shape[2];
        var predicted = logits.narrow(1, 0, t - 1).to(ScalarType.Float32).reshape(b * (t - 1), v);
        var targets = labels.narrow(1, 1, t - 1).reshape(b * (t - 1)).to(logits.device);
        return F.cross_entropy(predicted, targets, ignore_index: -100, reduction: sum ? nn.Reduction.Sum : nn.Reduction.Mean);
    }

    /// <summary>The targets a loss over <paramref name="labels"/> counts (those not −100 after the shift).</summary>
    internal static long CountTargets(Tensor labels)
    {
        using var scope = NewDisposeScope();
        return Scalars.With(-100L, ignored => labels.narrow(1, 1, labels.shape[1] - 1).ne(ignored).sum().item<long>());
    }
}
