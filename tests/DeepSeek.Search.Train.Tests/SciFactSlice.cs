using System.Text;
using System.Text.Json;
using DeepSeek.Search.Eval;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Train.Tests;

/// <summary>
/// A small BEIR folder cut from ../shared/data/scifact: the first <c>trainQueries</c> queries of qrels/train.tsv (as qrels/train.tsv),
/// the next <c>heldOutQueries</c> (as qrels/test.tsv, the held-out slice), and a corpus of all their positives plus seeded filler
/// documents up to <c>documents</c>.
/// </summary>
public sealed class SciFactSlice : IDisposable
{
    readonly TempDir _dir = new("dss-train-scifact");

    public SciFactSlice(int trainQueries, int heldOutQueries, int documents, int seed = 7)
    {
        string src = Repo.SharedPath("data", "scifact");
        var qrels = QrelsReader.Read(Path.Combine(src, "qrels", "train.tsv"));
        var trainIds = qrels.QueryIds.Take(trainQueries).ToList();
        var heldIds = qrels.QueryIds.Skip(trainQueries).Take(heldOutQueries).ToList();
        var needed = trainIds.Concat(heldIds).SelectMany(q => qrels.For(q).Keys).ToHashSet(StringComparer.Ordinal);

        var lines = File.ReadAllLines(Path.Combine(src, "corpus.jsonl")).Where(l => l.Length > 0).ToList();
        string IdOf(string line) { using var d = JsonDocument.Parse(line); return d.RootElement.GetProperty("_id").GetString()!; }
        var byId = lines.ToDictionary(IdOf, l => l, StringComparer.Ordinal);
        var filler = byId.Keys.Where(k => !needed.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        new Random(seed).Shuffle(filler);
        var keep = needed.Concat(filler.Take(Math.Max(0, documents - needed.Count))).ToHashSet(StringComparer.Ordinal);
        File.WriteAllLines(Corpus, lines.Where(l => keep.Contains(IdOf(l))));
        DocumentCount = keep.Count;

        var queryIds = trainIds.Concat(heldIds).ToHashSet(StringComparer.Ordinal);
        File.WriteAllLines(Queries, File.ReadAllLines(Path.Combine(src, "queries.jsonl")).Where(l => l.Length > 0 && queryIds.Contains(IdOf(l))));
        Directory.CreateDirectory(Path.Combine(_dir.Path, "qrels"));
        WriteQrels(TrainQrels, trainIds, qrels);
        WriteQrels(HeldOutQrels, heldIds, qrels);
        TrainQueryIds = trainIds;
        HeldOutQueryIds = heldIds;
    }

    static void WriteQrels(string path, IEnumerable<string> ids, Qrels qrels)
    {
        var sb = new StringBuilder("query-id\tcorpus-id\tscore\n");
        foreach (var q in ids)
            foreach (var (d, g) in qrels.For(q)) sb.Append($"{q}\t{d}\t{g}\n");
        File.WriteAllText(path, sb.ToString());
    }

    public string Folder => _dir.Path;
    public string Corpus => Path.Combine(_dir.Path, "corpus.jsonl");
    public string Queries => Path.Combine(_dir.Path, "queries.jsonl");
    public string TrainQrels => Path.Combine(_dir.Path, "qrels", "train.tsv");
    public string HeldOutQrels => Path.Combine(_dir.Path, "qrels", "test.tsv");
    public int DocumentCount { get; }
    public IReadOnlyList<string> TrainQueryIds { get; }
    public IReadOnlyList<string> HeldOutQueryIds { get; }

    /// <summary>A fresh path for a model folder inside the slice's temp folder.</summary>
    public string NewOutput(string name = "model") => Path.Combine(_dir.Path, name + "-" + Guid.NewGuid().ToString("N")[..6]);

    public void Dispose() => _dir.Dispose();
}
