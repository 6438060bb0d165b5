using DeepSeek.Search.Core;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Lexical.Tests;

public class LexicalIndexTests
{
    static readonly Document[] Corpus =
    [
        new("cats", "Cats", "Cats are small domesticated carnivorous mammals. A cat runs and jumps."),
        new("dogs", "Dogs", "The dog is a domesticated descendant of the wolf. Dogs were running with people."),
        new("rust", "Rust language", "Rust is a systems programming language focused on safety and performance."),
        new("csharp", "C# language", "C# is a general-purpose programming language by Microsoft."),
        new("titleonly", "Quantum entanglement", ""),
    ];

    static LexicalIndex BuildAndOpen(TempDir dir, IEnumerable<Document>? docs = null, Bm25Options? options = null)
    {
        LexicalIndexWriter.Build(dir.Path, docs ?? Corpus, options);
        return LexicalIndex.Open(dir.Path);
    }

    [Fact]
    public void FindsRelevantDocumentsWithStemming()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir);
        Assert.Equal(5, index.DocumentCount);

        var hits = index.Search("running dog", 10);
        Assert.Equal("dogs", hits[0].DocumentId);           // "running" and "dog" stem to run / dog
        Assert.Contains(hits, h => h.DocumentId == "cats");   // "runs" → run
        Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score));

        Assert.Equal("titleonly", index.Search("entangled quantum", 3)[0].DocumentId);
        Assert.Equal(["csharp", "rust"], index.Search("programming languages", 10).Select(h => h.DocumentId).Order());
    }

    [Theory]
    [InlineData("AND (")]
    [InlineData("\"unbalanced quote")]
    [InlineData("*")]
    [InlineData("wild* ca?t~2 title:rust^3 rust [a TO z] {x} \\ / ! - + && || OR NOT")]
    [InlineData("rust)")]
    public void QuerySyntaxIsNeverInterpreted(string query)
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir);
        var hits = index.Search(query, 5);
        Assert.All(hits, h => Assert.False(string.IsNullOrEmpty(h.DocumentId)));
        if (query.Contains("rust")) Assert.Equal("rust", hits[0].DocumentId);
    }

    [Fact]
    public void EmptyQueryAndBadKAreInvalidInput_StopwordQueryIsEmpty()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir);
        Assert.Throws<InvalidInputException>(() => index.Search("", 10));
        Assert.Throws<InvalidInputException>(() => index.Search(" \t\n", 10));
        Assert.Throws<InvalidInputException>(() => index.Search("rust", 0));
        Assert.Empty(index.Search("the and of a to", 10));
        Assert.Empty(index.Search("!!! ... ---", 10));
        Assert.Empty(index.Search("zyzzyva", 10));
        Assert.Equal(2, index.Search("language", 1000).Count);
    }

    [Fact]
    public void ScoresFollowLuceneBm25WithAnseriniParameters()
    {
        // Flat mode, no titles. Lengths: d1 = 1 term, d2 = 4 terms, d3 = 1 term (all exact under Lucene 4.8's norm
        // encoding). avgdl = 6 / 3 = 2. Query "apple": df = 2, N = 3, idf = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6.
        // Lucene 4.8 BM25: score = idf · (k1 + 1) · tf / (tf + k1 · (1 − b + b · dl / avgdl)), k1 = 0.9, b = 0.4.
        //   d1: 0.470004 · 1.9 / (1 + 0.9 · (0.6 + 0.4 · 0.5)) = 0.470004 · 1.9 / 1.72 = 0.519190
        //   d2: 0.470004 · 1.9 / (1 + 0.9 · (0.6 + 0.4 · 2.0)) = 0.470004 · 1.9 / 2.26 = 0.395136
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir,
            [new("d1", "", "apple"), new("d2", "", "apple pear plum fig"), new("d3", "", "kiwi")]);
        double idf = Math.Log(1.6);
        var hits = index.Search("apple", 10);
        Assert.Equal(["d1", "d2"], hits.Select(h => h.DocumentId));
        Assert.Equal(idf * 1.9 / 1.72, hits[0].Score, 5);
        Assert.Equal(idf * 1.9 / 2.26, hits[1].Score, 5);

        // A repeated query term counts twice (bag of words with term-count boosts, as Anserini).
        var twice = index.Search("apple apples", 10);
        Assert.Equal(2 * hits[0].Score, twice[0].Score, 5);
    }

    [Fact]
    public void TiesAreBrokenByDocumentIdRegardlessOfInsertionOrder()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir,
        [
            new("zeta", "", "identical text here"), new("alpha", "", "identical text here"),
            new("mike", "", "identical text here"), new("other", "", "unrelated words"),
        ]);
        var hits = index.Search("identical", 10);
        Assert.Equal(["alpha", "mike", "zeta"], hits.Select(h => h.DocumentId));
        Assert.Equal(hits[0].Score, hits[2].Score);
        Assert.Equal("alpha", Assert.Single(index.Search("identical", 1)).DocumentId);
    }

    [Fact]
    public void MultifieldModeSearchesTitleAndBody()
    {
        using var dir = new TempDir();
        var options = new Bm25Options { FieldMode = LexicalFieldMode.Multifield };
        using var index = BuildAndOpen(dir, options: options);
        Assert.Equal(LexicalFieldMode.Multifield, index.Options.FieldMode);
        Assert.Equal("titleonly", index.Search("quantum", 5)[0].DocumentId);
        Assert.Equal("rust", index.Search("safety", 5)[0].DocumentId);
        // A term in both title and body of one document scores higher there than a body-only match.
        var hits = index.Search("cats", 5);
        Assert.Equal("cats", hits[0].DocumentId);
    }

    [Fact]
    public void RecordsSettingsInLexicalJsonAndChecksThemOnOpen()
    {
        using var dir = new TempDir();
        var options = new Bm25Options { K1 = 1.2f, B = 0.75f };
        var info = LexicalIndexWriter.Build(dir.Path, Corpus, options);
        Assert.Equal(5, info.DocumentCount);

        string json = File.ReadAllText(dir.File(LexicalIndexInfo.FileName));
        Assert.Contains("\"analyzer\": \"english\"", json);
        Assert.Contains("\"k1\": 1.2", json);
        Assert.Contains("\"b\": 0.75", json);
        Assert.Contains("\"fieldMode\": \"flat\"", json);

        using (var same = LexicalIndex.Open(dir.Path, options)) Assert.Equal(options, same.Options);
        using (var recorded = LexicalIndex.Open(dir.Path)) Assert.Equal(1.2f, recorded.Options.K1);

        var ex = Assert.Throws<IndexMismatchException>(() => LexicalIndex.Open(dir.Path, Bm25Options.Default));
        Assert.Contains("k1 1.2 vs 0.9", ex.Message);
        Assert.Contains("b 0.75 vs 0.4", ex.Message);
        Assert.Throws<IndexMismatchException>(() => LexicalIndex.Open(dir.Path, options with { Analyzer = LexicalAnalyzers.Standard }));
        Assert.Throws<IndexMismatchException>(() => LexicalIndex.Open(dir.Path, options with { FieldMode = LexicalFieldMode.Multifield }));

        File.WriteAllText(dir.File(LexicalIndexInfo.FileName), json.Replace("\"format\": 1", "\"format\": 99"));
        Assert.Contains("format 99", Assert.Throws<IndexMismatchException>(() => LexicalIndex.Open(dir.Path)).Message);
    }

    [Fact]
    public void StandardAnalyzerDoesNotStem()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir, options: new Bm25Options { Analyzer = LexicalAnalyzers.Standard });
        Assert.Equal(["running", "dogs"], index.Analyze("The running dogs"));
        Assert.DoesNotContain(index.Search("running", 10), h => h.DocumentId == "cats");
    }

    [Fact]
    public void EnglishAnalyzerChain()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir);
        Assert.Equal(["dog", "run", "john", "car"], index.Analyze("The DOGS are running: John's cars!"));
    }

    [Fact]
    public void MissingOrCorruptIndexIsIndexCorrupt()
    {
        using var dir = new TempDir();
        Assert.Contains("folder not found", Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.File("nope"))).Message);
        Assert.Contains("has no lexical.json", Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path)).Message);

        LexicalIndexWriter.Build(dir.Path, Corpus);
        string json = dir.File(LexicalIndexInfo.FileName);
        string good = File.ReadAllText(json);
        File.WriteAllText(json, "{ not json");
        Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));
        File.WriteAllText(json, good.Replace("\"b\": 0.4", "\"b\": 7"));
        Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));
        File.WriteAllText(json, good);

        // Garble every Lucene file, keeping sizes.
        foreach (var f in Directory.GetFiles(dir.Path).Where(f => !f.EndsWith(".json")))
        {
            var bytes = File.ReadAllBytes(f);
            for (int i = 0; i < bytes.Length; i++) bytes[i] ^= 0x5A;
            File.WriteAllBytes(f, bytes);
        }
        var ex = Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));
        Assert.Contains("missing or corrupt", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);

        // No segments file at all.
        foreach (var f in Directory.GetFiles(dir.Path, "segments*")) File.Delete(f);
        Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));
    }

    [Fact]
    public void DocumentCountMismatchWithLexicalJsonIsCorrupt()
    {
        using var dir = new TempDir();
        LexicalIndexWriter.Build(dir.Path, Corpus);
        string json = dir.File(LexicalIndexInfo.FileName);
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"documentCount\": 5", "\"documentCount\": 6"));
        Assert.Contains("holds 5 documents", Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path)).Message);
    }

    [Fact]
    public void BuildRejectsBadInputAndRebuildReplacesTheIndex()
    {
        using var dir = new TempDir();
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Build(dir.Path, [new("a", "", "x"), new("a", "", "y")]));
        Assert.False(File.Exists(dir.File(LexicalIndexInfo.FileName)));
        Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Build(dir.Path, [new("", "", "x")]));
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Build(dir.Path, Corpus, new Bm25Options { K1 = -1 }));
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Build(dir.Path, Corpus, new Bm25Options { B = 1.5f }));
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Build(dir.Path, Corpus, new Bm25Options { Analyzer = "klingon" }));

        LexicalIndexWriter.Build(dir.Path, Corpus);
        LexicalIndexWriter.Build(dir.Path, [new("only", "One", "replacement document")]);
        using var index = LexicalIndex.Open(dir.Path);
        Assert.Equal(1, index.DocumentCount);
        Assert.Empty(index.Search("rust", 10));
        Assert.Equal("only", index.Search("replacement", 10)[0].DocumentId);
    }

    [Fact]
    public void IncrementalWriterGivesTheSameIndexAsBuild()
    {
        using var built = new TempDir();
        using var incremental = new TempDir();
        LexicalIndexWriter.Build(built.Path, Corpus);
        LexicalIndexInfo info;
        using (var writer = LexicalIndexWriter.Open(incremental.Path))
        {
            foreach (var d in Corpus)
            {
                writer.Add(d);
                Assert.False(File.Exists(incremental.File(LexicalIndexInfo.FileName)), "nothing openable before the commit");
            }
            Assert.Equal(Corpus.Length, writer.Count);
            info = writer.Commit();
            Assert.Throws<ObjectDisposedException>(() => writer.Add(new("late", "", "after the commit")));
        }
        Assert.Equal(Corpus.Length, info.DocumentCount);
        using var a = LexicalIndex.Open(built.Path);
        using var b = LexicalIndex.Open(incremental.Path);
        foreach (var q in new[] { "running dog", "programming languages", "quantum" })
            Assert.Equal(a.Search(q, 10).Select(h => (h.DocumentId, h.Score)), b.Search(q, 10).Select(h => (h.DocumentId, h.Score)));
    }

    [Fact]
    public void IncrementalWriterRejectsBadDocumentsAndKeepsGoing()
    {
        using var dir = new TempDir();
        using (var writer = LexicalIndexWriter.Open(dir.Path))
        {
            writer.Add(Corpus[0]);
            Assert.Contains("duplicate document id 'cats'", Assert.Throws<InvalidInputException>(() => writer.Add(Corpus[0])).Message);
            Assert.Contains("empty id", Assert.Throws<InvalidInputException>(() => writer.Add(new("", "", "x"))).Message);
            Assert.Contains("null", Assert.Throws<InvalidInputException>(() => writer.Add(null!)).Message);
            writer.Add(Corpus[1]);
            Assert.Equal(2, writer.Commit().DocumentCount);
        }
        using var index = LexicalIndex.Open(dir.Path);
        Assert.Equal(2, index.DocumentCount);
        Assert.Equal("dogs", index.Search("wolf", 10)[0].DocumentId);
    }

    [Fact]
    public void RollbackOrDisposeWithoutCommitLeavesNoOpenableIndex()
    {
        using var dir = new TempDir();
        LexicalIndexWriter.Build(dir.Path, Corpus);
        using (var writer = LexicalIndexWriter.Open(dir.Path))
        {
            writer.Add(new("new", "", "a replacement that never commits"));
            Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path)); // the old index stops being openable at Open
            writer.Rollback();
            writer.Rollback(); // idempotent
            Assert.Throws<ObjectDisposedException>(() => writer.Commit());
        }
        Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));

        using (var writer = LexicalIndexWriter.Open(dir.Path)) writer.Add(new("new", "", "abandoned"));
        Assert.Throws<IndexCorruptException>(() => LexicalIndex.Open(dir.Path));
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Open(" "));
        Assert.Throws<InvalidInputException>(() => LexicalIndexWriter.Open(dir.Path, new Bm25Options { K1 = -1 }));
    }

    [Fact]
    public void EmptyCorpusGivesAnEmptySearchableIndex()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir, []);
        Assert.Equal(0, index.DocumentCount);
        Assert.Empty(index.Search("anything", 10));
    }

    [Fact]
    public void SearchIsSafeFromManyThreads()
    {
        using var dir = new TempDir();
        using var index = BuildAndOpen(dir);
        var expected = index.Search("domesticated running language", 5);
        Parallel.For(0, 200, i => Assert.Equal(expected, index.Search("domesticated running language", 5)));
    }

    [Fact]
    public void SearchAfterDisposeIsObjectDisposed()
    {
        using var dir = new TempDir();
        var index = BuildAndOpen(dir);
        index.Dispose();
        Assert.ThrowsAny<ObjectDisposedException>(() => index.Search("rust", 5));
    }
}
