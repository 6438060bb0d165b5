using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli;

/// <summary>
/// The generator options shared by `dss search`, `dss eval`, `dss ask` and `dss query --server` (--rerank, --model,
/// --rerank-depth, --rerank-weight, --rerank-batch, --model-dtype), and the one place they become a model and a <see cref="Reranker"/>.
/// </summary>
sealed class RerankArguments
{
    public Option<bool> Rerank { get; } = new("--rerank") { Description = "Re-rank the first stage's top hits with the generator: pointwise yes/no for a dss train-reranker folder, else query likelihood" };
    public Option<string?> Model { get; } = new("--model")
    { Description = "The model (a DeepSeek Hugging Face folder, e.g. from dss train-lm or dss train-reranker, or a LoRA adapter folder); default: for re-ranking the collection's own INDEX_ROOT/C/reranker, else INDEX_ROOT/C/generator; for answers INDEX_ROOT/C/generator" };
    public Option<int> Depth { get; } = new("--rerank-depth") { Description = "First-stage hits re-ranked", DefaultValueFactory = _ => RerankOptions.DefaultDepth };
    public Option<float> Weight { get; } = new("--rerank-weight")
    { Description = "The re-ranker's share of the final score, 0..1 (min-max normalised against the first stage)", DefaultValueFactory = _ => RerankOptions.DefaultWeight };
    public Option<int> Batch { get; } = new("--rerank-batch") { Description = "Passages per forward pass", DefaultValueFactory = _ => 16 };
    public Option<string> DType { get; } = new Option<string>("--model-dtype") { Description = "The generator's dtype: float32, bfloat16 or float16", DefaultValueFactory = _ => "float32" }
        .AcceptOnlyFromAmong([.. DeepSeekModelOptions.DTypeNames]);

    /// <summary>Adds the options to <paramref name="command"/> (without --rerank when <paramref name="withSwitch"/> is false).</summary>
    public void AddTo(Command command, bool withSwitch = true)
    {
        if (withSwitch) command.Options.Add(Rerank);
        command.Options.Add(Model);
        command.Options.Add(Depth);
        command.Options.Add(Weight);
        command.Options.Add(Batch);
        command.Options.Add(DType);
    }

    public RerankOptions Options(ParseResult pr)
    {
        var o = new RerankOptions { Depth = pr.GetValue(Depth), Weight = pr.GetValue(Weight) };
        o.Validate();
        return o;
    }

    /// <summary>The model folder re-ranking <paramref name="store"/>'s collection uses: --model, else the collection's own reranker/, else its generator/; none is <see cref="NoGeneratorException"/>.</summary>
    public string RerankerFolder(ParseResult pr, CollectionStore store) =>
        GeneratorPool.ResolveReranker(pr.GetValue(Model), store.Directory) ?? throw new NoGeneratorException(store.Name);

    /// <summary>The generator folder for <paramref name="store"/>'s collection: --model, else the collection's own; none is <see cref="NoGeneratorException"/>.</summary>
    public string Folder(ParseResult pr, CollectionStore store) =>
        GeneratorPool.Resolve(pr.GetValue(Model), store.Directory) ?? throw new NoGeneratorException(store.Name);

    public DeepSeekGenerator Load(ParseResult pr, CollectionStore store, string device) => Load(pr, Folder(pr, store), device);

    public DeepSeekGenerator Load(ParseResult pr, string folder, string device) =>
        DeepSeekGenerator.Load(folder, new DeepSeekModelOptions
        {
            Device = device,
            DType = DeepSeekModelOptions.ParseDType(pr.GetValue(DType)!),
        });

    /// <summary>A re-ranker over <paramref name="generator"/> (loaded from <paramref name="folder"/>: its inputs are capped at the context it was trained on).</summary>
    public Reranker Reranker(ParseResult pr, DeepSeekGenerator generator, string folder)
    {
        int batch = pr.GetValue(Batch);
        if (batch < 1 || batch > 4096) throw new InvalidInputException($"--rerank-batch must be between 1 and 4096, got {batch}") { Setting = "rerank-batch" };
        return new Reranker(RerankerModel.Scorer(generator, folder, batch), Options(pr));
    }
}
