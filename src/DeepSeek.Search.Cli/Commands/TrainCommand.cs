using System.CommandLine;
using System.Globalization;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Train;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss train`: train a BERT dual encoder with a contrastive loss into an encoder folder for `dss index` / `dss embed`.</summary>
static class TrainCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "Encoder folder to write (appears only when training succeeds; work happens in OUT.partial)", Required = true };
        var init = new Option<string?>("--init") { Description = $"Start from {EncoderArgument.Help}; its pooling, normalisation, prefixes and lengths carry over unless given here; without labels, the output keeps its weights unless held-out pseudo-queries improve. Without it the model starts from scratch" };
        var layers = new Option<int>("--layers") { Description = "From scratch: transformer layers", DefaultValueFactory = _ => 6 };
        var hidden = new Option<int>("--hidden") { Description = "From scratch: hidden size (the embedding dimension)", DefaultValueFactory = _ => 384 };
        var heads = new Option<int>("--heads") { Description = "From scratch: attention heads", DefaultValueFactory = _ => 12 };
        var ffn = new Option<int>("--ffn") { Description = "From scratch: feed-forward size", DefaultValueFactory = _ => 1536 };
        var maxPositions = new Option<int>("--max-positions") { Description = "From scratch: position embeddings", DefaultValueFactory = _ => 512 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder (vocab.txt or tokenizer.json) [default: the --init folder's, else the bundled bert-base-uncased WordPiece vocabulary]" };
        var untied = new Option<bool>("--untied") { Description = "Train separate query and document towers (both start from the same weights)" };

        var corpus = new Option<string?>("--corpus") { Description = "Documents: BEIR corpus.jsonl, generic JSONL or a folder (positives, BM25 negatives, self-supervision, dev search)" };
        var queries = new Option<string?>("--queries") { Description = "BEIR queries.jsonl for --qrels" };
        var qrels = new Option<string?>("--qrels") { Description = "Training judgments (BEIR qrels/train.tsv); a test.tsv is refused, and queries of a test.tsv beside it are left out" };
        var pairs = new Option<string?>("--pairs") { Description = "JSONL pairs: {\"query\", \"positive\" | \"positive_id\", \"negatives\"? | \"negative_ids\"?, \"query_id\"?}" };
        var exclude = new Option<string[]>("--exclude-qrels") { Description = "Evaluation qrels whose queries must never be trained on (repeatable)" };
        var self = new Option<string>("--self-supervised") { Description = "Without --qrels/--pairs: pseudo-pairs from the corpus: ict, crop (Contriever), title, or mix", DefaultValueFactory = _ => "mix" }
            .AcceptOnlyFromAmong("ict", "crop", "title", "mix");
        var hardNegatives = new Option<int?>("--hard-negatives") { Description = "BM25 hard negatives per pair, positives excluded [default: 1 with qrels/pairs over a corpus, 0 for self-supervision]" };
        var negDepth = new Option<int>("--negatives-depth") { Description = "Hard negatives are drawn from the BM25 top N", DefaultValueFactory = _ => 30 };
        var refresh = new Option<int>("--refresh-negatives") { Description = "Every N epochs, re-mine hard negatives with the model being trained (dense top ranks instead of BM25's; supervised only; 0 = never)", DefaultValueFactory = _ => 0 };
        var negSkip = new Option<int>("--negatives-skip") { Description = "Never draw negatives from the BM25 top N (likely unjudged positives)", DefaultValueFactory = _ => 0 };

        var loss = new Option<string>("--loss") { Description = "infonce (in-batch softmax) or triplet (margin ranking)", DefaultValueFactory = _ => "infonce" }.AcceptOnlyFromAmong("infonce", "triplet");
        var temperature = new Option<double>("--temperature") { Description = "InfoNCE temperature", DefaultValueFactory = _ => 0.05 };
        var learnTemperature = new Option<bool>("--learn-temperature") { Description = "Learn the temperature (kept in [0.01, 1])" };
        var symmetric = new Option<bool>("--symmetric") { Description = "InfoNCE in both directions (query→documents and document→queries)" };
        var margin = new Option<double>("--margin") { Description = "Triplet margin (similarity units)", DefaultValueFactory = _ => 0.2 };

        var batch = new Option<int>("--batch-size") { Description = "Pairs per step (in-batch negatives grow with it)", DefaultValueFactory = _ => 32 };
        var chunk = new Option<int>("--chunk-size") { Description = "GradCache: sequences per forward pass, for batches larger than memory (0 = whole batch)", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training pairs", DefaultValueFactory = _ => 1 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Train exactly this many steps (overrides --epochs)", DefaultValueFactory = _ => 0 };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate [default: 2e-5 with --init, 1e-4 from scratch]" };
        var warmup = new Option<double>("--warmup") { Description = "Linear warmup, as a fraction of all steps", DefaultValueFactory = _ => 0.1 };
        var warmupSteps = new Option<int?>("--warmup-steps") { Description = "Linear warmup in steps (overrides --warmup)" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay (not on biases and LayerNorm)", DefaultValueFactory = _ => 0.01 };
        var clip = new Option<double>("--clip") { Description = "Clip the gradient's global L2 norm (0 = off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation, data order, crops and negatives", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto (CUDA needs DSS_LIBTORCH; see README)", DefaultValueFactory = _ => "cpu" };
        var precision = CommonOptions.Precision();
        var threads = new Option<int?>("--threads") { Description = "CPU threads for libtorch [default: all]" };

        var mlmEpochs = new Option<int>("--mlm-epochs") { Description = "First pretrain the document tower with masked-LM (BERT masking) over the --corpus for N epochs (0 = off; untied: then copied into the query tower)", DefaultValueFactory = _ => 0 };
        var mlmLr = new Option<double?>("--mlm-lr") { Description = "Masked-LM peak learning rate [default: 5e-4 from scratch, 5e-5 with --init]" };
        var mlmBatch = new Option<int>("--mlm-batch-size") { Description = "Masked-LM sequences (document windows of --max-doc-length tokens) per step", DefaultValueFactory = _ => 32 };
        var mlmProbability = new Option<double>("--mlm-probability") { Description = "Share of tokens chosen for prediction (80% [MASK], 10% random, 10% kept)", DefaultValueFactory = _ => 0.15 };

        var pooling = new Option<string?>("--pooling") { Description = "mean or cls [default: the --init folder's, else mean]" }.AcceptOnlyFromAmong("mean", "cls");
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Raw dot products instead of L2-normalised (cosine) embeddings" };
        var maxQuery = new Option<int>("--max-query-length") { Description = "Query tokens, [CLS]/[SEP] included [default: the --init folder's, else 64]", DefaultValueFactory = _ => 64 };
        var maxDoc = new Option<int>("--max-doc-length") { Description = "Document tokens, [CLS]/[SEP] included (also the index's chunk length) [default: the --init folder's, else 256]", DefaultValueFactory = _ => 256 };
        var hybridAlpha = new Option<float?>("--hybrid-alpha") { Description = "Dense weight of min-max fusion recorded as the encoder's hybrid default [default: 0.1 self-supervised, 0.5 supervised]" };
        var queryPrefix = new Option<string>("--query-prefix") { Description = "Text put before every query (recorded in dual_encoder.json) [default: the --init folder's, else none]", DefaultValueFactory = _ => "" };
        var docPrefix = new Option<string>("--document-prefix") { Description = "Text put before every document [default: the --init folder's, else none]", DefaultValueFactory = _ => "" };
        var initWeight = new Option<double?>("--init-weight") { Description = "With --init: save w × the --init weights + (1 − w) × the trained ones (WiSE-FT weight interpolation; keeps a pretrained encoder's strengths when the training signal is weak) [default: 0]" };
        var name = new Option<string?>("--name") { Description = "Encoder name in dual_encoder.json [default: the output folder's name]" };

        var devFraction = new Option<double>("--dev-fraction") { Description = "Share of the training queries held out as the dev set (label-free with --init: of the documents, whose pseudo-queries decide whether the adapted weights replace --init's)", DefaultValueFactory = _ => 0.1 };
        var devMax = new Option<int>("--dev-max-queries") { Description = "At most this many dev queries", DefaultValueFactory = _ => 200 };
        var devQueries = new Option<string?>("--dev-queries") { Description = "Explicit dev set: BEIR queries.jsonl (with --dev-qrels), instead of a carved one" };
        var devQrels = new Option<string?>("--dev-qrels") { Description = "Explicit dev judgments (never the test split)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Dev nDCG@10 every N steps (0 = every epoch)", DefaultValueFactory = _ => 0 };
        var evalDocs = new Option<int>("--eval-docs") { Description = "Dev search over the dev positives plus a sample up to N documents (0 = the whole corpus)", DefaultValueFactory = _ => 0 };
        var devMetric = new Option<string>("--dev-metric") { Description = "What early stopping and best-model selection watch: dense or hybrid nDCG@10", DefaultValueFactory = _ => "dense" }
            .AcceptOnlyFromAmong("dense", "hybrid");
        var patience = new Option<int>("--patience") { Description = "Stop after N dev evaluations without improvement (0 = never)", DefaultValueFactory = _ => 0 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Resumable checkpoint every N steps (0 = every epoch)", DefaultValueFactory = _ => 0 };
        var keep = new Option<int>("--keep-checkpoints") { Description = "Checkpoints kept", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue OUT.partial (or a finished OUT) from its newest checkpoint" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder (only once training succeeds)" };
        var logEvery = new Option<int>("--log-every") { Description = "Report loss and throughput every N steps", DefaultValueFactory = _ => 10 };

        var cmd = new Command("train", "Train a dual encoder (contrastive loss over in-batch and BM25 hard negatives) into an encoder folder for index/embed.")
        {
            output, init, layers, hidden, heads, ffn, maxPositions, tokenizer, untied,
            corpus, queries, qrels, pairs, exclude, self, hardNegatives, negDepth, negSkip, refresh,
            loss, temperature, learnTemperature, symmetric, margin,
            batch, chunk, epochs, maxSteps, lr, warmup, warmupSteps, weightDecay, clip, seed, device, precision, threads,
            mlmEpochs, mlmLr, mlmBatch, mlmProbability,
            pooling, noNormalize, maxQuery, maxDoc, queryPrefix, docPrefix, name, hybridAlpha, initWeight,
            devFraction, devMax, devQueries, devQrels, evalEvery, evalDocs, devMetric, patience, checkpointEvery, keep, resume, overwrite, logEvery,
        };
        cmd.SetAction(pr =>
        {
            // a pretrained name is pulled here; the --init folder's encoder settings apply unless an option was given
            string? initDir = EncoderArgument.Resolve(pr.GetValue(init));
            var initSettings = initDir != null && Directory.Exists(initDir) ? DualEncoderConfig.Load(initDir) : null;
            bool Given(Option o) => pr.GetResult(o) is { Implicit: false };
            var options = new TrainOptions
            {
                OutputPath = pr.GetValue(output)!,
                InitPath = initDir,
                Layers = pr.GetValue(layers),
                Hidden = pr.GetValue(hidden),
                Heads = pr.GetValue(heads),
                Ffn = pr.GetValue(ffn),
                MaxPositions = pr.GetValue(maxPositions),
                TokenizerPath = pr.GetValue(tokenizer),
                Untied = pr.GetValue(untied),
                CorpusPath = pr.GetValue(corpus),
                QueriesPath = pr.GetValue(queries),
                QrelsPath = pr.GetValue(qrels),
                PairsPath = pr.GetValue(pairs),
                ExcludeQrelsPaths = pr.GetValue(exclude) ?? [],
                SelfSupervision = pr.GetValue(self) switch { "ict" => SelfSupervision.Ict, "crop" => SelfSupervision.Crop, "title" => SelfSupervision.Title, _ => SelfSupervision.Mix },
                HardNegatives = pr.GetValue(hardNegatives),
                HardNegativeDepth = pr.GetValue(negDepth),
                HardNegativeSkip = pr.GetValue(negSkip),
                RefreshNegativesEvery = pr.GetValue(refresh),
                Loss = pr.GetValue(loss) == "triplet" ? LossKind.Triplet : LossKind.InfoNce,
                Temperature = pr.GetValue(temperature),
                LearnTemperature = pr.GetValue(learnTemperature),
                Symmetric = pr.GetValue(symmetric),
                Margin = pr.GetValue(margin),
                BatchSize = pr.GetValue(batch),
                ChunkSize = pr.GetValue(chunk),
                Epochs = pr.GetValue(epochs),
                MaxSteps = pr.GetValue(maxSteps),
                LearningRate = pr.GetValue(lr),
                WarmupRatio = pr.GetValue(warmup),
                WarmupSteps = pr.GetValue(warmupSteps),
                WeightDecay = pr.GetValue(weightDecay),
                ClipNorm = pr.GetValue(clip),
                Seed = pr.GetValue(seed),
                Device = pr.GetValue(device)!,
                Precision = CommonOptions.ParsePrecision(pr.GetValue(precision)),
                Threads = pr.GetValue(threads),
                MlmEpochs = pr.GetValue(mlmEpochs),
                MlmLearningRate = pr.GetValue(mlmLr),
                MlmBatchSize = pr.GetValue(mlmBatch),
                MlmProbability = pr.GetValue(mlmProbability),
                Pooling = pr.GetValue(pooling) switch { "mean" => PoolingMode.Mean, "cls" => PoolingMode.Cls, _ => null },
                Normalize = pr.GetValue(noNormalize) ? false : null,
                MaxQueryLength = Given(maxQuery) || initSettings == null ? pr.GetValue(maxQuery) : initSettings.MaxQueryLength,
                MaxDocumentLength = Given(maxDoc) || initSettings == null ? pr.GetValue(maxDoc) : initSettings.MaxDocumentLength,
                QueryPrefix = Given(queryPrefix) || initSettings == null ? pr.GetValue(queryPrefix) ?? "" : initSettings.QueryPrefix,
                HybridAlpha = pr.GetValue(hybridAlpha),
                InitWeight = pr.GetValue(initWeight),
                DocumentPrefix = Given(docPrefix) || initSettings == null ? pr.GetValue(docPrefix) ?? "" : initSettings.DocumentPrefix,
                Name = pr.GetValue(name),
                DevFraction = pr.GetValue(devFraction),
                DevMaxQueries = pr.GetValue(devMax),
                DevQueriesPath = pr.GetValue(devQueries),
                DevQrelsPath = pr.GetValue(devQrels),
                EvalEvery = pr.GetValue(evalEvery),
                EvalDocuments = pr.GetValue(evalDocs),
                DevMetric = pr.GetValue(devMetric) == "hybrid" ? DevMetric.Hybrid : DevMetric.Dense,
                Patience = pr.GetValue(patience),
                CheckpointEvery = pr.GetValue(checkpointEvery),
                KeepCheckpoints = pr.GetValue(keep),
                Resume = pr.GetValue(resume),
                Overwrite = pr.GetValue(overwrite),
                LogEvery = pr.GetValue(logEvery),
            };

            var result = TrainingRuns.Interruptible(options.OutputPath, Trainer.HasResumableState,
                ct => ConsoleProgress.Run(progress => Trainer.Train(options, progress, ct)));

            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"trained {result.Steps:N0} step(s) ({result.Supervision}, {result.TrainingExamples:N0} training {(result.Supervision.StartsWith("self", StringComparison.Ordinal) ? "documents" : "pairs")}) into {result.OutputPath}" +
                (result.StoppedEarly ? " — stopped early" : ""));
            if (result.Mlm is { } mlm) Console.WriteLine(Trainer.MlmLine(mlm));
            if (result.FirstLoss is double first && result.LastLoss is double last)
                Console.WriteLine(string.Create(inv, $"loss       {first:F4} → {last:F4}"));
            if (result.BestDev is { } best)
                Console.WriteLine(string.Create(inv, $"dev nDCG@10 dense {result.InitialDev?.DenseNdcg:F4} → {best.DenseNdcg:F4}") +
                    (best.HybridNdcg is double h ? string.Create(inv, $", hybrid {result.InitialDev?.HybridNdcg:F4} → {h:F4}") : "") +
                    $" (best at step {result.BestStep}, {result.DevQueries} {(result.KeptInit is null ? "dev queries" : "held-out pseudo-queries")}" +
                    $"{(result.KeptInit == true ? "; kept the --init weights" : result.SavedBest ? "; saved weights are the best step's" : "")})");
            Console.WriteLine(string.Create(inv, $"throughput {result.PairsPerSecond:F1} pairs/s on {result.Device} ({result.Precision}), {result.Parameters:N0} trainable parameters"));
            if (result.ExcludedQueries > 0)
                Console.WriteLine($"left out   {result.ExcludedQueries} evaluation quer{(result.ExcludedQueries == 1 ? "y" : "ies")} ({string.Join(", ", result.ExcludedQrels)})");
            Console.WriteLine($"curve      {Path.Combine(result.OutputPath, TrainingCurve.PngFile)}");
            if (result.Mlm != null) Console.WriteLine($"mlm curve  {Path.Combine(result.OutputPath, DeepSeek.Search.Train.Pretraining.MaskedLmPretrainer.CurveFile)}");
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
