using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Encode;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Text.Tokenization;
using Xunit.Abstractions;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Tests;

public class TrainerTests(TrainerFixture fx, ITestOutputHelper log) : IClassFixture<TrainerFixture>
{
    SciFactSlice S => fx.Slice;

    [Fact]
    public void Trains_from_scratch_into_an_encoder_folder_that_beats_its_random_initialisation()
    {
        string output = S.NewOutput();
        var recorder = new TrainerFixture.Recorder();
        var options = fx.Tiny(output) with { Epochs = 4 };
        var result = Trainer.Train(options, recorder);
        log.WriteLine(System.Text.Json.JsonSerializer.Serialize(result));

        // the loss falls
        var losses = recorder.Losses;
        Assert.Equal(result.Steps, losses.Count);
        Assert.True(losses.TakeLast(5).Average() < 0.5 * losses.Take(5).Average(), $"loss {losses.Take(5).Average():F3} → {losses.TakeLast(5).Average():F3}");
        Assert.Equal(4 * result.StepsPerEpoch, result.Steps);

        // the dev split (carved from the training queries) improved, and the held-out test slice was never trained on
        Assert.True(result.DevQueries > 0);
        Assert.True(result.BestDev!.DenseNdcg > result.InitialDev!.DenseNdcg + 0.1, $"dev {result.InitialDev.DenseNdcg:F3} → {result.BestDev.DenseNdcg:F3}");
        Assert.Contains(Path.GetFullPath(S.HeldOutQrels), result.ExcludedQrels);
        Assert.Equal(0, result.ExcludedQueries);
        Assert.Equal(300 - result.DevQueries, result.TrainingQueries);

        // the folder: HF BertModel files, tokenizer, dual_encoder.json, curve, summary, one checkpoint; no work folder left
        foreach (var f in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "dual_encoder.json", TrainingCurve.CsvFile, TrainingCurve.PngFile, Trainer.SummaryFile })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
        Assert.Single(Checkpoints.List(output));
        Assert.False(Directory.Exists(output + Trainer.PartialSuffix));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(output, TrainingCurve.PngFile)).Take(4));
        var curve = TrainingCurve.ReadCsv(Path.Combine(output, TrainingCurve.CsvFile));
        Assert.Equal(result.Steps, curve.Points.Count(p => p.Loss is not null));
        Assert.Equal(5, curve.Points.Count(p => p.DevNdcg is not null));          // before training and after each epoch
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(output, Trainer.SummaryFile)))!["result"]);

        // Hugging Face's BertModel layout: the same tensor names, dtypes and shapes as transformers' own save of this shape
        var hf = TrainerFixture.SafeTensorsHeader(Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf", "model.safetensors"));
        Assert.Equal(hf, TrainerFixture.SafeTensorsHeader(Path.Combine(output, "model.safetensors")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal("bert", (string?)config["model_type"]);
        Assert.Equal("BertModel", (string?)config["architectures"]![0]);

        // `dss index` / `dss embed` load it, with the trained settings; and it beats its random initialisation on held-out queries
        using var trained = TextEncoder.Load(output);
        Assert.Equal(64, trained.Dimension);
        Assert.Equal((32, 96, PoolingMode.Mean, true), (trained.MaxQueryLength, trained.MaxDocumentLength, trained.Pooling, trained.Normalize));
        Assert.False(trained.UsesBundledVocabulary);
        var random = new BertModel(new BertConfig { HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 128 }, true, options.Seed);
        using var initial = TextEncoder.Create(random, null, BertTokenizer.BundledUncased(), new DualEncoderConfig { MaxQueryLength = 32, MaxDocumentLength = 96 });
        double before = fx.HeldOutNdcg(initial), after = fx.HeldOutNdcg(trained);
        log.WriteLine($"held-out nDCG@10: random init {before:F4}, trained {after:F4}");
        Assert.True(after > before + 0.05, $"held-out nDCG@10: random init {before:F4}, trained {after:F4}");
    }

    [Fact]
    public void Resume_continues_bit_identically_and_can_extend_a_finished_run()
    {
        var baseOptions = fx.Tiny("") with { MaxSteps = 6, CheckpointEvery = 3, EvalEvery = 3, EvalDocuments = 150, LearnTemperature = true, KeepCheckpoints = 2 };
        string straight = S.NewOutput("straight"), resumed = S.NewOutput("resumed");
        var a = Trainer.Train(baseOptions with { OutputPath = straight });

        var interrupted = new TrainerFixture.Recorder(p => p is TrainCheckpointProgress { Step: 3 });
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(baseOptions with { OutputPath = resumed }, interrupted, interrupted.Cancel.Token));
        Assert.False(Directory.Exists(resumed));
        Assert.Equal([3L], Checkpoints.List(resumed + Trainer.PartialSuffix).Select(c => c.Step));

        var b = Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true });
        Assert.Equal(3, b.ResumedFromStep);
        Assert.Equal(6, b.Steps);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumed, "model.safetensors")));
        string Last(string dir, string file) => Path.Combine(Checkpoints.List(dir)[^1].Path, file);
        Assert.Equal(File.ReadAllBytes(Last(straight, Checkpoints.OptimizerFile)), File.ReadAllBytes(Last(resumed, Checkpoints.OptimizerFile)));
        var sa = TrainingCheckpoint.ReadState(Checkpoints.List(straight)[^1].Path);
        var sb = TrainingCheckpoint.ReadState(Checkpoints.List(resumed)[^1].Path);
        Assert.Equal(sa with { TrainSeconds = 0 }, sb with { TrainSeconds = 0 });
        Assert.NotEqual(TrainState.FloatBits((float)Math.Log(1 / 0.05)), sa.LogitScaleBits);     // the temperature did learn
        // the curves agree on everything but wall-clock throughput
        var ca = TrainingCurve.ReadCsv(Path.Combine(straight, TrainingCurve.CsvFile)).Points.Select(p => p with { PairsPerSecond = null });
        var cb = TrainingCurve.ReadCsv(Path.Combine(resumed, TrainingCurve.CsvFile)).Points.Select(p => p with { PairsPerSecond = null });
        Assert.Equal(ca, cb);
        Assert.Equal(a.BestDev, b.BestDev);

        // other settings cannot resume that run
        var e = Assert.Throws<InvalidInputException>(() => Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true, MaxSteps = 8, LearningRate = 5e-4 }));
        Assert.Contains("other settings", e.Message);
        // a finished run has nothing left at the same length ...
        Assert.Contains("nothing left to train", Assert.Throws<InvalidInputException>(() => Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true })).Message);
        // ... and extends from its last checkpoint when given more steps
        var extended = Trainer.Train(baseOptions with { OutputPath = resumed, Resume = true, MaxSteps = 8 });
        Assert.Equal((6L, 8L), (extended.ResumedFromStep!.Value, extended.Steps));
        using var enc = TextEncoder.Load(resumed);
        Assert.Equal(64, enc.Dimension);
    }

    [Fact]
    public void Hard_negatives_refreshed_with_the_model_exclude_positives_and_resume_identically()
    {
        var options = fx.Tiny("") with { Epochs = 3, RefreshNegativesEvery = 1, HardNegatives = 2, LogEvery = 50 };
        string straight = S.NewOutput("refresh-straight"), resumed = S.NewOutput("refresh-resumed");
        var log = new TrainerFixture.Recorder();
        var a = Trainer.Train(options with { OutputPath = straight }, log);
        var refreshes = log.Reports.OfType<NegativeRefreshProgress>().Select(r => r.Epoch).ToList();
        Assert.Equal([1, 2], refreshes);

        // the candidates: dense ranks of the model, never a judged positive of the query, not BM25's lists
        var corpus = TrainingCorpus.Load(S.Corpus);
        var data = SupervisedData.FromBeir(S.Queries, S.TrainQrels, corpus);
        using var bm25 = Bm25NegativeMiner.Open(Path.Combine(S.NewOutput("refresh-bm25")), corpus, options.HardNegativeDepth, options.HardNegativeSkip);
        int differs = 0;
        foreach (var epoch in new[] { 1, 2 })
        {
            var candidates = DenseNegativeMiner.Load(Path.Combine(straight, Trainer.DenseNegativesFolder, $"epoch-{epoch:D4}.json"), corpus);
            Assert.True(candidates.Count > 100, $"{candidates.Count} queries re-mined");
            foreach (var (query, list) in candidates)
            {
                Assert.Equal(options.HardNegativeDepth, list.Count);
                Assert.DoesNotContain(list, id => data.Relevant[query].Contains(id));
                var pair = data.Pairs.First(p => p.QueryKey == query);
                if (!list.SequenceEqual(bm25.Candidates(query, pair.Query, data.Relevant[query]))) differs++;
            }
        }
        Assert.True(differs > 100, $"only {differs} refreshed lists differ from BM25's");
        // once in use, every sampled negative comes from the refreshed list of its query
        var set = TrainingSet.Supervised(data, bm25, 2, 7);
        var refreshed = DenseNegativeMiner.Load(Path.Combine(straight, Trainer.DenseNegativesFolder, "epoch-0001.json"), corpus);
        set.UseCandidates(refreshed);
        for (int i = 0; i < 40; i++)
        {
            var ex = set.Example(1, i);
            var key = data.Pairs[i].QueryKey;
            if (refreshed.TryGetValue(key, out var allowed)) Assert.All(ex.Negatives, n => Assert.Contains(n.Id, allowed));
        }

        // interrupted after the first refresh, resumed: the refresh is read back, and the result is bit-identical
        int checkpointAt = a.StepsPerEpoch + 2;
        var interrupted = new TrainerFixture.Recorder(p => p is TrainCheckpointProgress c && c.Step == checkpointAt);
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(options with { OutputPath = resumed, CheckpointEvery = checkpointAt }, interrupted, interrupted.Cancel.Token));
        var again = new TrainerFixture.Recorder();
        var b = Trainer.Train(options with { OutputPath = resumed, CheckpointEvery = checkpointAt, Resume = true }, again);
        Assert.Equal(checkpointAt, b.ResumedFromStep);
        Assert.Equal([2], again.Reports.OfType<NegativeRefreshProgress>().Select(r => r.Epoch).ToList());
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumed, "model.safetensors")));

        // refreshing needs supervision and hard negatives
        Assert.Contains("--refresh-negatives needs supervised", Assert.Throws<InvalidInputException>(() =>
            Trainer.Train(options with { OutputPath = S.NewOutput("refresh-self"), QueriesPath = null, QrelsPath = null })).Message);
        Assert.Contains("--refresh-negatives needs hard negatives", Assert.Throws<InvalidInputException>(() =>
            Trainer.Train(options with { OutputPath = S.NewOutput("refresh-none"), HardNegatives = 0 })).Message);
    }

    [Fact]
    public void A_failed_run_never_touches_an_existing_output()
    {
        string output = S.NewOutput("existing");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "marker.txt"), "old model");
        var options = fx.Tiny(output) with { MaxSteps = 4, CheckpointEvery = 2, DevFraction = 0 };

        Assert.Contains("already exists", Assert.Throws<InvalidInputException>(() => Trainer.Train(options)).Message);

        var recorder = new TrainerFixture.Recorder(p => p is TrainCheckpointProgress);
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(options with { Overwrite = true }, recorder, recorder.Cancel.Token));
        Assert.Equal(["marker.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("old model", File.ReadAllText(Path.Combine(output, "marker.txt")));
        Assert.True(Directory.Exists(output + Trainer.PartialSuffix));

        // a failure (here: bad data) leaves it alone too
        string pairs = Path.Combine(S.Folder, "bad-pairs.jsonl");
        File.WriteAllText(pairs, """{"query": "q", "positive_id": "no-such-doc"}""" + "\n");
        Assert.Throws<MalformedRecordException>(() => Trainer.Train(options with { Overwrite = true, QueriesPath = null, QrelsPath = null, PairsPath = pairs }));
        Assert.Equal("old model", File.ReadAllText(Path.Combine(output, "marker.txt")));

        // success replaces it, leaving no trace of the old folder
        var result = Trainer.Train(options with { Overwrite = true });
        Assert.Equal(4, result.Steps);
        Assert.False(File.Exists(Path.Combine(output, "marker.txt")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        Assert.DoesNotContain(Directory.GetDirectories(S.Folder), d => Path.GetFileName(d).StartsWith(Path.GetFileName(output) + ".", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unfinished_run_must_be_resumed_or_overwritten()
    {
        string output = S.NewOutput("unfinished");
        var options = fx.Tiny(output) with { MaxSteps = 4, CheckpointEvery = 2, DevFraction = 0 };
        var recorder = new TrainerFixture.Recorder(p => p is TrainCheckpointProgress);
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(options, recorder, recorder.Cancel.Token));
        Assert.Contains("unfinished run", Assert.Throws<InvalidInputException>(() => Trainer.Train(options)).Message);
        Assert.Equal(4, Trainer.Train(options with { Overwrite = true }).Steps);
        Assert.Contains("nothing to resume", Assert.Throws<InvalidInputException>(() => Trainer.Train(options with { OutputPath = S.NewOutput("none"), Resume = true })).Message);

        // interrupted after its last step but before the output was written: resuming just writes it
        string late = S.NewOutput("late");
        var lateRecorder = new TrainerFixture.Recorder(p => p is TrainCheckpointProgress { Step: 4 });
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(options with { OutputPath = late }, lateRecorder, lateRecorder.Cancel.Token));
        Assert.False(Directory.Exists(late));
        var finished = Trainer.Train(options with { OutputPath = late, Resume = true });
        Assert.Equal((4L, 4L), (finished.ResumedFromStep!.Value, finished.Steps));
        Assert.True(File.Exists(Path.Combine(late, "model.safetensors")));

        // a run that fails before its first checkpoint leaves nothing to resume, and nothing behind
        string early = S.NewOutput("early-cancel");
        var earlyRecorder = new TrainerFixture.Recorder(p => p is TrainStepProgress);
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(options with { OutputPath = early }, earlyRecorder, earlyRecorder.Cancel.Token));
        Assert.False(Directory.Exists(early + Trainer.PartialSuffix));
    }

    [Fact]
    public void Bad_init_folders_are_clear_errors_and_leave_nothing_behind()
    {
        string hf = Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf");
        using var dir = new TempDir("dss-train-init");
        string MakeInit(string name, Func<JsonNode, JsonNode> edit)
        {
            string d = Path.Combine(dir.Path, name);
            Directory.CreateDirectory(d);
            File.Copy(Path.Combine(hf, "model.safetensors"), Path.Combine(d, "model.safetensors"));
            var config = edit(JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!);
            File.WriteAllText(Path.Combine(d, "config.json"), config.ToJsonString());
            return d;
        }
        var cases = new (string Init, string Expected)[]
        {
            (MakeInit("heads", c => { c["num_attention_heads"] = 5; return c; }), "not divisible"),
            (MakeInit("roberta", c => { c["model_type"] = "roberta"; return c; }), "is not 'bert'"),
            (MakeInit("shape", c => { c["intermediate_size"] = 256; return c; }), "has shape"),
            (Path.Combine(dir.Path, "absent"), "not found"),
        };
        foreach (var (init, expected) in cases)
        {
            string output = S.NewOutput("bad-init");
            var e = Assert.Throws<CheckpointException>(() => Trainer.Train(fx.Tiny(output) with { InitPath = init, MaxSteps = 1 }));
            Assert.Contains(expected, e.Message);
            Assert.False(Directory.Exists(output));
            Assert.False(Directory.Exists(output + Trainer.PartialSuffix));
        }
    }

    [Fact]
    public void Label_free_adaptation_of_an_init_encoder_keeps_the_init_weights_unless_held_out_pseudo_queries_improve()
    {
        string hf = Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf");
        string initSha;
        using (var init = BertCheckpoint.Load(hf)) initSha = BertCheckpoint.WeightsSha256(init);
        int usable = new SelfSupervisedPairs(TrainingCorpus.Load(S.Corpus), SelfSupervision.Crop).Count;
        var labelFree = fx.Tiny("") with { InitPath = hf, QueriesPath = null, QrelsPath = null, SelfSupervision = SelfSupervision.Crop };

        // a step too small to change anything: no evaluation beats the --init weights by the margin, so the output is them, bit for bit
        string keptDir = S.NewOutput("gate-kept");
        var kept = Trainer.Train(labelFree with { OutputPath = keptDir, LearningRate = 1e-12, MaxSteps = 2, EvalEvery = 1 });
        Assert.True(kept.KeptInit);
        Assert.Equal(0, kept.BestStep);
        Assert.True(kept.SavedBest);
        Assert.Equal((int)Math.Round(0.1 * usable, MidpointRounding.AwayFromZero), kept.DevQueries);
        Assert.Equal(usable - kept.DevQueries, kept.TrainingExamples);       // the held-out documents are not trained on
        using (var enc = TextEncoder.Load(keptDir)) Assert.Equal(initSha, BertCheckpoint.WeightsSha256(enc.QueryModel));

        // real training of this barely trained model does improve its default search (RRF) on the held-out pseudo-queries: adapted weights
        string adaptedDir = S.NewOutput("gate-adapted");
        var adapted = Trainer.Train(labelFree with { OutputPath = adaptedDir, Epochs = 3 });
        log.WriteLine($"pseudo-query dev: init {adapted.InitialDev!.HybridNdcg:F4}, best {adapted.BestDev!.HybridNdcg:F4} at step {adapted.BestStep}");
        Assert.False(adapted.KeptInit);
        Assert.True(adapted.BestStep > 0);
        Assert.True(adapted.BestDev.HybridNdcg >= adapted.InitialDev.HybridNdcg + Trainer.AdaptationMargin);
        using (var enc = TextEncoder.Load(adaptedDir)) Assert.NotEqual(initSha, BertCheckpoint.WeightsSha256(enc.QueryModel));

        // supervised training and from-scratch self-supervision are not gated
        Assert.Null(Trainer.Train(labelFree with { OutputPath = S.NewOutput("no-gate"), InitPath = null, MaxSteps = 1 }).KeptInit);
    }

    [Fact]
    public void Bad_training_data_is_a_clear_error()
    {
        string empty = Path.Combine(S.Folder, "empty-pairs.jsonl");
        File.WriteAllText(empty, "\n");
        var noQrels = fx.Tiny(S.NewOutput("bad-data")) with { QueriesPath = null, QrelsPath = null };
        Assert.Contains("empty training set", Assert.Throws<InvalidInputException>(() => Trainer.Train(noQrels with { PairsPath = empty })).Message);
        Assert.Contains("evaluation (test) split", Assert.Throws<InvalidInputException>(() => Trainer.Train(fx.Tiny(S.NewOutput("bad-data")) with { QrelsPath = S.HeldOutQrels })).Message);
        Assert.Contains("--qrels needs --queries", Assert.Throws<InvalidInputException>(() => Trainer.Train(fx.Tiny(S.NewOutput()) with { QueriesPath = null })).Message);
        Assert.Contains("no training data", Assert.Throws<InvalidInputException>(() => Trainer.Train(noQrels with { CorpusPath = null })).Message);
        Assert.Contains("max_position_embeddings", Assert.Throws<InvalidInputException>(() => Trainer.Train(fx.Tiny(S.NewOutput()) with { MaxPositions = 64 })).Message);
    }

    [Fact]
    public void Starts_from_a_huggingface_checkpoint_with_pairs_untied_towers_triplet_loss_and_bf16()
    {
        string hf = Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf");
        string pairs = Path.Combine(S.Folder, "pairs.jsonl");
        var qrels = Eval.QrelsReader.Read(S.TrainQrels);
        var queries = Eval.QueriesReader.Read(S.Queries).ToDictionary(q => q.Id, q => q.Text);
        File.WriteAllLines(pairs, qrels.QueryIds.SelectMany(q => qrels.For(q).Keys.Select(d =>
            new JsonObject { ["query"] = queries[q], ["query_id"] = q, ["positive_id"] = d }.ToJsonString())));
        string output = S.NewOutput("from-hf");
        var options = fx.Tiny(output) with
        {
            InitPath = hf, QueriesPath = null, QrelsPath = null, PairsPath = pairs, Untied = true, Loss = LossKind.Triplet,
            Precision = TrainingPrecision.BFloat16, MaxSteps = 6, DevFraction = 0, LearningRate = 1e-3,
        };
        var recorder = new TrainerFixture.Recorder();
        var result = Trainer.Train(options, recorder);
        Assert.Equal("pairs", result.Supervision);
        Assert.Equal("bf16", result.Precision);
        Assert.Null(result.FinalTemperature);
        Assert.False(result.SavedBest);
        Assert.All(recorder.Losses, l => Assert.True(double.IsFinite(l) && l >= 0));

        var settings = DualEncoderConfig.Load(output);
        Assert.False(settings.Tied);
        using var enc = TextEncoder.Load(output);
        Assert.False(enc.Tied);
        Assert.True(enc.UsesBundledVocabulary == false);                 // the tokenizer was written beside the towers
        Assert.NotEqual(BertCheckpoint.WeightsSha256(enc.QueryModel), BertCheckpoint.WeightsSha256(enc.DocumentModel));
        using var init = BertCheckpoint.Load(hf);
        Assert.NotEqual(BertCheckpoint.WeightsSha256(init), BertCheckpoint.WeightsSha256(enc.QueryModel));
        Assert.Equal(TrainerFixture.SafeTensorsHeader(Path.Combine(hf, "model.safetensors")).Keys,
            TrainerFixture.SafeTensorsHeader(Path.Combine(output, "query", "model.safetensors")).Keys);
    }

    [Fact]
    public void Running_out_of_device_memory_is_a_clear_error_naming_the_batch_size()
    {
        // libtorch's CUDA allocator message, as TorchSharp surfaces it (no GPU in CI: the translation is what is checked here)
        var options = fx.Tiny(S.NewOutput("oom")) with { Device = "cuda", BatchSize = 4096 };
        var cuda = new System.Runtime.InteropServices.ExternalException(
            "CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.18 GiB\nException raised from malloc at CUDACachingAllocator.cpp");
        var e = Trainer.OutOfDeviceMemory(cuda, options);
        Assert.NotNull(e);
        Assert.Contains("--batch-size 4096", e!.Message);
        Assert.Contains("--chunk-size", e.Message);
        Assert.Contains("Tried to allocate 20.00 GiB", e.Message);
        Assert.DoesNotContain("CUDACachingAllocator", e.Message);
        Assert.Null(Trainer.OutOfDeviceMemory(new InvalidOperationException("shape mismatch"), options));
        Assert.Null(Trainer.OutOfDeviceMemory(new InvalidInputException("empty training set"), options));
    }

    [Fact]
    public void Self_supervision_from_the_corpus_alone_with_gradcache_and_learned_temperature()
    {
        string output = S.NewOutput("self");
        var options = fx.Tiny(output) with
        {
            QueriesPath = null, QrelsPath = null, SelfSupervision = SelfSupervision.Mix, ChunkSize = 8, Symmetric = true,
            LearnTemperature = true, Epochs = 1, BatchSize = 16,
        };
        var recorder = new TrainerFixture.Recorder();
        var result = Trainer.Train(options, recorder);
        Assert.Equal("self-supervised:mix", result.Supervision);
        Assert.Equal(S.DocumentCount / 16, result.Steps);
        Assert.Equal(0, result.DevQueries);
        var losses = recorder.Losses;
        Assert.True(losses.TakeLast(5).Average() < losses.Take(5).Average(), $"loss {losses.Take(5).Average():F3} → {losses.TakeLast(5).Average():F3}");
        Assert.NotEqual(0.05, result.FinalTemperature!.Value, 4);
        using var enc = TextEncoder.Load(output);
        Assert.Equal(64, enc.EncodeQuery("heart disease").Length);
        // a self-supervised encoder recommends min-max fusion with a small dense weight for hybrid search
        Assert.Equal("minmax", enc.Config.HybridFusion);
        Assert.Equal(0.1f, enc.Config.HybridAlpha);
    }

    [Fact]
    public void Early_stopping_keeps_the_best_evaluation()
    {
        // a learning rate too small to move float32 weights: the dev score never improves on the initial one
        string output = S.NewOutput("early");
        var options = fx.Tiny(output) with { LearningRate = 1e-12, MaxSteps = 10, EvalEvery = 1, Patience = 2, EvalDocuments = 100 };
        var result = Trainer.Train(options);
        Assert.True(result.StoppedEarly);
        Assert.Equal(2, result.Steps);
        Assert.Equal(0, result.BestStep);
        Assert.True(result.SavedBest);
        Assert.Equal(result.InitialDev, result.BestDev);
    }
}
