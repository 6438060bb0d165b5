using DeepSeek.Search.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>Core's <see cref="CorpusStatistics"/> ↔ the contract's CorpusStatistics: the one mapping, for the shards and the query front.</summary>
static class CorpusStatisticsMessages
{
    /// <summary>More entries than any query can have (1024 terms × 2 fields) is not statistics of a query.</summary>
    const int MaxEntries = 4096;

    public static Proto.CorpusStatistics ToProto(CorpusStatistics s)
    {
        var p = new Proto.CorpusStatistics();
        foreach (var f in s.Fields)
            p.Fields.Add(new Proto.FieldStatistics { Field = f.Field, MaxDoc = f.MaxDoc, DocCount = f.DocCount, SumTotalTermFreq = f.SumTotalTermFreq, SumDocFreq = f.SumDocFreq });
        foreach (var t in s.Terms)
            p.Terms.Add(new Proto.TermStatistics { Field = t.Field, Term = t.Term, DocFreq = t.DocFreq, TotalTermFreq = t.TotalTermFreq });
        return p;
    }

    /// <summary>The engine's statistics, checked (<see cref="CorpusStatistics.Validate"/>); INVALID_ARGUMENT naming the bad entry.</summary>
    public static CorpusStatistics FromProto(Proto.CorpusStatistics p, string at)
    {
        if (p.Fields.Count + p.Terms.Count > MaxEntries)
            throw new InvalidInputException($"{at}corpus_statistics: {p.Fields.Count + p.Terms.Count} entries exceed the limit of {MaxEntries}") { Setting = "corpus_statistics" };
        var s = new CorpusStatistics(
            [.. p.Fields.Select(f => new FieldStatistics(f.Field, f.MaxDoc, f.DocCount, f.SumTotalTermFreq, f.SumDocFreq))],
            [.. p.Terms.Select(t => new TermStatistic(t.Field, t.Term, t.DocFreq, t.TotalTermFreq))]);
        try { s.Validate(); }
        catch (InvalidInputException e) { throw new InvalidInputException($"{at}{e.Message}") { Setting = "corpus_statistics" }; }
        return s;
    }
}
