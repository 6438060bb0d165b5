using DeepSeek.Search.Core;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>What the collection tests share: a seeded corpus and the comparison of two rankings.</summary>
static class Rankings
{
    /// <summary>The words the seeded test documents are drawn from.</summary>
    public static readonly string[] Vocabulary =
        ("protein cell gene virus immune lava basalt magma crust ocean river forest carbon climate energy solar battery " +
         "market price trade bank credit loan revenue profit court law judge contract patent music guitar piano rhythm " +
         "football league goal coach planet orbit comet galaxy telescope bridge steel concrete railway engine turbine").Split(' ');

    /// <summary>A seeded document: a topic word, 6–35 words of <see cref="Vocabulary"/>, and a word of its own.</summary>
    public static Document Doc(string id, int seed)
    {
        var rng = new Random(seed * 7919 + 17);
        var words = Enumerable.Range(0, 6 + rng.Next(30)).Select(_ => Vocabulary[rng.Next(Vocabulary.Length)]);
        return new Document(id, "", $"topic{seed % 7} " + string.Join(' ', words) + $" n{seed}");
    }

    /// <summary>
    /// Equal scores rank by rank and per document, to 1e-4 relative (the tiny encoder scores in the tens and gives many chunks
    /// the same score, so tied documents may come in either order, and one tied with the last hit may be cut off).
    /// </summary>
    public static void SameScores(IReadOnlyList<Hit> x, IReadOnlyList<Hit> y, string what)
    {
        Assert.Equal(x.Count, y.Count);
        for (int i = 0; i < x.Count; i++) Assert.True(Near(x[i].Score, y[i].Score), $"{what} rank {i + 1}: {x[i]} vs {y[i]}");
        var scoreOf = y.ToDictionary(h => h.DocumentId, h => h.Score);
        foreach (var h in x)
            if (scoreOf.TryGetValue(h.DocumentId, out var s)) Assert.True(Near(h.Score, s), $"{what}: {h} vs {s}");
            else Assert.True(Near(h.Score, y[^1].Score), $"{what}: {h.DocumentId} missing and not tied with the last hit");
    }

    /// <summary><see cref="SameScores"/>, and the same document at every rank not tied with a neighbour.</summary>
    public static void SameRanking(IReadOnlyList<Hit> x, IReadOnlyList<Hit> y, string what)
    {
        SameScores(x, y, what);
        for (int i = 0; i < x.Count; i++)
        {
            bool tied = (i > 0 && Near(x[i].Score, x[i - 1].Score)) || (i + 1 < x.Count && Near(x[i].Score, x[i + 1].Score));
            if (!tied) Assert.True(x[i].DocumentId == y[i].DocumentId, $"{what} rank {i + 1}: {x[i].DocumentId} vs {y[i].DocumentId}");
        }
    }

    static bool Near(float a, float b) => Math.Abs(a - b) <= 1e-4f * Math.Max(1f, Math.Abs(a));
}
