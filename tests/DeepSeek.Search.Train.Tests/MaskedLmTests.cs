using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Train.Pretraining;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using DeepSeek.Search.Training;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Train.Tests;

public class MaskedLmTests(TrainerFixture fx, ITestOutputHelper log) : IClassFixture<TrainerFixture>
{
    SciFactSlice S => fx.Slice;
    static readonly BertTokenizer Tokenizer = BertTokenizer.BundledUncased();

    /// <summary>The texts of the slice's first <paramref name="n"/> documents, as training composes them.</summary>
    List<string> Texts(int n) => TrainingCorpus.Load(S.Corpus).Documents.Take(n).Select(TextChunker.ComposeText).ToList();

    /// <summary>A corpus file of the slice's first <paramref name="n"/> documents (keeps the trainer-level runs short).</summary>
    string SmallCorpus(int n)
    {
        string path = Path.Combine(S.Folder, $"corpus-{n}.jsonl");
        if (!File.Exists(path)) File.WriteAllLines(path, File.ReadLines(S.Corpus).Where(l => l.Length > 0).Take(n));
        return path;
    }

    [Fact]
    public void Windows_cover_each_document_and_masking_follows_bert()
    {
        var texts = Texts(200);
        texts.Add("a literal [MASK] and [SEP] and [UNK] and [CLS] in the text " + string.Join(' ', Enumerable.Repeat("word", 30)));
        var sequences = MlmSequences.FromTexts(Tokenizer, texts, maxLength: 96);

        // consecutive windows of 94 wordpieces (the last one shorter) that put each document back together
        var expected = texts.SelectMany(t => Tokenizer.Tokenize(t).Select(p => p.Id)).ToArray();
        var joined = Enumerable.Range(0, sequences.Count).SelectMany(i => sequences.Pieces(i).ToArray()).ToArray();
        Assert.Equal(expected, joined);
        Assert.Equal(texts.Sum(t => (Tokenizer.Tokenize(t).Count + 93) / 94), sequences.Count);
        Assert.All(Enumerable.Range(0, sequences.Count), i => Assert.InRange(sequences.Pieces(i).Length, 1, 94));
        var first = sequences.InputIds(0, Tokenizer);
        Assert.Equal((Tokenizer.ClsId, Tokenizer.SepId, 96), (first[0], first[^1], first.Length));

        var masker = new MlmMasker(Tokenizer, 0.15, seed: 42);
        int mask = Tokenizer.MaskId!.Value;
        var specials = new[] { Tokenizer.ClsId, Tokenizer.SepId, Tokenizer.PadId, Tokenizer.UnkId, mask };
        long candidates = 0, chosen = 0;
        var actions = new Dictionary<MaskAction, int> { [MaskAction.Mask] = 0, [MaskAction.Random] = 0, [MaskAction.Keep] = 0 };
        bool sawSpecialInText = false;
        for (int i = 0; i < sequences.Count; i++)
        {
            var ids = sequences.InputIds(i, Tokenizer);
            var m = masker.Mask(ids, epoch: 0, index: i);
            int n = ids.Count(id => !specials.Contains(id));
            sawSpecialInText |= ids.Skip(1).SkipLast(1).Any(specials.Contains);
            candidates += n;
            chosen += m.Positions.Length;
            Assert.Equal(Math.Max(1, (int)Math.Round(n * 0.15, MidpointRounding.AwayFromZero)), m.Positions.Length);
            Assert.Equal(m.Positions.Order(), m.Positions);
            Assert.Equal(m.Positions.Length, m.Positions.Distinct().Count());
            for (int c = 0; c < m.Positions.Length; c++)
            {
                int p = m.Positions[c];
                Assert.DoesNotContain(ids[p], specials);                               // specials are never chosen
                Assert.Equal(ids[p], m.Labels[c]);                                      // the label is the original token
                actions[m.Actions[c]]++;
                switch (m.Actions[c])
                {
                    case MaskAction.Mask: Assert.Equal(mask, m.InputIds[p]); break;
                    case MaskAction.Keep: Assert.Equal(ids[p], m.InputIds[p]); break;
                    case MaskAction.Random: Assert.DoesNotContain(m.InputIds[p], specials); break;
                }
            }
            var untouched = Enumerable.Range(0, ids.Length).Except(m.Positions);
            Assert.All(untouched, t => Assert.Equal(ids[t], m.InputIds[t]));
        }
        Assert.True(sawSpecialInText, "the literal special tokens should have been tokenized as specials");
        double share = (double)chosen / candidates;
        double Part(MaskAction a) => (double)actions[a] / chosen;
        log.WriteLine($"{sequences.Count} sequences, {candidates} candidates, chosen {share:P2}: mask {Part(MaskAction.Mask):P2}, random {Part(MaskAction.Random):P2}, keep {Part(MaskAction.Keep):P2}");
        Assert.InRange(share, 0.145, 0.155);
        Assert.InRange(Part(MaskAction.Mask), 0.78, 0.82);
        Assert.InRange(Part(MaskAction.Random), 0.085, 0.115);
        Assert.InRange(Part(MaskAction.Keep), 0.085, 0.115);

        // deterministic per (seed, epoch, sequence); dynamic across epochs and seeds
        var ids0 = sequences.InputIds(3, Tokenizer);
        var a = masker.Mask(ids0, 0, 3);
        var b = new MlmMasker(Tokenizer, 0.15, seed: 42).Mask(ids0, 0, 3);
        Assert.Equal(a.InputIds, b.InputIds);
        Assert.Equal(a.Positions, b.Positions);
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.Actions, b.Actions);
        Assert.NotEqual(a.Positions, masker.Mask(ids0, 1, 3).Positions);
        Assert.NotEqual(a.Positions, new MlmMasker(Tokenizer, 0.15, seed: 7).Mask(ids0, 0, 3).Positions);

