using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace DeepSeek.Search.Index.Lexical.Scoring;

/// <summary>
/// Per segment and term, what bounds the term's BM25 score in that segment for any corpus statistics: for each document length
/// (norm byte) its postings reach, the largest term frequency at that length, keeping only the pairs no other pair dominates
/// (as long or shorter, as frequent or more). A BM25 term score rises with frequency and falls with length, so its largest
/// value over the segment is the largest over these few pairs, whatever idf, average length or boost a search brings.
/// <para>
/// Computed on a term's first use in a segment by one pass over its postings (deleted documents included: a bound for a
/// superset is still a bound) and kept while the segment's core lives; segments are immutable, so it never goes stale. Only
/// terms with at least <see cref="MinDocFreq"/> postings in the segment are worth a pass; the others, and any term once a
/// segment holds <see cref="MaxTermsPerSegment"/> of them, get no frontier (the caller falls back to the bound that holds
/// for every frequency: the term's weight).
/// </para>
/// </summary>
internal static class TermBounds
{
    /// <summary>Postings a term needs in a segment before its frontier is computed (rarer terms are cheap to score in full).</summary>
    public const int MinDocFreq = 1024;

    /// <summary>Frontiers kept per segment core.</summary>
    public const int MaxTermsPerSegment = 50_000;

    /// <summary>The dominant (norm byte, largest frequency) pairs of one term in one segment.</summary>
    public sealed record Frontier(byte[] Norms, int[] Freqs);

    static readonly ConditionalWeakTable<object, ConcurrentDictionary<(string Field, string Term), Frontier>> BySegment = new();

    /// <summary>
    /// The frontier of <paramref name="term"/> in segment <paramref name="reader"/> (whose norms of the term's field are
    /// <paramref name="norms"/>), positioned by <paramref name="state"/>; null when the term is too rare in this segment, the
    /// segment's table is full, or the field has no frequencies.
    /// </summary>
    public static Frontier? Get(AtomicReader reader, NumericDocValues norms, Term term, TermState state, int docFreq)
    {
        if (docFreq < MinDocFreq) return null;
        var table = BySegment.GetValue(reader.CoreCacheKey, _ => new ConcurrentDictionary<(string, string), Frontier>());
        var key = (term.Field, term.Text);
        if (table.TryGetValue(key, out var known)) return known;
        if (table.Count >= MaxTermsPerSegment) return null;
        var terms = reader.GetTerms(term.Field);
        if (terms == null || !terms.HasFreqs) return null;
        var te = terms.GetEnumerator();
        te.SeekExact(term.Bytes, state);
        var docs = te.Docs(null, null, DocsFlags.FREQS);
        var largest = new int[256];
        for (int d = docs.NextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = docs.NextDoc())
        {
            int nb = (sbyte)norms.Get(d) & 0xFF, f = docs.Freq;
            if (f > largest[nb]) largest[nb] = f;
        }
        // A larger norm byte is a shorter document; walking from the shortest, keep a pair only if it is more frequent than
        // every shorter one.
        var keptNorms = new List<byte>();
        var keptFreqs = new List<int>();
        int best = 0;
        for (int nb = 255; nb >= 0; nb--)
            if (largest[nb] > best) { best = largest[nb]; keptNorms.Add((byte)nb); keptFreqs.Add(best); }
        var frontier = new Frontier([.. keptNorms], [.. keptFreqs]);
        table.TryAdd(key, frontier);
        return frontier;
    }
}
