using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Core.Fusion;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>Options of one search call. <see cref="Mode"/> null means hybrid when the collection has a dense index, else BM25.</summary>
public sealed record SearchOptions
{
    public SearchMode? Mode { get; init; }
    public int K { get; init; } = 10;
    /// <summary>Hybrid fusion; null: what the collection's encoder recommends (dual_encoder.json), else RRF.</summary>
    public FusionMethod? Fusion { get; init; }
    /// <summary>Dense weight of min-max fusion; null: the encoder's recommendation, else <see cref="MinMaxFusion.DefaultAlpha"/>.</summary>
    public float? Alpha { get; init; }
    /// <summary>How deep each side is retrieved before fusion; at least <see cref="K"/>.</summary>
    public int Depth { get; init; } = 100;
    /// <summary>
    /// Who is searching: only documents this caller may read are searched (in every mode, before ranking). Null:
    /// unrestricted (local access to the index folder).
    /// </summary>
    public Caller? Caller { get; init; }

    /// <summary>A metadata filter (<see cref="FilterExpression.Parse"/>): only matching documents are searched. Null: none.</summary>
    public FilterExpression? Filter { get; init; }

    /// <summary>
    /// BM25's corpus statistics, when they are not this collection's own: a query front over the shards of a collection
    /// passes the sum of the shards' (<see cref="CollectionSearcher.Statistics"/>) so every shard scores as the whole
    /// collection would. Null: the collection's own.
    /// </summary>
    public CorpusStatistics? Statistics { get; init; }

    /// <summary>Queries longer than this many characters are rejected (a query is not a document).</summary>
    public int MaxQueryChars { get; init; } = 8192;

    /// <summary>
    /// Characters of text per hit snippet (<see cref="Snippets.Cut"/>, with the query's term matches marked); 0: no snippets.
    /// Used by <see cref="CollectionSearcher.Execute"/> only (rankings for evaluation carry no stored fields).
    /// </summary>
    public int SnippetChars { get; init; } = Snippets.DefaultChars;

    public void Validate()
    {
        if (SnippetChars < 0 || SnippetChars > Snippets.MaxChars)
            throw new InvalidInputException($"snippet length must be between 0 and {Snippets.MaxChars} characters, got {SnippetChars}");
        if (K < 1 || K > 10_000) throw new InvalidInputException($"k must be between 1 and 10000, got {K}");
        if (Depth < 1 || Depth > 100_000) throw new InvalidInputException($"depth must be between 1 and 100000, got {Depth}");
        if (Alpha is float a && !(a >= 0 && a <= 1)) throw new InvalidInputException($"alpha must be in [0, 1], got {a}");
    }
}
