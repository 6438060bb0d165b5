using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss encoder init`: a new, randomly initialised BERT dual encoder folder (Hugging Face format) from a vocabulary.</summary>
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
            var tmp = dir + ".tmp-" + Environment.ProcessId;
            TorchRuntime.Initialize();
            var model = new BertModel(config, addPoolingLayer: true, seed: pr.GetValue(seed));
            using (var encoder = TextEncoder.Create(model, null, tokenizer, new DualEncoderConfig
                   { Pooling = PoolingMode.Mean, Normalize = true, MaxDocumentLength = max, MaxQueryLength = Math.Max(32, max / 4) }))
            {
                encoder.Save(tmp);
            }
            if (Directory.Exists(dir)) Directory.Delete(dir);
            Directory.Move(tmp, dir);
            Console.WriteLine($"created {dir}: BERT {config.NumHiddenLayers} layers, {config.HiddenSize} hidden, {config.NumAttentionHeads} heads, {config.IntermediateSize} FFN, vocab {config.VocabSize:N0}, seed {pr.GetValue(seed)}");
            return CliRunner.ExitOk;
        });
        return new Command("encoder", "Manage encoder folders.") { init };
    }
}
