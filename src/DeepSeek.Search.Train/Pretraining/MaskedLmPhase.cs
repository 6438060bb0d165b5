using System.Globalization;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Train.Data;

namespace DeepSeek.Search.Train.Pretraining;

/// <summary>
/// The masked-LM phase of a fresh <see cref="Trainer"/> run, before its first contrastive step: pretraining over the corpus
/// (<see cref="MaskedLmPretrainer"/>, its curve written to <c>mlm_curve.csv</c>, its result saved once as the
/// <see cref="MaskedLmSnapshot"/>), or, resuming, the weights a previous session's pretraining left in that snapshot.
/// </summary>
static class MaskedLmPhase
{
    public static MaskedLmSummary Run(TrainOptions o, string work, EncoderModel model, TrainingCorpus? corpus, string fingerprint,
        Action<string> say, IProgress<ProgressEvent>? progress, CancellationToken ct)
    {
        var towers = model.Towers;
        if (MaskedLmSnapshot.Exists(work))
        {
            var done = MaskedLmSnapshot.Load(work, towers, fingerprint);
            say($"masked-LM pretraining was done before the interruption ({done.Epochs} epoch(s), loss {done.FirstLoss:F4} → {done.LastLoss:F4}); continuing from {MaskedLmSnapshot.PathIn(work)}");
            return done;
        }
        say($"masked-LM pretraining: tokenizing {corpus!.Count:N0} documents into windows of {o.MaxDocumentLength} tokens");
        var texts = corpus.Documents.Select(TextChunker.ComposeText).ToList();
        var sequences = MlmSequences.FromTexts(model.Tokenizer, texts, o.MaxDocumentLength, ct);
        var options = new MaskedLmOptions
        {
            Epochs = o.MlmEpochs,
            LearningRate = o.EffectiveMlmLearningRate,
            BatchSize = o.MlmBatchSize,
            Probability = o.MlmProbability,
            WarmupRatio = o.WarmupRatio,
            WeightDecay = o.WeightDecay,
            ClipNorm = o.ClipNorm,
            Seed = o.Seed,
            LogEvery = o.LogEvery,
        };
        using var pretrainer = new MaskedLmPretrainer(towers, model.Tokenizer, options, model.HeadSource);
        say($"masked-LM pretraining: {o.MlmEpochs} epoch(s) over {sequences.Count:N0} sequences from {sequences.Documents:N0} documents " +
            $"({sequences.Tokens:N0} wordpieces), batch {Math.Min(o.MlmBatchSize, Math.Max(1, sequences.Count))}, lr {options.LearningRate:G3}, " +
            (pretrainer.HeadFromCheckpoint ? "head from the --init checkpoint" : "new head") +
            (towers.Tied ? "" : "; the document tower, then copied into the query tower"));
        var mlm = pretrainer.Train(sequences, progress, ct);
        MaskedLmPretrainer.WriteCurve(Path.Combine(work, MaskedLmPretrainer.CurveFile), pretrainer.Curve);
        MaskedLmSnapshot.Save(work, towers, fingerprint, mlm);
        say(Trainer.MlmLine(mlm) + string.Create(CultureInfo.InvariantCulture, $" (accuracy {mlm.LastAccuracy:P1}, {mlm.SequencesPerSecond:F1} sequences/s)"));
        return mlm;
    }
}
