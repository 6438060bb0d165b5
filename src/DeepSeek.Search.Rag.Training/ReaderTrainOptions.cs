using DeepSeek.Search.Core;
using DeepSeek.Search.Generate.Training;

namespace DeepSeek.Search.Rag.Training;

/// <summary>What <c>dss train-reader</c> trains from and into (see <see cref="ReaderTrainer"/>).</summary>
public sealed record ReaderTrainOptions
{
    /// <summary>The DeepSeek generator folder to fine-tune (a collection's own <c>generator/</c>, or any Hugging Face DeepSeek folder with a tokenizer).</summary>
    public required string ModelPath { get; init; }

    /// <summary>SQuAD-style BEIR queries.jsonl: questions with their gold answers in <c>metadata.answers</c>.</summary>
    public required string QuestionsPath { get; init; }

    /// <summary>The qrels naming each question's gold passage; null: <c>qrels/test.tsv</c> beside the questions.</summary>
    public string? QrelsPath { get; init; }

    /// <summary>The slice of the questions file trained on (file order): skip this many, then take <see cref="Limit"/> (null: all the rest).</summary>
    public int Skip { get; init; }
    public int? Limit { get; init; }

    /// <summary>
    /// How the reader will be asked: the first stage, recall depth, sources, source token budget, answer length and instructions.
    /// The training prompts are built with exactly these (so evaluate with the same options).
    /// </summary>
    public RagOptions Rag { get; init; } = new();

    /// <summary>The reader folder to write (a generator folder, or a LoRA adapter folder, with <see cref="ReaderTrainer.MarkerFile"/>).</summary>
    public required string OutputPath { get; init; }

    /// <summary>
    /// The fine-tuning run's settings (learning rate, epochs, LoRA, device, ...). Its data, init, sequence length and output fields are
    /// set by the trainer: <see cref="ModelPath"/> is the init, the pairs are the supervised data, the sequence is the model's context.
    /// </summary>
    public required LmTrainOptions Training { get; init; }

    /// <summary>
    /// Stop once the pairs are written (<c>OUT.pairs.jsonl</c>), to train them elsewhere with <c>dss train-lm --init MODEL --sft
    /// OUT.pairs.jsonl --seq-len N</c> (e.g. on a GPU machine that does not hold the collection).
    /// </summary>
    public bool PairsOnly { get; init; }

    public void Validate()
    {
        Rag.Validate();
        if (Skip < 0) throw new InvalidInputException($"--skip must be at least 0, got {Skip}") { Setting = "skip" };
        if (Limit is int l && l < 1) throw new InvalidInputException($"--limit must be at least 1, got {l}") { Setting = "limit" };
        if (!Directory.Exists(ModelPath)) throw new InvalidInputException($"--model folder not found: {ModelPath}") { Setting = "model" };
        if (!File.Exists(QuestionsPath)) throw new InvalidInputException($"--questions file not found: {QuestionsPath}") { Setting = "questions" };
        if (QrelsPath != null && !File.Exists(QrelsPath)) throw new InvalidInputException($"--qrels file not found: {QrelsPath}") { Setting = "qrels" };
    }
}
