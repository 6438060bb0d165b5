using System.Diagnostics;
using System.Runtime.CompilerServices;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;

namespace DeepSeek.Search.Rag;

/// <summary>
/// Answers a question from a collection: recall (the caller's ACL and filter applied by the searcher, so only documents the
/// caller may read are ever seen), optional re-ranking, the top passages packed as numbered sources into a token budget
/// (<see cref="RagPrompt"/>), the generator's answer streamed through a <see cref="CitationFilter"/>. The final
/// <see cref="RagAnswer"/> cites only sources that were given to the model. With no permitted hit the answer is
/// <see cref="RagOptions.NoSourcesAnswer"/> and nothing is generated. Cancellation stops generation before the next decoding step.
/// </summary>
public sealed class RagAnswerer
{
    readonly DeepSeekGenerator _generator;
    readonly Reranker? _reranker;

    public RagAnswerer(DeepSeekGenerator generator, Reranker? reranker = null)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        RagPrompt.TokenizerOf(generator);
        _reranker = reranker;
    }

    /// <summary>The finished answer of <see cref="AskAsync"/>, without its stream of deltas.</summary>
    public async Task<RagAnswer> AnswerAsync(CollectionSearcher searcher, string question, RagOptions options, Caller? caller = null,
        FilterExpression? filter = null, CancellationToken cancellationToken = default)
    {
        await foreach (var e in AskAsync(searcher, question, options, caller, filter, cancellationToken).ConfigureAwait(false))
            if (e is RagAnswer answer) return answer;
        throw new InvalidOperationException("the answer stream ended without an answer");
    }

    /// <summary>
    /// The positions the sources are fitted into: the model's <c>max_position_embeddings</c>, capped at <see cref="TrainedContext"/>
    /// when the model was trained on shorter blocks (positions it never saw give it arbitrary output), so the source budget shrinks
    /// to what the model can read. A prompt longer than that (a model trained on blocks shorter than the instructions and the
    /// question) is still answered, up to <c>max_position_embeddings</c>, the hard limit.
    /// </summary>
    public int Positions => Math.Min(_generator.Model.Config.MaxPositionEmbeddings, TrainedContext ?? int.MaxValue);

    /// <summary>The context the model was trained on (<c>dss train-lm</c>'s <c>seq_len</c>: <see cref="QueryLikelihoodScorer.TrainedContext"/>); null: trust its config.</summary>
    public int? TrainedContext { get; init; }

    /// <summary>
    /// Everything before generation, the one place it is done (<see cref="AskAsync"/> answers from it; <c>dss train-reader</c>
    /// builds its training prompts with it, so the reader is trained on exactly the prompts it will be asked): ACL-filtered
    /// recall, the optional re-rank, the sources packed into the token budget left by <see cref="Positions"/>, the prompt's ids.
    /// No permitted hit: no sources and an empty prompt.
    /// </summary>
    public async Task<RagContext> PrepareAsync(CollectionSearcher searcher, string question, RagOptions options, Caller? caller = null,
        FilterExpression? filter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searcher);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (string.IsNullOrWhiteSpace(question)) throw new InvalidInputException("empty question") { Setting = "question" };

        var search = new SearchOptions
        {
            Mode = options.Mode,
            Fusion = options.Fusion,
            Alpha = options.Alpha,
            K = Math.Max(options.RecallK, _reranker?.Options.Depth ?? 0),
            Depth = Math.Max(100, options.RecallK),
            Caller = caller,
            Filter = filter,
            SnippetChars = 0,
        };
        var stage = Stopwatch.StartNew();
        var recalled = await Task.Run(() => searcher.Execute(question, search, cancellationToken), cancellationToken).ConfigureAwait(false);
        double recallMs = stage.Elapsed.TotalMilliseconds, rerankMs = 0;
        var hits = recalled.Hits;
        if (_reranker != null && hits.Count > 1)
        {
            var reranked = await Task.Run(() => SearchReranking.Apply(_reranker, question, recalled, options.RecallK, cancellationToken), cancellationToken).ConfigureAwait(false);
            hits = reranked.Hits;
            rerankMs = reranked.Timings.RerankMs;
        }
        else hits = hits.Take(options.RecallK).ToList();
        if (hits.Count == 0) return new RagContext(hits, Array.Empty<RagSource>(), Array.Empty<int>(), recalled.Seq, recallMs, rerankMs, 0);

        stage.Restart();
        int room = Positions - options.MaxNewTokens - 256; // 256: instructions, tags, titles, question
        int budget = Math.Max(16, Math.Min(options.SourceTokens, room));
        var sources = RagPrompt.Pack(hits, _generator.Tokenizer!, options.MaxSources, budget);
        var (prompt, _) = RagPrompt.Build(_generator, options.Instructions ?? RagOptions.DefaultInstructions, sources, question);
        int limit = _generator.Model.Config.MaxPositionEmbeddings;
        if (prompt.Length + options.MaxNewTokens > limit)
            throw new InvalidInputException($"the prompt of {prompt.Length} tokens and {options.MaxNewTokens} new tokens exceed the model's {limit} positions: ask a shorter question or lower max_new_tokens") { Setting = "question" };
        return new RagContext(hits, sources, prompt, recalled.Seq, recallMs, rerankMs, stage.Elapsed.TotalMilliseconds);
    }

    public async IAsyncEnumerable<RagEvent> AskAsync(CollectionSearcher searcher, string question, RagOptions options, Caller? caller = null,
        FilterExpression? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        var context = await PrepareAsync(searcher, question, options, caller, filter, cancellationToken).ConfigureAwait(false);
        var (sources, prompt) = (context.Sources, context.Prompt);
        double recallMs = context.RecallMs, rerankMs = context.RerankMs, promptMs = context.PromptMs;
        if (sources.Count == 0)
        {
            yield return new RagDelta(RagOptions.NoSourcesAnswer);
            yield return new RagAnswer(RagOptions.NoSourcesAnswer, Array.Empty<RagCitation>(), Array.Empty<RagSource>(), new RagUsage(0, 0, 0, context.Hits.Count),
                new RagTimings(recallMs, rerankMs, 0, 0, 0, total.Elapsed.TotalMilliseconds), context.Seq, NoSources: true, "no_sources", 0);
            yield break;
        }

        var stage = Stopwatch.StartNew();
        var generation = new GenerationOptions
        {
            MaxNewTokens = options.MaxNewTokens,
            Greedy = options.Greedy,
            Temperature = options.Greedy ? 1.0 : options.Temperature,
            Seed = options.Seed,
            StopStrings = new[] { ChatTemplate.UserTag, "\nQuestion:" },
        };
        var filterState = new CitationFilter(sources.Count);
        double firstTokenMs = 0;
        int completion = 0;
        string finish = "length";
        await foreach (var token in _generator.StreamAsync(new[] { prompt }, generation, cancellationToken).ConfigureAwait(false))
        {
            if (completion++ == 0) firstTokenMs = stage.Elapsed.TotalMilliseconds;
            if (token.Finish is FinishReason f) finish = f switch { FinishReason.EndOfSequence => "eos", FinishReason.StopString => "stop", _ => "length" };
            string safe = filterState.Push(token.Text);
            if (safe.Length > 0) yield return new RagDelta(safe);
        }
        string tail = filterState.Flush();
        if (tail.Length > 0) yield return new RagDelta(tail);
        double generateMs = stage.Elapsed.TotalMilliseconds;

        var citations = filterState.Cited.Select(n => sources[n - 1])
            .Select(s => new RagCitation(s.Number, s.DocumentId, s.ChunkId, s.Start, s.End, s.Title)).ToList();
        yield return new RagAnswer(filterState.Answer, citations, sources, new RagUsage(prompt.Length, completion, sources.Count, context.Hits.Count),
            new RagTimings(recallMs, rerankMs, promptMs, firstTokenMs, generateMs, total.Elapsed.TotalMilliseconds), context.Seq, NoSources: false, finish,
            filterState.Dropped);
    }
}
