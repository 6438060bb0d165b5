using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Training;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// The data of one <see cref="LmTrainer"/> run: the corpus's documents, the tokenizer (the run's own when resuming, the given one, or a
/// byte-level BPE trained on the corpus), the packed train/validation blocks, and the order each epoch visits the training blocks in.
/// </summary>
sealed class LmData
{
    const long ShuffleStream = 0x4C4D; // "LM"

    readonly LmTrainOptions _o;

    LmData(LmTrainOptions options, ByteLevelBpeTokenizer tokenizer, bool trainedTokenizer, ILmExamples examples)
    {
        _o = options;
        Tokenizer = tokenizer;
        TrainedTokenizer = trainedTokenizer;
        Examples = examples;
    }

    public ByteLevelBpeTokenizer Tokenizer { get; }

    /// <summary>Whether the run's tokenizer was trained on the corpus (not given with --tokenizer).</summary>
    public bool TrainedTokenizer { get; }

    /// <summary>Packed blocks of the corpus, or the supervised pairs of --sft.</summary>
    public ILmExamples Examples { get; }

    /// <summary>Reads the corpus, trains, loads or copies the tokenizer into <paramref name="workDir"/>, and packs the blocks.</summary>
    public static LmData Load(LmTrainOptions o, string workDir, bool resuming, Action<string> say, CancellationToken ct)
    {
        var texts = new List<string>();
        if (o.SftPath == null)
        {
            say($"reading corpus {o.CorpusPath}");
            texts = LmCorpus.ReadTexts(o.CorpusPath!);
            if (texts.Count == 0) throw new InvalidInputException($"the corpus {o.CorpusPath} holds no text (no non-empty documents)");
        }
        string tokenizerFile = Path.Combine(workDir, ByteLevelBpeTokenizer.TokenizerFile);
        ByteLevelBpeTokenizer tokenizer;
        bool trainedTokenizer = false;
        if (resuming)
        {
            if (!File.Exists(tokenizerFile)) throw new CheckpointException($"{workDir}: the run's {ByteLevelBpeTokenizer.TokenizerFile} is missing; cannot resume");
            tokenizer = ByteLevelBpeTokenizer.Load(workDir);
            trainedTokenizer = o.TokenizerPath == null;
        }
        else if ((o.TokenizerPath ?? o.InitPath) is { } given)
        {
            tokenizer = ByteLevelBpeTokenizer.Load(given);
            foreach (var name in new[] { ByteLevelBpeTokenizer.TokenizerFile, ByteLevelBpeTokenizer.TokenizerConfigFile, "special_tokens_map.json" })
            {
                string from = Path.Combine(given, name);
                if (File.Exists(from)) File.Copy(from, Path.Combine(workDir, name), overwrite: true);
            }
            say($"tokenizer {given}: {tokenizer.VocabSize:N0} ids");
        }
        else
        {
            say($"training a byte-level BPE of {o.VocabSize:N0} ids on {texts.Count:N0} documents");
            var trained = BpeTrainer.Train(texts, o.VocabSize, o.SeqLen, ct);
            trained.Save(workDir);
            tokenizer = ByteLevelBpeTokenizer.Load(workDir);
            trainedTokenizer = true;
            say($"tokenizer: {trained.VocabSize:N0} ids ({trained.Merges:N0} merges from {trained.UniqueWords:N0} distinct words)" +
                (trained.VocabSize < o.VocabSize ? $"; the corpus supports no more than {trained.VocabSize:N0}" : ""));
        }
        if (o.SftPath != null)
        {
            var version = o.InitPath != null ? DeepSeekConfig.Load(Path.Combine(o.InitPath, DeepSeekConfig.FileName)).Version : DeepSeekVersion.V3;
            var pairs = SftExamples.Read(o.SftPath, tokenizer, version, o.SeqLen, o.ValidationFraction, ct);
            say($"supervised pairs: {pairs.Documents:N0} ({pairs.Train.Count:N0} train, {pairs.Validation.Count:N0} validation), {pairs.Tokens:N0} tokens" +
                (pairs.PromptsCut > 0 ? $"; {pairs.PromptsCut:N0} prompt(s) cut from the left to fit --seq-len {o.SeqLen}" : ""));
            return new LmData(o, tokenizer, trainedTokenizer, pairs);
        }
        var blocks = PackedBlocks.Build(texts, tokenizer, o.SeqLen, o.ValidationFraction, ct);
        say($"corpus: {blocks.Documents:N0} documents, {blocks.Tokens:N0} tokens in {blocks.BlockCount:N0} blocks of {o.SeqLen} " +
            $"({blocks.Train.Count:N0} train, {blocks.Validation.Count:N0} validation)");
        return new LmData(o, tokenizer, trainedTokenizer, blocks);
    }

    /// <summary>The training blocks in the order epoch <paramref name="epoch"/> visits them: a function of (seed, epoch).</summary>
    public int[] Order(int epoch)
    {
        var order = Examples.Train.ToArray();
        var rng = Seeds.At(_o.Seed, ShuffleStream, epoch, 0);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
