using DeepSeek.Search.Core;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.Retrieve.Collections;

namespace DeepSeek.Search.Rerank.Training;

/// <summary>What <c>dss train-reranker</c> trains from and into (see <see cref="RerankerTrainer"/>).</summary>
public sealed record RerankerTrainOptions
{
    public const int DefaultNegatives = 3, DefaultDepth = 30, DefaultSeqLen = 256;

    /// <summary>The DeepSeek generator folder to fine-tune (a collection's own <c>generator/</c>, or any Hugging Face DeepSeek folder with a tokenizer).</summary>
    public required string ModelPath { get; init; }

    /// <summary>BEIR queries.jsonl: the judged queries' text.</summary>
    public required string QueriesPath { get; init; }

    /// <summary>BEIR qrels TSV of the training queries (e.g. SciFact's qrels/train.tsv): relevance ≥ 1 makes a positive.</summary>
    public required string QrelsPath { get; init; }

    /// <summary>The re-ranker folder to write (a generator folder, or a LoRA adapter folder, with <see cref="RerankerModel.MarkerFile"/>).</summary>
    public required string OutputPath { get; init; }

    /// <summary>Negatives per query, drawn from the first stage's top <see cref="Depth"/> hits that are not judged relevant.</summary>
    public int Negatives { get; init; } = DefaultNegatives;

    /// <summary>How deep in the collection's first-stage ranking negatives are drawn.</summary>
    public int Depth { get; init; } = DefaultDepth;

    /// <summary>The first stage negatives are mined from; null: hybrid when the collection has vectors, else BM25.</summary>
    public SearchMode? Mode { get; init; }

    /// <summary>Tokens per training pair (prompt + answer); null: the context the model was trained on (its train_lm.json), else <see cref="DefaultSeqLen"/>.</summary>
    public int? SeqLen { get; init; }

    /// <summary>
    /// The fine-tuning run's settings (learning rate, epochs, LoRA, device, ...). Its data, init and output fields are set by the
    /// trainer: <see cref="ModelPath"/> is the init, the mined pairs are the supervised data, <see cref="OutputPath"/> the output.
    /// </summary>
    public required LmTrainOptions Training { get; init; }

    public void Validate()
    {
        if (Negatives < 1 || Negatives > 100) throw new InvalidInputException($"negatives per query must be between 1 and 100, got {Negatives}") { Setting = "negatives" };
        if (Depth < Negatives || Depth > 1000) throw new InvalidInputException($"mining depth must be between the negatives per query ({Negatives}) and 1000, got {Depth}") { Setting = "depth" };
        if (SeqLen is int s && (s < 16 || s > 8192)) throw new InvalidInputException($"--seq-len must be between 16 and 8192, got {s}") { Setting = "seq-len" };
        if (!Directory.Exists(ModelPath)) throw new InvalidInputException($"--model folder not found: {ModelPath}") { Setting = "model" };
        if (!File.Exists(QueriesPath)) throw new InvalidInputException($"--queries file not found: {QueriesPath}") { Setting = "queries" };
        if (!File.Exists(QrelsPath)) throw new InvalidInputException($"--qrels file not found: {QrelsPath}") { Setting = "qrels" };
    }
}