        // a tokenizer without [MASK] cannot pretrain
        var noMask = BertTokenizer.FromVocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"]);
        Assert.Contains("no mask token", Assert.Throws<InvalidInputException>(() => new MlmMasker(noMask, 0.15, 1)).Message);
    }

    [Fact]
    public void The_head_still_runs_after_it_is_moved()
    {
        // Module.to(device or dtype) swaps every registered parameter for a new tensor and disposes the old one; on a GPU that is
        // what `to(cuda)` does, here a dtype change stands in for it (on the CPU, to(cpu) changes nothing)
        var config = new BertConfig { VocabSize = 50, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 16 };
        using var head = new BertMlmHead(config, seed: 3);
        head.to(ScalarType.Float64);
        using var hidden = randn(4, 8, ScalarType.Float64);
        using var words = randn(50, 8, ScalarType.Float64);
        using var logits = head.Forward(hidden, words);
        Assert.Equal(new long[] { 4, 50 }, logits.shape);
        Assert.Equal(ScalarType.Float64, logits.dtype);
    }

    [Fact]
    public void The_masked_lm_loss_falls_on_a_corpus_slice_and_the_head_loads_from_a_bert_for_masked_lm_checkpoint()
    {
        var sequences = MlmSequences.FromTexts(Tokenizer, Texts(150), maxLength: 96);
        var config = new BertConfig { HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 128 };
        using var towers = new DualTowers(new BertModel(config, true, seed: 1), null, PoolingMode.Mean, true, CPU, ScalarType.Float32);
        string before = BertCheckpoint.WeightsSha256(towers.Document);
        var recorder = new TrainerFixture.Recorder();
        using var pretrainer = new MaskedLmPretrainer(towers, Tokenizer, new MaskedLmOptions { Epochs = 2, LearningRate = 2e-3, BatchSize = 32, LogEvery = 1 });
        Assert.False(pretrainer.HeadFromCheckpoint);
        var started = DateTime.UtcNow;
        var summary = pretrainer.Train(sequences, recorder);
        log.WriteLine($"{summary.Steps} steps over {sequences.Count} sequences in {(DateTime.UtcNow - started).TotalSeconds:F1} s: loss {summary.FirstLoss:F3} → {summary.LastLoss:F3}, accuracy {summary.LastAccuracy:P1}");

        var losses = recorder.Reports.OfType<MaskedLmStepProgress>().Select(r => r.Loss).ToList();
        Assert.Equal(summary.Steps, losses.Count);
        Assert.Equal(2 * ((sequences.Count + 31) / 32), summary.Steps);
        Assert.InRange(losses[0], Math.Log(config.VocabSize) - 1, Math.Log(config.VocabSize) + 1);  // a fresh head guesses uniformly
        Assert.True(losses.TakeLast(5).Average() < losses.Take(5).Average() - 1.5, $"loss {losses.Take(5).Average():F3} → {losses.TakeLast(5).Average():F3}");
        Assert.True(pretrainer.Curve.TakeLast(5).Average(p => p.Accuracy) > pretrainer.Curve.Take(5).Average(p => p.Accuracy) + 0.005);
        Assert.Equal(("tied", "new", 2, sequences.Count), (summary.Towers, summary.Head, summary.Epochs, summary.Sequences));
        Assert.NotEqual(before, BertCheckpoint.WeightsSha256(towers.Document));
        Assert.Equal(summary.Steps, pretrainer.Curve.Count);

        // the curve file
        string csv = Path.Combine(S.Folder, "mlm-curve-test.csv");
        MaskedLmPretrainer.WriteCurve(csv, pretrainer.Curve);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("step,epoch,loss,accuracy,lr,grad_norm,sequences_per_s", lines[0]);
        Assert.Equal(summary.Steps + 1, lines.Length);

        // the head has BertForMaskedLM's names, and loads from a checkpoint that has them (a plain BertModel has none)
        using var head = new BertMlmHead(config, seed: 5);
        Assert.Equal(["cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias", "cls.predictions.transform.LayerNorm.weight",
            "cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight"], head.HfParameters().Select(p => p.Name).Order(StringComparer.Ordinal));
        using (no_grad()) foreach (var (_, p) in head.HfParameters()) p.uniform_(-1, 1);
        using var dir = new TempDir("dss-mlm-head");
        BertCheckpoint.Save(towers.Document, dir.Path);
        Assert.False(new BertMlmHead(config, seed: 6).TryLoad(dir.Path));
        var tensors = BertCheckpoint.ToSafeTensors(towers.Document).Select(t => t with { Name = "bert." + t.Name }).ToList();
        foreach (var (name, p) in head.HfParameters())
            tensors.Add(SafeTensorsItem.FromFloats(name == "cls.predictions.bias" ? "cls.predictions.decoder.bias" : name, p.detach().data<float>().ToArray(), p.shape));
        SafeTensorsWriter.Write(Path.Combine(dir.Path, BertCheckpoint.WeightsFile), tensors);
        using var loaded = new BertMlmHead(config, seed: 6);
        Assert.True(loaded.TryLoad(dir.Path));
        foreach (var ((name, x), (_, y)) in head.HfParameters().Zip(loaded.HfParameters())) Assert.True(x.eq(y).all().item<bool>(), name);
        using var init = BertCheckpoint.Load(dir.Path); // the bert.-prefixed encoder still loads as a plain BertModel
        Assert.Equal(BertCheckpoint.WeightsSha256(towers.Document), BertCheckpoint.WeightsSha256(init));
    }

    [Fact]
    public void Dss_train_pretrains_then_trains_contrastively_into_a_plain_bert_encoder()
    {
        string output = S.NewOutput("mlm");
        var options = fx.Tiny(output) with
        {
            CorpusPath = SmallCorpus(120), QueriesPath = null, QrelsPath = null, SelfSupervision = SelfSupervision.Crop,
            MlmEpochs = 1, MlmLearningRate = 1e-3, MaxSteps = 3, BatchSize = 8, Precision = TrainingPrecision.BFloat16,
        };
        var recorder = new TrainerFixture.Recorder();
        var result = Trainer.Train(options, recorder);
        var mlm = result.Mlm!;
        log.WriteLine(Trainer.MlmLine(mlm));
        Assert.Equal(1, mlm.Epochs);
        Assert.Equal(120, mlm.Documents);
        Assert.Equal((mlm.Sequences + 31) / 32, mlm.Steps);
        Assert.True(mlm.LastLoss < mlm.FirstLoss);
        Assert.Equal((3L, "bf16"), (result.Steps, result.Precision));

        // progress: the mlm phase, all of it, before the first contrastive step, announced and summed up
        var stages = recorder.Reports.Select(r => (r as ProgressCount)?.Stage).ToList();
        var mlmReports = recorder.Reports.OfType<MaskedLmStepProgress>().ToList();
        Assert.Equal(mlm.Steps, mlmReports.Count);
        Assert.Equal(Enumerable.Range(1, (int)mlm.Steps).Select(i => (long)i), mlmReports.Select(r => r.Done));
        Assert.All(mlmReports, r => Assert.True(r.Total == mlm.Steps && r.SequencesPerSecond > 0 && r.LearningRate > 0));
        Assert.True(stages.LastIndexOf("mlm") < stages.IndexOf("train"));
        Assert.Contains(recorder.Reports, r => r is ProgressNote n && n.Message.StartsWith("masked-LM pretraining: 1 epoch, ", StringComparison.Ordinal));

        // train.json records the phase and its options; the checkpoint carries its summary
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, Trainer.SummaryFile)))!;
        Assert.Equal(mlm.Sequences, (int)summary["result"]!["mlm"]!["sequences"]!);
        Assert.Equal(1, (int)summary["options"]!["mlm_epochs"]!);
        Assert.Equal(mlm, TrainingCheckpoint.ReadState(Checkpoints.List(output)[^1].Path).Mlm);

        // the folder: a plain HF BertModel (no cls.* tensors), the MLM curve, no snapshot left
        var hf = TrainerFixture.SafeTensorsHeader(Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf", "model.safetensors"));
        var saved = TrainerFixture.SafeTensorsHeader(Path.Combine(output, "model.safetensors"));
        Assert.Equal(hf, saved);
        Assert.DoesNotContain(saved.Keys, k => k.StartsWith("cls.", StringComparison.Ordinal));
        Assert.Equal(mlm.Steps + 1, File.ReadAllLines(Path.Combine(output, MaskedLmPretrainer.CurveFile)).Length);
        Assert.False(Directory.Exists(Path.Combine(output, MaskedLmSnapshot.Folder)));
        using var enc = TextEncoder.Load(output);
        Assert.Equal(64, enc.EncodeQuery("heart disease").Length);

        // the options are checked
        Assert.Contains("--mlm-epochs needs --corpus", Assert.Throws<InvalidInputException>(() => Trainer.Train(options with { CorpusPath = null, PairsPath = "p.jsonl" })).Message);
        Assert.Contains("--mlm-probability", Assert.Throws<InvalidInputException>(() => Trainer.Train(options with { MlmProbability = 1 })).Message);
        Assert.Contains("--mlm-batch-size", Assert.Throws<InvalidInputException>(() => Trainer.Train(options with { MlmBatchSize = 0 })).Message);
    }

    [Fact]
    public void A_run_resumed_after_pretraining_or_after_a_checkpoint_equals_a_straight_one_with_untied_towers()
    {
        var baseOptions = fx.Tiny("") with
        {
            CorpusPath = SmallCorpus(100), QueriesPath = null, QrelsPath = null, SelfSupervision = SelfSupervision.Ict, Untied = true,
            MlmEpochs = 1, MlmLearningRate = 1e-3, MlmBatchSize = 48, MaxSteps = 4, CheckpointEvery = 2, BatchSize = 8,
        };
        string straight = S.NewOutput("mlm-straight"), resumed = S.NewOutput("mlm-resumed"), work = resumed + Trainer.PartialSuffix;
        var a = Trainer.Train(baseOptions with { OutputPath = straight });
        Assert.Equal("document→query", a.Mlm!.Towers);

        // interrupted after pretraining, before the first contrastive checkpoint: the snapshot is kept, both towers the pretrained one
        var afterMlm = new TrainerFixture.Recorder(p => p is TrainStepProgress);
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(baseOptions with { OutputPath = resumed }, afterMlm, afterMlm.Cancel.Token));
        Assert.True(Trainer.HasResumableState(work));
        Assert.Empty(Checkpoints.List(work));
        string snapshot = MaskedLmSnapshot.PathIn(work);
        Assert.Equal(File.ReadAllBytes(Path.Combine(snapshot, "query", "model.safetensors")), File.ReadAllBytes(Path.Combine(snapshot, "document", "model.safetensors")));
        Assert.Contains("other settings", Assert.Throws<InvalidInputException>(() => Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true, MlmProbability = 0.2 })).Message);
        Assert.Contains("other settings", Assert.Throws<InvalidInputException>(() => Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true, MlmEpochs = 0 })).Message);

        // resumed: no pretraining again; interrupted once more at the first checkpoint, then resumed from it
        var fromSnapshot = new TrainerFixture.Recorder(p => p is TrainCheckpointProgress { Step: 2 });
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true }, fromSnapshot, fromSnapshot.Cancel.Token));
        Assert.DoesNotContain(fromSnapshot.Reports, r => r is MaskedLmStepProgress);
        Assert.Contains(fromSnapshot.Reports, r => r is ProgressNote n && n.Message.Contains("continuing from", StringComparison.Ordinal));
        var fromCheckpoint = new TrainerFixture.Recorder();
        var b = Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true }, fromCheckpoint);
        Assert.DoesNotContain(fromCheckpoint.Reports, r => r is MaskedLmStepProgress);
        Assert.Equal((2L, 4L), (b.ResumedFromStep!.Value, b.Steps));

        foreach (var tower in new[] { "query", "document" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight, tower, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumed, tower, "model.safetensors")));
        string Last(string dir, string file) => Path.Combine(Checkpoints.List(dir)[^1].Path, file);
        Assert.Equal(File.ReadAllBytes(Last(straight, Checkpoints.OptimizerFile)), File.ReadAllBytes(Last(resumed, Checkpoints.OptimizerFile)));
        var sa = TrainingCheckpoint.ReadState(Checkpoints.List(straight)[^1].Path);
        var sb = TrainingCheckpoint.ReadState(Checkpoints.List(resumed)[^1].Path);
        MaskedLmSummary NoClock(MaskedLmSummary m) => m with { Seconds = 0, SequencesPerSecond = 0 };
        Assert.Equal(sa with { TrainSeconds = 0, Mlm = NoClock(sa.Mlm!) }, sb with { TrainSeconds = 0, Mlm = NoClock(sb.Mlm!) });
        Assert.Equal(NoClock(a.Mlm), NoClock(b.Mlm!));
        var ca = TrainingCurve.ReadCsv(Path.Combine(straight, TrainingCurve.CsvFile)).Points.Select(p => p with { PairsPerSecond = null });
        var cb = TrainingCurve.ReadCsv(Path.Combine(resumed, TrainingCurve.CsvFile)).Points.Select(p => p with { PairsPerSecond = null });
        Assert.Equal(ca, cb);
        static IEnumerable<string> NoSpeed(string file) => File.ReadLines(file).Select(l => string.Join(',', l.Split(',')[..^1]));
        Assert.Equal(NoSpeed(Path.Combine(straight, MaskedLmPretrainer.CurveFile)), NoSpeed(Path.Combine(resumed, MaskedLmPretrainer.CurveFile)));
        using var enc = TextEncoder.Load(resumed);
        Assert.False(enc.Tied);
    }
}
