using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Cli;

/// <summary>
/// The answering options shared by `dss ask` and `dss eval-rag` — the first stage's mode, how many hits are recalled, how many
/// sources within how many tokens, the answer's length, greedy or sampled decoding, the instructions file, the device, and the
/// generator and re-ranking options of <see cref="RerankArguments"/> — and the one place they become <see cref="RagOptions"/>
/// and a loaded <see cref="RagAnswerer"/>.
/// </summary>
sealed class RagArguments
{
    public Option<string?> Mode { get; } = CommonOptions.Mode();
    public Option<int> RecallK { get; } = new("--recall-k") { Description = "Hits recalled (and re-ranked with --rerank) before packing", DefaultValueFactory = _ => new RagOptions().RecallK };
    public Option<int> MaxSources { get; } = new("--max-sources") { Description = "Most sources given to the model", DefaultValueFactory = _ => new RagOptions().MaxSources };
    public Option<int> SourceTokens { get; } = new("--source-tokens")
    { Description = "Tokens all sources together may take", DefaultValueFactory = _ => new RagOptions().SourceTokens };
    public Option<int> MaxNew { get; } = new("--max-new") { Description = "Longest answer in tokens", DefaultValueFactory = _ => new RagOptions().MaxNewTokens };
    public Option<double?> Temperature { get; } = new("--temperature") { Description = "Sample at this temperature (default: greedy decoding)" };
    public Option<int?> Seed { get; } = new("--seed") { Description = "Sampling seed" };
    public Option<string?> Instructions { get; } = new("--instructions")
    { Description = "A file holding the system instructions, the prompt's task (default: answer only from the sources, cite them as [n])" };
    public Option<string> Device { get; } = CommonOptions.Device("the encoder and the generator");
    public RerankArguments Rerank { get; } = new();

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Mode, RecallK, MaxSources, SourceTokens, MaxNew, Temperature, Seed, Instructions, Device })
            command.Options.Add(o);
        Rerank.AddTo(command);
    }

    /// <summary>
    /// Adds only the options that shape the prompt (mode, recall, sources, budget, answer length, instructions): `dss train-reader`
    /// builds its training prompts with them, and decodes nothing. <see cref="Options"/> reads the others as their defaults.
    /// </summary>
    public void AddPromptTo(Command command)
    {
        foreach (var o in new Option[] { Mode, RecallK, MaxSources, SourceTokens, MaxNew, Instructions })
            command.Options.Add(o);
    }

    /// <summary>The answering options as parsed, checked.</summary>
    public RagOptions Options(ParseResult pr)
    {
        var options = new RagOptions
        {
            RecallK = pr.GetValue(RecallK),
            MaxSources = pr.GetValue(MaxSources),
            SourceTokens = pr.GetValue(SourceTokens),
            MaxNewTokens = pr.GetValue(MaxNew),
            Greedy = pr.GetValue(Temperature) is null,
            Temperature = pr.GetValue(Temperature) ?? 0.7,
            Seed = pr.GetValue(Seed),
            Mode = CommonOptions.ParseMode(pr.GetValue(Mode)),
            Instructions = pr.GetValue(Instructions) is { } file
                ? File.Exists(file) ? File.ReadAllText(file) : throw new InvalidInputException($"--instructions file '{file}' does not exist") { Setting = "instructions" }
                : null,
        };
        options.Validate();
        return options;
    }

    /// <summary>
    /// The answerer of <paramref name="store"/>'s collection: its generator (--model, else the collection's own), loaded on
    /// --device in --model-dtype, with a re-ranker over it when --rerank is given.
    /// </summary>
    public LocalAnswerer Load(ParseResult pr, CollectionStore store)
    {
        string folder = Rerank.Folder(pr, store);
        var generator = Rerank.Load(pr, folder, pr.GetValue(Device)!);
        try
        {
            var reranker = pr.GetValue(Rerank.Rerank) ? Rerank.Reranker(pr, generator, folder) : null;
            return new LocalAnswerer(folder, generator, reranker, new RagAnswerer(generator, reranker) { TrainedContext = QueryLikelihoodScorer.TrainedContext(folder) });
        }
        catch
        {
            generator.Dispose();
            throw;
        }
    }
}

/// <summary>A loaded generator folder and the answerer over it (disposing it frees the generator).</summary>
sealed class LocalAnswerer(string folder, DeepSeekGenerator generator, Reranker? reranker, RagAnswerer answerer) : IDisposable
{
    public string Folder { get; } = folder;
    public DeepSeekGenerator Generator { get; } = generator;
    public Reranker? Reranker { get; } = reranker;
    public RagAnswerer Answerer { get; } = answerer;

    public void Dispose() => Generator.Dispose();
}
