using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Train.Data;

namespace DeepSeek.Search.Train.Tests;

public class DataTests
{
    /// <summary>A small BEIR folder: 6 documents, 4 queries, train.tsv (q1..q3) and test.tsv (q4, plus q3 to check exclusion).</summary>
    sealed class Beir : IDisposable
    {
        public readonly TempDir Dir = new("dss-train-data");
        public Beir(string? train = null, string? test = null)
        {
            File.WriteAllLines(Corpus, new[]
            {
                """{"_id": "d1", "title": "Aspirin and the heart", "text": "Aspirin lowers the risk of heart attacks. It thins the blood. Doctors prescribe it daily."}""",
                """{"_id": "d2", "title": "Vitamin D", "text": "Vitamin D supports bone health. Sunlight makes the skin produce it."}""",
                """{"_id": "d3", "title": "", "text": "Statins reduce cholesterol levels in blood and prevent heart disease in many patients."}""",
                """{"_id": "d4", "title": "Sleep", "text": "Adults need seven hours of sleep. Poor sleep harms memory."}""",
                """{"_id": "d5", "title": "Coffee", "text": "Coffee contains caffeine. Caffeine keeps people awake at night."}""",
                """{"_id": "d6", "title": "Exercise", "text": "Exercise strengthens the heart and lowers blood pressure."}""",
            });
            File.WriteAllLines(Queries, new[]
            {
                """{"_id": "q1", "text": "does aspirin prevent heart attacks"}""",
                """{"_id": "q2", "text": "vitamin d and bones"}""",
                """{"_id": "q3", "text": "cholesterol drugs"}""",
                """{"_id": "q4", "text": "how much sleep do adults need"}""",
            });
            Directory.CreateDirectory(Path.Combine(Dir.Path, "qrels"));
            File.WriteAllText(Train, train ?? "query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq1\td6\t1\r\nq2\td2\t1\r\nq3\td3\t1\r\nq3\td5\t0\r\n");
            File.WriteAllText(Test, test ?? "query-id\tcorpus-id\tscore\nq4\td4\t1\n");
        }
        public string Corpus => Dir.File("corpus.jsonl");
        public string Queries => Dir.File("queries.jsonl");
        public string Train => Path.Combine(Dir.Path, "qrels", "train.tsv");
        public string Test => Path.Combine(Dir.Path, "qrels", "test.tsv");
        public TrainingCorpus LoadCorpus() => TrainingCorpus.Load(Corpus);
        public void Dispose() => Dir.Dispose();
    }

