using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Retrieve.Collections;

namespace DeepSeek.Search.Rerank.Training;

/// <summary>One training pair of the pointwise re-ranker: a judged query and a passage, relevant or not.</summary>
/// <param name="Rank">The passage's document's rank in the first stage (1-based); null when the first stage did not retrieve it.</param>
public sealed record JudgedPair(string QueryId, string Query, string DocumentId, string Passage, bool Relevant, int? Rank);

/// <summary>The pairs mined for a set of judged queries, and what went into them.</summary>
public sealed record MinedPairs(IReadOnlyList<JudgedPair> Pairs, int Queries, int Positives, int PositivesRetrieved, int Negatives,
    int QueriesShortOfNegatives, IReadOnlyList<string> UnknownDocuments);

/// <summary>
/// Training pairs for the pointwise re-ranker from judgments and the collection's own first stage, as monoT5 was trained on
/// BM25's candidates (Nogueira et al. 2020): every judged-relevant document of a query is a positive, its passage the chunk the
/// first stage would hand the re-ranker (<see cref="SearchReranking.PassageOf"/>) when the document was retrieved, else the stored
/// document's title and text; negatives are drawn (seeded, without replacement) from the first stage's top-depth hits that are not
/// judged relevant, so they are hard for that stage without being only its very top (the unjudged top hit of a query is often a
/// relevant document nobody judged). Queries are searched in batches (one encoder call per batch); mining sees every document
/// (no caller: local access to the index folder).
/// </summary>
public static class NegativeMining
{
    public static MinedPairs Mine(CollectionSearcher searcher, IReadOnlyList<EvalQuery> queries, Qrels qrels, int negatives, int depth,
        SearchMode? mode, long seed, IProgress<ProgressEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searcher);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(qrels);
        var judged = queries.Where(q => qrels.Contains(q.Id) && qrels.For(q.Id).Values.Any(r => r >= Qrels.RelevanceLevel)).ToList();
        if (judged.Count == 0)
            throw new InvalidInputException("no query of the queries file has a relevant judgment in the qrels: nothing to train the re-ranker on") { Setting = "qrels" };
        var options = new SearchOptions { Mode = mode, K = depth, Depth = Math.Max(depth, 100), SnippetChars = 0 };
        var pairs = new List<JudgedPair>();
        var unknown = new List<string>();
        int positives = 0, retrieved = 0, negativeCount = 0, shortOf = 0;
        const int Batch = 64;
        for (int start = 0; start < judged.Count; start += Batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new ProgressCount("mine", start, judged.Count));
            var batch = judged.Skip(start).Take(Batch).ToList();
            var responses = searcher.ExecuteMany(batch.ConvertAll(q => q.Text), options, Batch, cancellationToken);
            for (int j = 0; j < batch.Count; j++)
            {
                var q = batch[j];
                var relevant = qrels.For(q.Id).Where(kv => kv.Value >= Qrels.RelevanceLevel).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
                var hits = responses[j].Hits;
                foreach (var id in relevant.Order(StringComparer.Ordinal))
                {
                    int at = IndexOf(hits, id);
                    string? passage = at >= 0 ? SearchReranking.PassageOf(hits[at]) : StoredPassage(searcher, id);
                    if (passage == null) { unknown.Add(id); continue; }
                    positives++;
                    if (at >= 0) retrieved++;
                    pairs.Add(new JudgedPair(q.Id, q.Text, id, passage, true, at >= 0 ? at + 1 : null));
                }
                var pool = hits.Select((h, i) => (Hit: h, Rank: i + 1)).Where(x => !relevant.Contains(x.Hit.DocumentId)).ToList();
                var rng = new Random(unchecked((int)(seed * 1_000_003 + StableHash.Fnv1a(q.Id))));
                int take = Math.Min(negatives, pool.Count);
                if (take < negatives) shortOf++;
                for (int n = 0; n < take; n++)
                {
                    int pick = n + rng.Next(pool.Count - n); // partial Fisher–Yates: a sample without replacement, kept in draw order
                    (pool[n], pool[pick]) = (pool[pick], pool[n]);
                    pairs.Add(new JudgedPair(q.Id, q.Text, pool[n].Hit.DocumentId, SearchReranking.PassageOf(pool[n].Hit), false, pool[n].Rank));
                    negativeCount++;
                }
            }
        }
        progress?.Report(new ProgressCount("mine", judged.Count, judged.Count));
        if (positives == 0)
            throw new InvalidInputException($"none of the {unknown.Count} judged-relevant document id(s) is in the collection (first: '{unknown.FirstOrDefault()}'): are the qrels for this corpus?") { Setting = "qrels" };
        return new MinedPairs(pairs, judged.Count, positives, retrieved, negativeCount, shortOf, unknown);
    }

    static int IndexOf(IReadOnlyList<SearchHit> hits, string id)
    {
        for (int i = 0; i < hits.Count; i++)
            if (string.Equals(hits[i].DocumentId, id, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>A stored document's passage, "title. text" as <see cref="SearchReranking.PassageOf"/> writes it; null when there is no such document.</summary>
    static string? StoredPassage(CollectionSearcher searcher, string id)
    {
        var doc = searcher.Get(id, caller: null).Document;
        if (doc == null) return null;
        return string.IsNullOrWhiteSpace(doc.Title) ? doc.Text : $"{doc.Title.Trim()}. {doc.Text}";
    }
}
