using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical;

namespace DeepSeek.Search.Train.Data;

/// <summary>
/// Hard negatives from BM25: the corpus is indexed once (Lucene, the engine's default BM25 settings) into a folder of the run, and a
/// query's candidates are its BM25 hits at ranks [skip, depth) after removing every document relevant to it. Results are cached per
/// query key; Lucene's order (score, then id) makes them deterministic.
/// </summary>
public sealed class Bm25NegativeMiner : IDisposable
{
    readonly LexicalIndex _index;
    readonly TrainingCorpus _corpus;
    readonly Dictionary<string, IReadOnlyList<string>> _cache = new(StringComparer.Ordinal);
    readonly object _gate = new();

    Bm25NegativeMiner(LexicalIndex index, TrainingCorpus corpus, int depth, int skip)
    {
        _index = index;
        _corpus = corpus;
        Depth = depth;
        Skip = skip;
    }

    public int Depth { get; }
    public int Skip { get; }

    /// <summary>Opens the BM25 index in <paramref name="directory"/>, building it first when it is missing or holds another corpus.</summary>
    public static Bm25NegativeMiner Open(string directory, TrainingCorpus corpus, int depth, int skip)
    {
        if (depth <= skip) throw new InvalidInputException($"BM25 negative depth {depth} must be larger than the skipped ranks {skip}");
        LexicalIndex? index = null;
        try
        {
            if (File.Exists(Path.Combine(directory, LexicalIndexInfo.FileName)))
            {
                index = LexicalIndex.Open(directory);
                if (index.DocumentCount != corpus.Count) { index.Dispose(); index = null; }
            }
        }
        catch (SearchException) { index = null; }
        if (index == null)
        {
            LexicalIndexWriter.Build(directory, corpus.Documents, Bm25Options.Default);
            index = LexicalIndex.Open(directory);
        }
        return new Bm25NegativeMiner(index, corpus, depth, skip);
    }

    /// <summary>BM25 top <paramref name="k"/> for a text (empty for a text without indexable terms).</summary>
    public IReadOnlyList<Hit> Search(string text, int k) => string.IsNullOrWhiteSpace(text) ? [] : _index.Search(text, k);

    /// <summary>Negative candidates of a query: BM25 ranks [Skip, Depth) among documents not in <paramref name="relevant"/>.</summary>
    public IReadOnlyList<string> Candidates(string queryKey, string query, IReadOnlySet<string> relevant)
    {
        lock (_gate)
            if (_cache.TryGetValue(queryKey, out var cached)) return cached;
        var hits = Search(query, Depth + relevant.Count);
        var list = hits.Select(h => h.DocumentId).Where(id => !relevant.Contains(id)).Skip(Skip).Take(Depth - Skip).ToList();
        lock (_gate) _cache[queryKey] = list;
        return list;
    }

    /// <summary>Candidates without caching (pseudo-queries of self-supervision differ every epoch).</summary>
    public IReadOnlyList<string> CandidatesUncached(string query, IReadOnlySet<string> relevant) =>
        Search(query, Depth + relevant.Count).Select(h => h.DocumentId).Where(id => !relevant.Contains(id)).Skip(Skip).Take(Depth - Skip).ToList();

    /// <summary><paramref name="count"/> distinct candidates drawn uniformly (all of them when there are fewer), as corpus texts.</summary>
    public IReadOnlyList<TrainingText> Sample(IReadOnlyList<string> candidates, int count, Random rng)
    {
        if (count <= 0 || candidates.Count == 0) return [];
        if (candidates.Count <= count) return candidates.Select(_corpus.Item).ToList();
        var picked = new List<TrainingText>(count);
        var indices = Enumerable.Range(0, candidates.Count).ToArray();
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.Next(indices.Length - i);
            (indices[i], indices[j]) = (indices[j], indices[i]);
            picked.Add(_corpus.Item(candidates[indices[i]]));
        }
        return picked;
    }

    public void Dispose() => _index.Dispose();
}
