using DeepSeek.Search.Core;

namespace DeepSeek.Search.Eval.Tests.Comparison;

/// <summary>
/// Real-looking TREC runs made from qrels: for each judged query, 150 filler documents with each relevant document inserted at a
/// seeded position in the top <c>spread</c>, scores descending; written as a TREC file and read back by <see cref="Run.ReadTrec"/>.
/// A smaller spread ranks the relevant documents higher (a better run).
/// </summary>
static class SyntheticRuns
{
    public static string Write(string path, Qrels qrels, int seed, int spread, string tag)
    {
        var rng = new Random(seed);
        var run = new Run();
        foreach (var qid in qrels.QueryIds)
        {
            var ranked = Enumerable.Range(0, 150).Select(k => $"filler-{qid}-{k}").ToList();
            foreach (var (doc, grade) in qrels.For(qid))
                if (grade >= Qrels.RelevanceLevel) ranked.Insert(rng.Next(Math.Min(spread, ranked.Count)), doc);
            run.Set(qid, ranked.Select((d, i) => new Hit(d, 1000f - i)).ToList());
        }
        run.WriteTrec(path, tag);
        return path;
    }
}
