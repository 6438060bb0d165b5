namespace DeepSeek.Search.Core;

/// <summary>
/// The corpus statistics BM25 scores a query with: per searched field the document counts and term-frequency sums, per
/// query term its document frequency. One index reads its own; a query front over the shards of a collection sums the
/// shards' (<see cref="Sum"/>) and has every shard score with the sum, so a sharded collection ranks exactly as one index
/// would (the distributed-frequency search Elasticsearch calls DFS query-then-fetch). Counts follow Lucene's
/// CollectionStatistics and TermStatistics: <see cref="FieldStatistics.MaxDoc"/> counts deleted documents not yet merged
/// away, and −1 means "not recorded".
/// </summary>
public sealed record CorpusStatistics(IReadOnlyList<FieldStatistics> Fields, IReadOnlyList<TermStatistic> Terms)
{
    /// <summary>The statistics of one field, or null when none were given for it.</summary>
    public FieldStatistics? Field(string field) => Fields.FirstOrDefault(f => f.Field == field);

    /// <summary>The statistics of one term of one field, or null when none were given for it.</summary>
    public TermStatistic? Term(string field, string term) => Terms.FirstOrDefault(t => t.Field == field && t.Term == term);

    /// <summary>
    /// The statistics of the union of disjoint corpora: counts added field by field and term by term (a −1 anywhere makes
    /// the sum −1, as Lucene's MultiFields does). A term or field one part lacks counts zero there.
    /// </summary>
    public static CorpusStatistics Sum(IEnumerable<CorpusStatistics> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        static long Add(long a, long b) => a < 0 || b < 0 ? -1 : a + b;
        var fields = new Dictionary<string, FieldStatistics>(StringComparer.Ordinal);
        var terms = new Dictionary<(string, string), TermStatistic>();
        var fieldOrder = new List<string>();
        var termOrder = new List<(string, string)>();
        foreach (var p in parts)
        {
            foreach (var f in p.Fields)
            {
                if (fields.TryGetValue(f.Field, out var s))
                    fields[f.Field] = new FieldStatistics(f.Field, s.MaxDoc + f.MaxDoc, Add(s.DocCount, f.DocCount), Add(s.SumTotalTermFreq, f.SumTotalTermFreq),
                        Add(s.SumDocFreq, f.SumDocFreq));
                else { fields[f.Field] = f; fieldOrder.Add(f.Field); }
            }
            foreach (var t in p.Terms)
            {
                var key = (t.Field, t.Term);
                if (terms.TryGetValue(key, out var s)) terms[key] = new TermStatistic(t.Field, t.Term, s.DocFreq + t.DocFreq, Add(s.TotalTermFreq, t.TotalTermFreq));
                else { terms[key] = t; termOrder.Add(key); }
            }
        }
        return new CorpusStatistics([.. fieldOrder.Select(f => fields[f])], [.. termOrder.Select(k => terms[k])]);
    }

    /// <summary>
    /// Checks the counts are consistent (none negative but the "not recorded" −1 where Lucene allows it, a term's document
    /// frequency at most its field's document count); <see cref="InvalidInputException"/> naming the first that is not.
    /// </summary>
    public void Validate()
    {
        foreach (var f in Fields)
        {
            if (string.IsNullOrEmpty(f.Field)) throw new InvalidInputException("corpus statistics: a field without a name");
            if (f.MaxDoc < 0) throw new InvalidInputException($"corpus statistics: field '{f.Field}' has max_doc {f.MaxDoc}; it must be >= 0");
            if (f.DocCount < -1 || f.DocCount > f.MaxDoc) throw new InvalidInputException($"corpus statistics: field '{f.Field}' has doc_count {f.DocCount}; it must be -1 or in [0, max_doc = {f.MaxDoc}]");
            if (f.SumTotalTermFreq < -1) throw new InvalidInputException($"corpus statistics: field '{f.Field}' has sum_total_term_freq {f.SumTotalTermFreq}; it must be >= -1");
            if (f.SumDocFreq < -1) throw new InvalidInputException($"corpus statistics: field '{f.Field}' has sum_doc_freq {f.SumDocFreq}; it must be >= -1");
        }
        foreach (var t in Terms)
        {
            var f = Field(t.Field) ?? throw new InvalidInputException($"corpus statistics: term '{t.Term}' names field '{t.Field}', which has no field statistics");
            if (t.DocFreq < 0 || t.DocFreq > f.MaxDoc)
                throw new InvalidInputException($"corpus statistics: term '{t.Term}' of field '{t.Field}' has doc_freq {t.DocFreq}; it must be in [0, max_doc = {f.MaxDoc}]");
            if (t.TotalTermFreq < -1 || (t.TotalTermFreq >= 0 && t.TotalTermFreq < t.DocFreq))
                throw new InvalidInputException($"corpus statistics: term '{t.Term}' of field '{t.Field}' has total_term_freq {t.TotalTermFreq}; it must be -1 or >= doc_freq = {t.DocFreq}");
        }
    }
}

/// <summary>One field's counts: documents (with deleted ones not yet merged away), documents with the field, term-frequency sums.</summary>
public sealed record FieldStatistics(string Field, long MaxDoc, long DocCount, long SumTotalTermFreq, long SumDocFreq);

/// <summary>One term's counts in one field: documents containing it, and its occurrences.</summary>
public sealed record TermStatistic(string Field, string Term, long DocFreq, long TotalTermFreq);
