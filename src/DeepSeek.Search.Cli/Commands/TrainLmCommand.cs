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
        var run = new LmTrainArguments();
        var output = new Option<string>("--out", "-o", "--output") { Description = "Model folder to write (appears only when training succeeds; work happens in OUT.partial)", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with a Hugging Face tokenizer.json (+ tokenizer_config.json) [default: train a byte-level BPE on the corpus]" };
        var vocab = new Option<int>("--vocab-size") { Description = "Ids of the trained BPE (3 special tokens + 256 bytes + merges)", DefaultValueFactory = _ => 4096 };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per training block", DefaultValueFactory = _ => 128 };

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



        var cmd = new Command("train-lm", "Train a DeepSeek-V3 mixture-of-experts language model from scratch on a corpus into a Hugging Face folder for `dss generate`; or fine-tune one (--init), fully or with LoRA adapters (--lora-rank), on text or on prompt/response pairs (--sft).")
        {
            corpus, sft, init, output, tokenizer, vocab, seqLen, hidden, layers, denseLayers, intermediate, heads, kvLora, qLora, nope, rope, vDim, experts, topK, shared, moeIntermediate, groups, topkGroup, scaling, ropeTheta, maxPositions, tie, initStd,
        };
        run.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var options = run.Apply(pr, new LmTrainOptions
            {
                CorpusPath = pr.GetValue(corpus),
                SftPath = pr.GetValue(sft),
                InitPath = pr.GetValue(init),
                OutputPath = pr.GetValue(output)!,
                TokenizerPath = pr.GetValue(tokenizer),
                VocabSize = pr.GetValue(vocab),
                SeqLen = pr.GetValue(seqLen),
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
            });

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
