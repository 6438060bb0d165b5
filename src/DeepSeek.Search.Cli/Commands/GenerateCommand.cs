using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss generate`: continue a prompt with a DeepSeek-V3/V2 checkpoint (Hugging Face folder), greedy or sampled.</summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "Model folder (Hugging Face DeepSeek-V3/V2: config.json + model.safetensors or shards [+ tokenizer.json])", Required = true };
        var prompt = new Option<string[]>("--prompt", "-p") { Description = "Prompt text (repeatable for a batch; needs tokenizer.json)" };
        var promptIds = new Option<string[]>("--prompt-ids") { Description = "Prompt as token ids, e.g. 1,2,3 (repeatable for a batch)" };
        var chat = new Option<bool>("--chat") { Description = "Wrap each --prompt as a user turn in the model's chat template" };
        var system = new Option<string?>("--system") { Description = "System prompt for --chat" };
        var maxNew = new Option<int>("--max-new") { Description = "Most new tokens per prompt", DefaultValueFactory = _ => 32 };
        var greedy = new Option<bool>("--greedy") { Description = "Arg-max decoding (ignores the sampling options)" };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all)", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling threshold (1 = off)", DefaultValueFactory = _ => 1.0 };
        var repetition = new Option<double>("--repetition-penalty") { Description = "HF repetition penalty (1 = off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<int?>("--seed") { Description = "Sampling seed" };
        var stop = new Option<string[]>("--stop") { Description = "Stop when the generated text contains this string (repeatable)" };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating through end-of-sequence tokens" };
        var cache = new Option<string>("--cache") { Description = "KV cache: full (per-head keys/values) or latent (compressed MLA latent)", DefaultValueFactory = _ => "full" }
            .AcceptOnlyFromAmong("full", "latent");
        var dtype = new Option<string>("--dtype") { Description = "Weights dtype: float32, bfloat16 or float16", DefaultValueFactory = _ => "float32" }
            .AcceptOnlyFromAmong([.. DeepSeekModelOptions.DTypeNames]);
        var json = new Option<bool>("--json") { Description = "Print JSON: per prompt the prompt ids, generated ids, text and finish reason" };
        var device = CommonOptions.Device("the model");
        var logits = new Option<string?>("--logits") { Description = "Also write the float32 logits [T, V] of the first prompt's forward pass to this safetensors file (tensors logits and input_ids)" };

        var adapter = new Option<string?>("--adapter") { Description = "A PEFT LoRA folder (adapter_config.json + adapter_model.safetensors, e.g. from dss train-lm --lora-rank) to apply to --model" };
        var merge = new Option<bool>("--merge") { Description = "Fold the --adapter into the weights on load (W + scaling·B·A) instead of running it beside them" };

        var cmd = new Command("generate", "Generate text with a DeepSeek mixture-of-experts model.")
        {
            adapter, merge, model, prompt, promptIds, chat, system, maxNew, greedy, temperature, topK, topP, repetition, seed, stop, ignoreEos, cache, dtype, json, device, logits,
        };
        cmd.SetAction((pr, cancellationToken) =>
        {
            var texts = pr.GetValue(prompt) ?? [];
            var ids = (pr.GetValue(promptIds) ?? []).Select(GenerationRun.ParseIds).ToList();
            if (texts.Length == 0 && ids.Count == 0) throw new InvalidInputException("nothing to generate from: pass --prompt TEXT or --prompt-ids 1,2,3");
            if (texts.Length > 0 && ids.Count > 0) throw new InvalidInputException("--prompt and --prompt-ids exclude each other");
            if (pr.GetValue(chat) && texts.Length == 0) throw new InvalidInputException("--chat needs --prompt TEXT");
            var request = new GenerationRequest
            {
                ModelDirectory = pr.GetValue(model)!,
                LogitsPath = pr.GetValue(logits),
                Prompts = texts,
                PromptIds = ids,
                Chat = pr.GetValue(chat),
                SystemPrompt = pr.GetValue(system),
                Options = new GenerationOptions
                {
                    MaxNewTokens = pr.GetValue(maxNew),
                    Greedy = pr.GetValue(greedy),
                    Temperature = pr.GetValue(temperature),
                    TopK = pr.GetValue(topK),
                    TopP = pr.GetValue(topP),
                    RepetitionPenalty = pr.GetValue(repetition),
                    Seed = pr.GetValue(seed),
                    StopStrings = pr.GetValue(stop) ?? [],
                    IgnoreEos = pr.GetValue(ignoreEos),
                    CacheMode = pr.GetValue(cache) == "latent" ? KvCacheMode.Latent : KvCacheMode.Full,
                },
                Model = new DeepSeekModelOptions
                {
                    Device = pr.GetValue(device)!,
                    DType = DeepSeekModelOptions.ParseDType(pr.GetValue(dtype)!),
                    Adapter = pr.GetValue(adapter),
                    MergeAdapter = pr.GetValue(merge),
                },
            };

            bool asJson = pr.GetValue(json);
            // plain output streams the text of a single prompt as it is generated
            bool stream = !asJson && texts.Length + ids.Count == 1;
            var report = GenerationRun.Execute(request, stream ? t => Console.Write(t.Text) : null, cancellationToken);
            if (asJson)
            {
                Console.WriteLine(Json.Serialize(new
                {
                    model = report.Model,
                    generated_ids = report.Sequences.Count == 1 ? report.Sequences[0].GeneratedIds : null,
                    text = report.Sequences.Count == 1 ? report.Sequences[0].Text : null,
                    sequences = report.Sequences,
                }));
            }
            else if (stream)
            {
                var s = report.Sequences[0];
                Console.WriteLine(s.Text.Length == 0 ? string.Join(',', s.GeneratedIds) : "");
            }
            else
            {
                foreach (var s in report.Sequences)
                    Console.WriteLine(s.Text.Length > 0 ? s.Text : string.Join(',', s.GeneratedIds));
            }
            return Task.FromResult(CliRunner.ExitOk);
        });
        return cmd;
    }
}
