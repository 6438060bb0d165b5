using System.CommandLine;
using System.Globalization;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Train;
using DeepSeek.Search.Training;
using DeepSeek.Search.Generate.Training;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss train-lm`: train a small DeepSeek-V3 mixture-of-experts language model from scratch into a Hugging Face folder.</summary>
static class TrainLmCommand
{
    public static Command Create()
    {
        var corpus = new Option<string?>("--corpus") { Description = "Text to learn from: BEIR corpus.jsonl, generic JSONL, a folder of .txt/.md/.html, or a plain text file (documents separated by blank lines)" };
        var sft = new Option<string?>("--sft") { Description = "Supervised pairs instead of --corpus: JSONL of {\"prompt\", \"response\"[, \"system\"]}, in the model's chat format, loss on the response only" };
        var init = new Option<string?>("--init") { Description = "Start from this DeepSeek Hugging Face folder (its config and tokenizer; the model-size options are ignored)" };
        var loraRank = new Option<int?>("--lora-rank") { Description = "Fine-tune --init with LoRA adapters of this rank (base frozen) and write a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)" };
        var loraAlpha = new Option<double?>("--lora-alpha") { Description = "LoRA alpha (scaling alpha/rank) [default: 2 × rank]" };
        var loraTargets = new Option<string?>("--lora-targets") { Description = "Modules to adapt, comma-separated: q_proj, q_a_proj, q_b_proj, kv_a_proj_with_mqa, kv_b_proj, o_proj, gate_proj, up_proj, down_proj, lm_head; kv_proj = both kv projections, attention, mlp [default: attention]" };
        var rsLora = new Option<bool>("--rslora") { Description = "Rank-stabilised LoRA scaling alpha/sqrt(rank)" };
        var output = new Option<string>("--out", "-o", "--output") { Description = "Model folder to write (appears only when training succeeds; work happens in OUT.partial)", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with a Hugging Face tokenizer.json (+ tokenizer_config.json) [default: train a byte-level BPE on the corpus]" };
        var vocab = new Option<int>("--vocab-size") { Description = "Ids of the trained BPE (3 special tokens + 256 bytes + merges)", DefaultValueFactory = _ => 4096 };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per training block", DefaultValueFactory = _ => 128 };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share of the blocks held out for validation loss (every round(1/f)-th block)", DefaultValueFactory = _ => 0.05 };
        var valMax = new Option<int>("--val-max-blocks") { Description = "Validation loss over at most N held-out blocks (0 = all)", DefaultValueFactory = _ => 256 };

        var hidden = new Option<int>("--hidden") { Description = "hidden_size", DefaultValueFactory = _ => 128 };
        var layers = new Option<int>("--layers") { Description = "num_hidden_layers", DefaultValueFactory = _ => 2 };
        var denseLayers = new Option<int>("--dense-layers") { Description = "first_k_dense_replace: leading layers with a dense MLP (the rest are MoE)", DefaultValueFactory = _ => 1 };
        var intermediate = new Option<int>("--intermediate") { Description = "intermediate_size of the dense MLP", DefaultValueFactory = _ => 384 };
        var heads = new Option<int>("--heads") { Description = "num_attention_heads", DefaultValueFactory = _ => 4 };
        var kvLora = new Option<int>("--kv-lora-rank") { Description = "kv_lora_rank (MLA latent width)", DefaultValueFactory = _ => 64 };
        var qLora = new Option<int>("--q-lora-rank") { Description = "q_lora_rank (0 = a single q_proj)", DefaultValueFactory = _ => 0 };
        var nope = new Option<int>("--qk-nope-dim") { Description = "qk_nope_head_dim", DefaultValueFactory = _ => 32 };
        var rope = new Option<int>("--qk-rope-dim") { Description = "qk_rope_head_dim (even)", DefaultValueFactory = _ => 16 };
        var vDim = new Option<int>("--v-head-dim") { Description = "v_head_dim", DefaultValueFactory = _ => 32 };
        var experts = new Option<int>("--experts") { Description = "n_routed_experts", DefaultValueFactory = _ => 8 };
        var topK = new Option<int>("--experts-per-token") { Description = "num_experts_per_tok (top-K)", DefaultValueFactory = _ => 2 };
        var shared = new Option<int>("--shared-experts") { Description = "n_shared_experts", DefaultValueFactory = _ => 1 };
        var moeIntermediate = new Option<int>("--moe-intermediate") { Description = "moe_intermediate_size (per expert)", DefaultValueFactory = _ => 128 };
        var groups = new Option<int>("--expert-groups") { Description = "n_group of group-limited routing (1 = none)", DefaultValueFactory = _ => 1 };
        var topkGroup = new Option<int?>("--topk-group") { Description = "topk_group [default: --expert-groups]" };
        var scaling = new Option<double>("--routed-scaling") { Description = "routed_scaling_factor", DefaultValueFactory = _ => 1.0 };
        var ropeTheta = new Option<double>("--rope-theta") { Description = "RoPE base", DefaultValueFactory = _ => 10000.0 };
        var maxPositions = new Option<int?>("--max-positions") { Description = "max_position_embeddings [default: max(4096, --seq-len)]" };
        var tie = new Option<bool>("--tie-embeddings") { Description = "Share the embedding matrix with the LM head" };
        var initStd = new Option<double>("--init-std") { Description = "initializer_range (normal std of the initial weights)", DefaultValueFactory = _ => 0.02 };

        var batch = new Option<int>("--batch-size") { Description = "Blocks per step", DefaultValueFactory = _ => 16 };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training blocks", DefaultValueFactory = _ => 1 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Train exactly this many steps (overrides --epochs)", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 1e-3 };
        var schedule = new Option<string>("--schedule") { Description = "Decay after warmup: cosine, linear or constant", DefaultValueFactory = _ => "cosine" }
            .AcceptOnlyFromAmong("cosine", "linear", "constant");
        var minLr = new Option<double>("--min-lr-ratio") { Description = "cosine/linear decay ends at peak × this", DefaultValueFactory = _ => 0.1 };
        var warmup = new Option<double>("--warmup") { Description = "Linear warmup, as a fraction of all steps", DefaultValueFactory = _ => 0.05 };
        var warmupSteps = new Option<int?>("--warmup-steps") { Description = "Linear warmup in steps (overrides --warmup)" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay (matrices only; not norms and biases)", DefaultValueFactory = _ => 0.1 };
        var beta2 = new Option<double>("--beta2") { Description = "AdamW β2 (β1 is 0.9)", DefaultValueFactory = _ => 0.95 };
        var clip = new Option<double>("--clip") { Description = "Clip the gradient's global L2 norm (0 = off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation and batch order", DefaultValueFactory = _ => 42 };
        var biasSpeed = new Option<double>("--bias-update-speed") { Description = "γ of DeepSeek-V3's aux-loss-free balancing: after every step b_i += γ·sign(mean(c) − c_i) (0 = off)", DefaultValueFactory = _ => 0.001 };
        var seqAux = new Option<double>("--seq-aux-loss") { Description = "α of the sequence-wise balance loss (0 = off; DeepSeek-V3 used 1e-4)", DefaultValueFactory = _ => 0.0 };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto (CUDA needs DSS_LIBTORCH; see README)", DefaultValueFactory = _ => "cpu" };
        var precision = new Option<string>("--precision") { Description = "auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16 (bf16 passes, fp32 master weights)", DefaultValueFactory = _ => "auto" }
            .AcceptOnlyFromAmong("auto", "fp32", "bf16");
        var threads = new Option<int?>("--threads") { Description = "CPU threads for libtorch [default: all]" };

        var logEvery = new Option<int>("--log-every") { Description = "Report loss, tokens/s, lr and expert load every N steps", DefaultValueFactory = _ => 10 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation loss every N steps (and before and after training; 0 = only then)", DefaultValueFactory = _ => 100 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Resumable checkpoint every N steps (and after the last; 0 = only then)", DefaultValueFactory = _ => 0 };
        var keep = new Option<int>("--keep-checkpoints") { Description = "Checkpoints kept", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue OUT.partial (or a finished OUT) from its newest checkpoint" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder (only once training succeeds)" };

        var cmd = new Command("train-lm", "Train a DeepSeek-V3 mixture-of-experts language model from scratch on a corpus into a Hugging Face folder for `dss generate`; or fine-tune one (--init), fully or with LoRA adapters (--lora-rank), on text or on prompt/response pairs (--sft).")
        {
            corpus, sft, init, loraRank, loraAlpha, loraTargets, rsLora, output, tokenizer, vocab, seqLen, valFraction, valMax,
            hidden, layers, denseLayers, intermediate, heads, kvLora, qLora, nope, rope, vDim, experts, topK, shared, moeIntermediate, groups, topkGroup,
            scaling, ropeTheta, maxPositions, tie, initStd,
            batch, epochs, maxSteps, lr, schedule, minLr, warmup, warmupSteps, weightDecay, beta2, clip, seed, biasSpeed, seqAux, device, precision, threads,
            logEvery, evalEvery, checkpointEvery, keep, resume, overwrite,
        };
        cmd.SetAction(pr =>
        {
            var options = new LmTrainOptions
            {
                CorpusPath = pr.GetValue(corpus),
                SftPath = pr.GetValue(sft),
                InitPath = pr.GetValue(init),
                Lora = pr.GetValue(loraRank) is int rank
                    ? new LoraSettings { Rank = rank, Alpha = pr.GetValue(loraAlpha), Targets = LoraSettings.ParseTargets(pr.GetValue(loraTargets)), UseRsLora = pr.GetValue(rsLora) }
                    : pr.GetValue(loraAlpha) is not null || pr.GetValue(loraTargets) is not null || pr.GetValue(rsLora)
                        ? throw new DeepSeek.Search.Core.InvalidInputException("--lora-alpha, --lora-targets and --rslora need --lora-rank") { Setting = "lora-rank" }
                        : null,
                OutputPath = pr.GetValue(output)!,
                TokenizerPath = pr.GetValue(tokenizer),
                VocabSize = pr.GetValue(vocab),
                SeqLen = pr.GetValue(seqLen),
                ValidationFraction = pr.GetValue(valFraction),
                ValidationMaxBlocks = pr.GetValue(valMax),
                Hidden = pr.GetValue(hidden),
                Layers = pr.GetValue(layers),
                DenseLayers = pr.GetValue(denseLayers),
                Intermediate = pr.GetValue(intermediate),
                Heads = pr.GetValue(heads),
                KvLoraRank = pr.GetValue(kvLora),
                QLoraRank = pr.GetValue(qLora),
                QkNopeHeadDim = pr.GetValue(nope),
                QkRopeHeadDim = pr.GetValue(rope),
                VHeadDim = pr.GetValue(vDim),
                Experts = pr.GetValue(experts),
                ExpertsPerToken = pr.GetValue(topK),
                SharedExperts = pr.GetValue(shared),
                MoeIntermediate = pr.GetValue(moeIntermediate),
                ExpertGroups = pr.GetValue(groups),
                TopkGroup = pr.GetValue(topkGroup),
                RoutedScaling = pr.GetValue(scaling),
                RopeTheta = pr.GetValue(ropeTheta),
                MaxPositions = pr.GetValue(maxPositions),
                TieEmbeddings = pr.GetValue(tie),
                InitializerRange = pr.GetValue(initStd),
                BatchSize = pr.GetValue(batch),
                Epochs = pr.GetValue(epochs),
                MaxSteps = pr.GetValue(maxSteps),
                LearningRate = pr.GetValue(lr),
                Schedule = pr.GetValue(schedule) switch { "linear" => LmSchedule.Linear, "constant" => LmSchedule.Constant, _ => LmSchedule.Cosine },
                MinLearningRateRatio = pr.GetValue(minLr),
                WarmupRatio = pr.GetValue(warmup),
                WarmupSteps = pr.GetValue(warmupSteps),
                WeightDecay = pr.GetValue(weightDecay),
                Beta2 = pr.GetValue(beta2),
                ClipNorm = pr.GetValue(clip),
                Seed = pr.GetValue(seed),
                BiasUpdateSpeed = pr.GetValue(biasSpeed),
                SeqAuxLoss = pr.GetValue(seqAux),
                Device = pr.GetValue(device)!,
                Precision = pr.GetValue(precision) switch { "fp32" => TrainingPrecision.Float32, "bf16" => TrainingPrecision.BFloat16, _ => TrainingPrecision.Auto },
                Threads = pr.GetValue(threads),
                LogEvery = pr.GetValue(logEvery),
                EvalEvery = pr.GetValue(evalEvery),
                CheckpointEvery = pr.GetValue(checkpointEvery),
                KeepCheckpoints = pr.GetValue(keep),
                Resume = pr.GetValue(resume),
                Overwrite = pr.GetValue(overwrite),
            };

            var result = TrainingRuns.Interruptible(options.OutputPath, work => Checkpoints.List(work).Count > 0,
                ct => ConsoleProgress.Run(progress => LmTrainer.Train(options, progress, ct)));

            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(options.SftPath != null
                ? $"trained {result.Steps:N0} step(s) on {result.TrainBlocks:N0} supervised pairs of at most {result.SeqLen} tokens ({result.Tokens:N0} tokens) into {result.OutputPath}"
                : $"trained {result.Steps:N0} step(s) on {result.TrainBlocks:N0} blocks of {result.SeqLen} tokens ({result.Documents:N0} documents, {result.Tokens:N0} tokens) into {result.OutputPath}");
            if (options.Lora != null)
                Console.WriteLine($"adapter    {Path.Combine(result.OutputPath, LoraAdapters.ConfigFile)} + {LoraAdapters.WeightsFile} (PEFT LoRA over {Path.GetFullPath(options.InitPath!)}; dss generate --model BASE --adapter {result.OutputPath})");
            if (result.FirstLoss is double first && result.LastLoss is double last)
                Console.WriteLine(string.Create(inv, $"loss       {first:F4} → {last:F4}"));
            if (result.FinalValidationLoss is double fv)
                Console.WriteLine(string.Create(inv, $"validation {result.InitialValidationLoss:F4} → {fv:F4} ({result.ValidationBlocks:N0} block(s); perplexity {Math.Exp(fv):F1})"));
            foreach (var load in result.FinalValidationLoads)
                Console.WriteLine("experts    " + LmStepProgress.LoadText(load));
            Console.WriteLine(string.Create(inv, $"throughput {result.TokensPerSecond:N0} tokens/s on {result.Device} ({result.Precision}), {result.Parameters:N0} parameters, vocabulary {result.VocabSize:N0}{(result.TrainedTokenizer ? " (BPE trained on the corpus)" : "")}"));
            Console.WriteLine($"curve      {Path.Combine(result.OutputPath, LmTrainingCurve.PngFile)}");
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
