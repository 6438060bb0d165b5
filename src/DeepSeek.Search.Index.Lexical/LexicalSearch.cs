using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical.Scoring;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// A BM25 search begun by <see cref="LexicalIndex.Begin"/>: any number of threads may call <see cref="Work"/> at once, each
/// searching ranges of document ids no other has taken until none is left; once every call has returned, <see cref="Hits"/>
/// is the search's result (the same as <see cref="LexicalIndex.Search(string, int, Caller?, Filtering.FilterExpression?)"/>'s).
/// </summary>
public sealed class LexicalSearch
{
    readonly LexicalIndex _index;
    readonly MaxScoreSearch.Plan? _plan;

    internal LexicalSearch(LexicalIndex index, MaxScoreSearch.Plan? plan) => (_index, _plan) = (index, plan);

    /// <summary>Searches ranges not yet taken until none is left (returns at once when another thread took the last).</summary>
    public void Work()
    {
        if (_plan is { } plan) _index.Guarded(() => { plan.Work(); return 0; });
    }

    /// <summary>The whole search on this thread and, when it is large and the pool idle, one pool thread per other core.</summary>
    internal IReadOnlyList<Hit> Run() => _plan is { } plan ? _index.Guarded(() => MaxScoreSearch.Run(plan)) : [];

    /// <summary>The top k, score descending then id ascending; call it after every <see cref="Work"/> call has returned.</summary>
    public IReadOnlyList<Hit> Hits() => _plan?.Hits() ?? [];
}