    [Fact]
    public void Beir_pairs_come_from_positive_training_judgments_only()
    {
        using var b = new Beir();
        var data = SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus());
        Assert.Equal(new[] { ("q1", "d1"), ("q1", "d6"), ("q2", "d2"), ("q3", "d3") }, data.Pairs.Select(p => (p.QueryKey, p.Positive.Id!)));
        Assert.Equal("does aspirin prevent heart attacks", data.Pairs[0].Query);
        Assert.StartsWith("Aspirin and the heart. Aspirin lowers", data.Pairs[0].Positive.Text);   // title + body, as indexed
        Assert.Equal(new HashSet<string> { "d1", "d6" }, data.Relevant["q1"]);
        Assert.Equal(3, data.QueryCount);
        Assert.Equal(0, data.ExcludedQueries);
        Assert.Equal([Path.GetFullPath(b.Test)], data.ExcludedFrom);   // the test split beside it is always consulted
    }

    [Fact]
    public void Queries_judged_by_the_evaluation_split_are_never_trained_on()
    {
        // q3 is judged in test.tsv too: it must be left out of training
        using var b = new Beir(test: "query-id\tcorpus-id\tscore\nq4\td4\t1\nq3\td3\t1\n");
        var data = SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus());
        Assert.DoesNotContain(data.Pairs, p => p.QueryKey == "q3");
        Assert.Equal(1, data.ExcludedQueries);

        // an explicit --exclude-qrels works the same way, for files that are not beside the training qrels
        string other = b.Dir.File("other-eval.tsv");
        File.WriteAllText(other, "q2\td2\t1\n");
        var data2 = SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus(), [other]);
        Assert.DoesNotContain(data2.Pairs, p => p.QueryKey == "q2" || p.QueryKey == "q3");
        Assert.Equal(2, data2.ExcludedQueries);

        // training on the test split itself is refused
        var e = Assert.Throws<InvalidInputException>(() => SupervisedData.FromBeir(b.Queries, b.Test, b.LoadCorpus()));
        Assert.Contains("evaluation (test) split", e.Message);
    }

    [Fact]
    public void Bad_beir_inputs_give_clear_errors()
    {
        using (var b = new Beir(train: "q1\tmissing-doc\t1\n"))
        {
            var e = Assert.Throws<InvalidInputException>(() => SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus()));
            Assert.Contains("not in the corpus", e.Message);
            Assert.Contains("'missing-doc'", e.Message);
        }
        using (var b = new Beir(train: "q9\td1\t1\n"))
            Assert.Contains("'q9'", Assert.Throws<InvalidInputException>(() => SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus())).Message);
        using (var b = new Beir(train: "query-id\tcorpus-id\tscore\nq1\td1\t0\n"))
            Assert.Contains("empty training set", Assert.Throws<InvalidInputException>(() => SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus())).Message);
        using (var b = new Beir(train: "query-id\tcorpus-id\tscore\n"))
            Assert.Contains("empty training set", Assert.Throws<InvalidInputException>(() => SupervisedData.FromBeir(b.Queries, b.Train, b.LoadCorpus())).Message);
    }

    [Fact]
    public void Pairs_file_accepts_texts_and_corpus_ids()
    {
        using var b = new Beir();
        string path = b.Dir.File("pairs.jsonl");
        File.WriteAllLines(path, new[]
        {
            """{"query": "aspirin heart", "positive_id": "d1", "negative_ids": ["d5", "d1"]}""",
            """{"query": "bones", "query_id": 17, "positive": "Calcium makes bones strong.", "negatives": ["Coffee is bitter."]}""",
            "",
            """{"query": "aspirin heart", "positive_id": "d6"}""",
        });
        var data = SupervisedData.FromPairsFile(path, b.LoadCorpus());
        Assert.Equal(3, data.Pairs.Count);
        Assert.Equal("d1", data.Pairs[0].Positive.Id);
        Assert.Equal(["d5"], data.Pairs[0].Negatives.Select(n => n.Id));         // the positive itself is never its negative
        Assert.Equal("17", data.Pairs[1].QueryKey);
        Assert.Null(data.Pairs[1].Positive.Id);
        Assert.Equal("Coffee is bitter.", data.Pairs[1].Negatives[0].Text);
        Assert.Equal(data.Pairs[0].QueryKey, data.Pairs[2].QueryKey);            // same query text: one query with two positives
        Assert.Equal(new HashSet<string> { "d1", "d6" }, data.Relevant[data.Pairs[0].QueryKey]);
    }

    [Theory]
    [InlineData("""{"query": "x", "positive_id": "nope"}""", "positive_id 'nope' is not in the corpus")]
    [InlineData("""{"query": "x", "positive_id": "d1", "negative_ids": ["zzz"]}""", "negative_ids 'zzz' is not in the corpus")]
    [InlineData("""{"query": "x"}""", "exactly one of")]
    [InlineData("""{"query": "x", "positive": "a", "positive_id": "d1"}""", "exactly one of")]
    [InlineData("""{"positive": "a"}""", "missing \"query\"")]
    [InlineData("""{"query": "  ", "positive": "a"}""", "\"query\" is empty")]
    [InlineData("""{"query": "x", "positive": "a", "negatives": "b"}""", "must be an array")]
    [InlineData("""not json""", "invalid JSON")]
    public void Bad_pair_lines_are_reported_with_their_line(string line, string problem)
    {
        using var b = new Beir();
        string path = b.Dir.File("pairs.jsonl");
        File.WriteAllLines(path, new[] { """{"query": "fine", "positive": "ok"}""", line });
        var e = Assert.Throws<MalformedRecordException>(() => SupervisedData.FromPairsFile(path, b.LoadCorpus()));
        Assert.Equal(2, e.Line);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Pairs_file_errors_without_corpus_or_pairs()
    {
        using var b = new Beir();
        string path = b.Dir.File("pairs.jsonl");
        File.WriteAllText(path, """{"query": "x", "positive_id": "d1"}""" + "\n");
        Assert.Contains("no --corpus", Assert.Throws<MalformedRecordException>(() => SupervisedData.FromPairsFile(path, null)).Message);
        File.WriteAllText(path, "\n\n");
        Assert.Contains("empty training set", Assert.Throws<InvalidInputException>(() => SupervisedData.FromPairsFile(path, null)).Message);
        Assert.Throws<InvalidInputException>(() => SupervisedData.FromPairsFile(b.Dir.File("absent.jsonl"), null));
    }

    [Fact]
    public void Dev_split_is_seeded_and_disjoint_from_training()
    {
        var docs = Enumerable.Range(0, 40).Select(i => new Document($"d{i}", "", $"document number {i}")).ToList();
        var corpus = TrainingCorpus.FromDocuments(docs);
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, Enumerable.Range(0, 40).Select(i => $$"""{"query": "query {{i}}", "query_id": "q{{i}}", "positive_id": "d{{i}}"}"""));
            var data = SupervisedData.FromPairsFile(path, corpus);
            var (train, dev) = data.SplitDev(0.1, 200, seed: 5);
            Assert.NotNull(dev);
            Assert.Equal(4, dev!.Queries.Count);
            Assert.Equal(36, train.Pairs.Count);
            Assert.Empty(dev.Queries.Select(q => q.Id).Intersect(train.Pairs.Select(p => p.QueryKey)));
            Assert.All(dev.Queries, q => Assert.Equal("d" + q.Id[1..], Assert.Single(dev.Qrels.For(q.Id)).Key));
            var (_, again) = data.SplitDev(0.1, 200, seed: 5);
            Assert.Equal(dev.Queries, again!.Queries);
            var (_, other) = data.SplitDev(0.1, 200, seed: 6);
            Assert.NotEqual(dev.Queries.Select(q => q.Id), other!.Queries.Select(q => q.Id));
            Assert.Equal(2, data.SplitDev(0.5, 2, seed: 5).Dev!.Queries.Count);     // capped
            Assert.Null(data.SplitDev(0, 200, seed: 5).Dev);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Explicit_dev_set_must_not_be_the_test_split_nor_overlap_training()
    {
        using var b = new Beir();
        var corpus = b.LoadCorpus();
        Assert.Contains("test", Assert.Throws<InvalidInputException>(() => SupervisedData.LoadDevSet(b.Queries, b.Test, corpus, [])).Message);
        string dev = b.Dir.File("dev.tsv");
        File.WriteAllText(dev, "q2\td2\t1\n");
        Assert.Contains("also training queries", Assert.Throws<InvalidInputException>(() => SupervisedData.LoadDevSet(b.Queries, dev, corpus, ["q2"])).Message);
        var set = SupervisedData.LoadDevSet(b.Queries, dev, corpus, ["q1"]);
        Assert.Equal("q2", Assert.Single(set.Queries).Id);
    }

    [Fact]
    public void Self_supervision_makes_ict_crop_and_title_pairs_from_documents()
    {
        using var b = new Beir();
        var corpus = b.LoadCorpus();

        var ict = new SelfSupervisedPairs(corpus, SelfSupervision.Ict);
        Assert.Equal(4, ict.Count);      // d3 and d6 have a single sentence
        for (int i = 0; i < ict.Count; i++)
        {
            var p = ict.Make(i, new Random(i));
            var doc = corpus.Get(p.Positive.Id!);
            Assert.Contains(p.Query, doc.Text);                         // the query is a sentence of the document
            Assert.Equal(p.QueryKey, doc.Id);
        }
        // removed from its context most of the time
        int removed = Enumerable.Range(0, 50).Count(s => { var p = ict.Make(0, new Random(s)); return !p.Positive.Text.Contains(p.Query); });
        Assert.InRange(removed, 35, 50);

        var crop = new SelfSupervisedPairs(corpus, SelfSupervision.Crop);
        Assert.Equal(6, crop.Count);
        for (int i = 0; i < crop.Count; i++)
        {
            var p = crop.Make(i, new Random(100 + i));
            var words = SelfSupervisedPairs.Words(corpus.TextOf(p.Positive.Id!)).ToHashSet();
            Assert.All(SelfSupervisedPairs.Words(p.Query), w => Assert.Contains(w, words));
            Assert.All(SelfSupervisedPairs.Words(p.Positive.Text), w => Assert.Contains(w, words));
        }

        var title = new SelfSupervisedPairs(corpus, SelfSupervision.Title);
        Assert.Equal(5, title.Count);    // d3 has no title
        var t = title.Make(0, new Random(1));
        Assert.Equal("Aspirin and the heart", t.Query);
        Assert.Equal(corpus.Get("d1").Text, t.Positive.Text);

        var mix = new SelfSupervisedPairs(corpus, SelfSupervision.Mix);
        Assert.Equal(6, mix.Count);
        Assert.Equal(mix.Make(2, new Random(3)), mix.Make(2, new Random(3)));   // a pure function of the random stream
    }

    [Fact]
    public void Crops_respect_the_length_ratio_and_keep_a_word()
    {
        var words = Enumerable.Range(0, 100).Select(i => "w" + i).ToArray();
        for (int s = 0; s < 200; s++)
        {
            var crop = SelfSupervisedPairs.Words(SelfSupervisedPairs.Crop(words, new Random(s)));
            Assert.InRange(crop.Length, 1, 50);
            var idx = crop.Select(w => int.Parse(w[1..])).ToList();
            Assert.True(idx.SequenceEqual(idx.Order()));                                  // a contiguous span, in order
            Assert.True(idx[^1] - idx[0] < 50);
        }
        Assert.Single(SelfSupervisedPairs.Words(SelfSupervisedPairs.Crop(["only"], new Random(1))));
    }

    [Fact]
    public void Self_supervision_without_usable_documents_is_an_empty_training_set()
    {
        var corpus = TrainingCorpus.FromDocuments([new Document("a", "", "Too short.")]);
        Assert.Contains("empty training set", Assert.Throws<InvalidInputException>(() => new SelfSupervisedPairs(corpus, SelfSupervision.Title)).Message);
        Assert.Contains("empty training set", Assert.Throws<InvalidInputException>(() => new SelfSupervisedPairs(corpus, SelfSupervision.Mix)).Message);
    }

    [Fact]
    public void Bm25_negatives_exclude_positives_and_are_reproducible()
    {
        using var b = new Beir();
        var corpus = b.LoadCorpus();
        using var dir = new TempDir("dss-train-bm25");
        using var miner = Bm25NegativeMiner.Open(Path.Combine(dir.Path, "bm25"), corpus, depth: 5, skip: 0);
        var relevant = new HashSet<string> { "d1" };
        var candidates = miner.Candidates("probe", "aspirin heart attacks blood", relevant);
        Assert.DoesNotContain("d1", candidates);
        Assert.Contains("d6", candidates);                      // shares "heart" and "blood"
        Assert.Equal(candidates, miner.CandidatesUncached("aspirin heart attacks blood", relevant));
        var skipped = Bm25NegativeMiner.Open(Path.Combine(dir.Path, "bm25"), corpus, depth: 5, skip: 1);
        Assert.Equal(candidates.Skip(1), skipped.CandidatesUncached("aspirin heart attacks blood", relevant));
        skipped.Dispose();
        var s1 = miner.Sample(candidates, 2, new Random(9)).Select(t => t.Id).ToList();
        Assert.Equal(s1, miner.Sample(candidates, 2, new Random(9)).Select(t => t.Id));
        Assert.Equal(2, s1.Distinct().Count());
        Assert.Equal(candidates.Count, miner.Sample(candidates, 99, new Random(1)).Count);

        // a training set draws the same negatives for the same (epoch, example) every time
        var data = SupervisedData.FromBeir(b.Queries, b.Train, corpus);
        var set = TrainingSet.Supervised(data, miner, 1, seed: 3);
        set.Premine();
        var e1 = set.Example(2, 0);
        var e2 = TrainingSet.Supervised(data, miner, 1, seed: 3).Example(2, 0);
        Assert.Equal(e1.Negatives, e2.Negatives);
        Assert.Single(e1.Negatives);
        Assert.DoesNotContain(e1.Negatives, n => data.Relevant["q1"].Contains(n.Key));
        Assert.Equal(set.Order(4), set.Order(4));
        Assert.NotEqual(set.Order(0), set.Order(1));
        Assert.Equal(Enumerable.Range(0, set.Count), set.Order(1).Order());
    }
}
