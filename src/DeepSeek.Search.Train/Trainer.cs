using System.Globalization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Train.Pretraining;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train;

/// <summary>
/// Trains a BERT dual encoder with a contrastive loss and writes an encoder folder that <c>dss index</c>/<c>embed</c>
/// (<see cref="TextEncoder.Load"/>) and Hugging Face's <c>BertModel.from_pretrained</c> load: config.json + model.safetensors (or
/// query/ and document/), vocab.txt + tokenizer_config.json, dual_encoder.json, plus training_curve.csv/.png, train.json and the last
/// resumable checkpoint under checkpoints/.
/// <para>
/// The run works in <c>OUT.partial</c> beside the output; the output folder appears (or replaces an old one, with
/// <see cref="TrainOptions.Overwrite"/>) only when training succeeds, by renaming. A failed or cancelled run leaves OUT.partial, which
/// <see cref="TrainOptions.Resume"/> continues from its newest checkpoint. On CPU a resumed run is bit-identical to a straight one:
/// every random choice is keyed by (seed, epoch, example) (<see cref="Seeds"/>), the model has no dropout, and checkpoints hold the exact
/// float32 weights, AdamW moments and step counts.
/// </para>
/// <para>
/// Each step: a batch of pairs (with hard negatives) → <see cref="ContrastiveStep"/> (GradCache when chunked) → global-norm clipping →
/// AdamW (weight decay off for biases and LayerNorm) at the scheduled rate (linear warmup, linear decay). Dev nDCG@10 is measured
/// before training and periodically; with a patience, training stops early, and the weights of the best evaluation are saved.
/// </para>
/// <para>
/// Label-free adaptation of an <see cref="TrainOptions.InitPath"/> encoder (a corpus, no labels, no dev qrels) is gated: a seeded
/// <see cref="TrainOptions.DevFraction"/> of the documents (at most <see cref="TrainOptions.DevMaxQueries"/>) is held out of training,
/// one pseudo-query each (<see cref="SelfSupervisedPairs.HoldOut"/>), and scored in the --init encoder's default search (its recorded
/// hybrid fusion); the --init weights are the first "best", and the output keeps them unless an evaluation beats the best by
/// <see cref="AdaptationMargin"/>.
/// </para>
/// <para>
/// With <see cref="TrainOptions.MlmEpochs"/>, a fresh run first pretrains the document tower with BERT's masked-LM objective over the
/// corpus (<see cref="MaskedLmPretrainer"/>), then saves that state once (<see cref="MaskedLmSnapshot"/>, <c>OUT.partial/mlm/</c>):
/// a resumed run with a contrastive checkpoint or that snapshot skips pretraining.
/// </para>
/// </summary>
public static class Trainer
{
    public const string PartialSuffix = RunFolders.PartialSuffix, SummaryFile = "train.json";
    internal const string Bm25Folder = "bm25", BestFolder = "best";
    /// <summary>Where the candidates of each hard-negative refresh are kept (one JSON file per refresh epoch).</summary>
    public const string DenseNegativesFolder = "dense-negatives";

    /// <summary>
    /// Label-free adaptation of an --init encoder replaces its weights only when an evaluation beats the best so far (at first, the
    /// --init weights themselves) by this much nDCG@10 on the held-out pseudo-queries, in the encoder's default search.
    /// </summary>
    public const double AdaptationMargin = 0.002;

    public static TrainResult Train(TrainOptions options, IProgress<ProgressEvent>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (output, work) = RunFolders.Of(options.OutputPath);
        var (fresh, extending) = RunFolders.Prepare(output, work, options.Resume, options.Overwrite, HasResumableState, "checkpoint (or masked-LM snapshot)");
        try
        {
            using var run = new EncoderRun(options, output, work, extending, progress, cancellation);
            return run.Execute();
        }
        catch (Exception e)
        {
            // failed before a checkpoint of its own: nothing to resume, so leave nothing behind
            RunFolders.DiscardIfNothingNew(work, fresh, extending, output, MaskedLmSnapshot.Exists);
            if (OutOfDeviceMemory(e, options) is { } oom) throw oom;
            throw;
        }
    }

    /// <summary>
    /// libtorch's allocator failure ("CUDA out of memory. Tried to allocate …", or the CPU's "DefaultCPUAllocator: not enough memory")
    /// as a clear input error naming the settings that size the step; null for any other failure.
    /// </summary>
    public static InvalidInputException? OutOfDeviceMemory(Exception e, TrainOptions options)
    {
        if (e is SearchException) return null;
        string m = e.Message;
        bool oom = m.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || m.Contains("not enough memory", StringComparison.OrdinalIgnoreCase);
        if (!oom) return null;
        string first = m.Split('\n', 2)[0].Trim();
        return new InvalidInputException(
            $"out of memory on {options.Device} with --batch-size {options.BatchSize} (queries {options.MaxQueryLength}, documents {options.MaxDocumentLength} tokens, " +
            $"{options.HardNegatives?.ToString(CultureInfo.InvariantCulture) ?? "default"} hard negatives): lower --batch-size, set --chunk-size (GradCache) or shorten --max-doc-length ({first})");
    }

    /// <summary>Whether a run folder holds something <see cref="TrainOptions.Resume"/> continues from: a checkpoint, or the masked-LM snapshot.</summary>
    public static bool HasResumableState(string workDir) =>
        Directory.Exists(workDir) && (Checkpoints.List(workDir).Count > 0 || MaskedLmSnapshot.Exists(workDir));

    /// <summary>"masked-LM pretraining: N epochs, M sequences, loss a → b", as <c>dss train</c> prints it.</summary>
    public static string MlmLine(MaskedLmSummary m) => string.Create(CultureInfo.InvariantCulture,
        $"masked-LM pretraining: {m.Epochs} epoch{(m.Epochs == 1 ? "" : "s")}, {m.Sequences:N0} sequences, loss {m.FirstLoss:F4} → {m.LastLoss:F4}");
}
