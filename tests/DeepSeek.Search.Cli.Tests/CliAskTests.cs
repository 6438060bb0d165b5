using System.Text.Json;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// A collection of topic documents (alice's, bob's, public) with the trained tiny generator in its generator/ folder: `dss ask`
/// locally and through `dss serve`, `dss search --rerank`, `dss eval --rerank`, `dss eval-rag`, and their errors. Shared by the
/// test classes of <see cref="AskCollectionDefinition"/>, so the generator is trained once.
/// </summary>
public sealed class AskCollection : IDisposable
{
    readonly TempDir _tmp = new("dss-cli-ask");
    public string IndexRoot => Path.Combine(_tmp.Path, "indexes");
    public string Queries => Path.Combine(_tmp.Path, "queries.jsonl");
    public string Qrels => Path.Combine(_tmp.Path, "qrels.tsv");
    public string PathOf(string name) => Path.Combine(_tmp.Path, name);

    public AskCollection()
    {
        var lines = new List<string>();
        for (int t = 0; t < TinyGenerator.Topics.Length; t++)
            for (int i = 0; i < 3; i++)
            {
                string acl = t == 0 ? ""","acl":{"principals":["alice"]}""" : t == 1 ? ""","acl":{"principals":["bob"]}""" : "";
                lines.Add($$"""{"id":"t{{t}}-{{i}}","title":"notes {{t}}","text":"notes {{TinyGenerator.Passage(t, 30, 10 * t + i)}}"{{acl}}}""");
            }
        string corpus = PathOf("corpus.jsonl");
        File.WriteAllLines(corpus, lines);
        Dss.Ok("index", "-c", "topics", "--corpus", corpus, "--encoder", "none", "--index-root", IndexRoot);
        // the user's path: dss train-lm into the collection's generator folder (a child process, as every dss call here)
        Dss.Ok(TinyGenerator.TrainLmArguments(TinyGenerator.WriteCorpus(PathOf("lm-corpus.jsonl")), Path.Combine(IndexRoot, "topics", "generator")));
        Dss.Ok("index", "-c", "bare", "--corpus", corpus, "--encoder", "none", "--index-root", IndexRoot);
        File.WriteAllLines(Queries, Enumerable.Range(0, 4).Select(t => $$"""{"_id":"q{{t}}","text":"notes {{TinyGenerator.Passage(t, 3, 500 + t)}}"}"""));
        File.WriteAllLines(Qrels, Enumerable.Range(0, 4).Select(t => $"q{t}\tt{t}-0\t1"));
    }

    public void Dispose() => _tmp.Dispose();
}

/// <summary>The test classes that share one <see cref="AskCollection"/> (they run one after the other).</summary>
[CollectionDefinition(Name)]
public sealed class AskCollectionDefinition : ICollectionFixture<AskCollection>
{
    public const string Name = "ask collection";
}

[Collection(AskCollectionDefinition.Name)]
public sealed class CliAskTests(AskCollection c)
{
    [Fact]
    public void Ask_locally_streams_an_answer_and_lists_only_permitted_sources()
    {
        var r = Dss.Ok("ask", "-c", "topics", "-q", "star galaxy orbit", "--max-new", "16", "--principal", "alice", "--index-root", c.IndexRoot).Stdout;
        Assert.Contains("sources given: [1] t0-", r);
        Assert.DoesNotContain("t1-", r); // bob's documents
        var json = JsonDocument.Parse(Dss.Ok("ask", "-c", "topics", "-q", "flour butter oven", "--max-new", "16", "--principal", "bob", "--json", "--index-root", c.IndexRoot).Stdout).RootElement;
        var sources = json.GetProperty("sources").EnumerateArray().Select(s => s.GetProperty("document_id").GetString()!).ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, id => Assert.True(id.StartsWith("t1-", StringComparison.Ordinal) || id.StartsWith("t2-", StringComparison.Ordinal) || id.StartsWith("t3-", StringComparison.Ordinal), id));
        Assert.All(json.GetProperty("citations").EnumerateArray(), x => Assert.Contains(x.GetProperty("document_id").GetString(), sources));
        Assert.False(json.GetProperty("no_sources").GetBoolean());

        var none = Dss.Ok("ask", "-c", "topics", "-q", "star galaxy", "--principal", "carol", "--index-root", c.IndexRoot).Stdout;
        Assert.Contains("no sources", none);
    }

    [Fact]
    public void Ask_without_a_generator_and_with_bad_options_is_one_line_and_exit_2()
    {
        var r = Dss.Fails("no generator for collection 'bare'", "ask", "-c", "bare", "-q", "star", "--index-root", c.IndexRoot);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Dss.Fails("max_sources", "ask", "-c", "topics", "-q", "star", "--max-sources", "0", "--index-root", c.IndexRoot);
        Dss.Fails("empty question", "ask", "-c", "topics", "-q", " ", "--index-root", c.IndexRoot);
        Dss.Fails("config.json", "search", "-c", "topics", "-q", "star", "--rerank", "--model", c.PathOf("nowhere"), "--index-root", c.IndexRoot);
        Dss.Fails("rerank weight", "search", "-c", "topics", "-q", "star", "--rerank", "--rerank-weight", "3", "--index-root", c.IndexRoot);
    }

    [Fact]
    public void Search_and_eval_rerank_with_the_collection_s_generator()
    {
        var json = JsonDocument.Parse(Dss.Ok("search", "-c", "topics", "-q", "notes comet nebula", "--mode", "bm25", "-k", "3", "--rerank", "--rerank-weight", "1", "--json",
            "--index-root", c.IndexRoot).Stdout).RootElement;
        var hits = json.GetProperty("hits").EnumerateArray().ToList();
        Assert.Equal(3, hits.Count);
        Assert.StartsWith("t0-", hits[0].GetProperty("id").GetString());
        Assert.All(hits, h => { Assert.Equal(JsonValueKind.Number, h.GetProperty("rerank_score").ValueKind); Assert.Equal(JsonValueKind.Number, h.GetProperty("first_stage_score").ValueKind); });

        string report = c.PathOf("rerank-eval.json");
        var eval = Dss.Ok("eval", "-c", "topics", "--queries", c.Queries, "--qrels", c.Qrels, "--mode", "bm25", "--rerank", "--json", report, "--index-root", c.IndexRoot).Stdout;
        Assert.Contains("first stage  re-ranked  delta", eval);
        Assert.Contains("re-ranked by query likelihood (depth 100, weight 0.5", eval);
        var both = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        // the first stage of a re-ranked eval is the plain eval's ranking (same batched path), to the last digit
        string plainReport = c.PathOf("plain-eval.json");
        Dss.Ok("eval", "-c", "topics", "--queries", c.Queries, "--qrels", c.Qrels, "--mode", "bm25", "--json", plainReport, "--index-root", c.IndexRoot);
        var plain = JsonDocument.Parse(File.ReadAllText(plainReport)).RootElement;
        foreach (var metric in new[] { "ndcg", "recall", "mrr" })
            Assert.Equal(plain.GetProperty(metric).GetDouble(), both.GetProperty("first_stage").GetProperty(metric).GetDouble(), 6);
        // re-ranking re-orders the top 100: recall@100 cannot move
        Assert.Equal(plain.GetProperty("recall").GetDouble(), both.GetProperty("reranked").GetProperty("recall").GetDouble(), 6);
    }

    [Fact]
    public async Task Ask_through_the_server_streams_the_same_kind_of_answer()
    {
        var keys = c.PathOf("ask-keys.json");
        var key = Dss.Ok("keys", "add", "--principal", "alice", "--right", "read", "--keys", keys).Stdout.Trim();
        using var server = await ServeProcess.StartAsync(c.IndexRoot, keys);
        var r = Dss.Ok("ask", "--server", server.Address, "--key", key, "-c", "topics", "-q", "star galaxy orbit", "--max-new", "16").Stdout;
        Assert.Contains("sources given: [1] t0-", r);
        Assert.DoesNotContain("t1-", r);
        var q = Dss.Ok("query", "--server", server.Address, "--key", key, "-c", "topics", "-q", "notes comet", "--mode", "bm25", "-k", "2", "--rerank", "--json").Stdout;
        Assert.Contains("rerank_score", q);
        Dss.Fails("FailedPrecondition", "ask", "--server", server.Address, "--key", key, "-c", "bare", "-q", "star");
    }

    [Fact]
    public void Train_reranker_mines_pairs_from_the_collection_and_writes_a_pointwise_reranker_that_eval_uses()
    {
        // 24 judged queries, one relevant document each; the collection (12 documents, BM25) supplies the negatives
        string queries = c.PathOf("rr-queries.jsonl"), qrels = c.PathOf("rr-qrels.tsv"), output = c.PathOf("pointwise");
        File.WriteAllLines(queries, Enumerable.Range(0, 24).Select(i => $$"""{"_id":"r{{i}}","text":"notes {{TinyGenerator.Passage(i % 4, 3, 700 + i)}}"}"""));
        File.WriteAllLines(qrels, Enumerable.Range(0, 24).Select(i => $"r{i}\tt{i % 4}-{i % 3}\t1"));
        string[] train = ["train-reranker", "-c", "topics", "--queries", queries, "--qrels", qrels, "--out", output, "--mode", "bm25", "--negatives", "3",
            "--seq-len", "160", "--batch-size", "8", "--max-steps", "40", "--lr", "3e-3", "--val-fraction", "0.2", "--eval-every", "0", "--index-root", c.IndexRoot];
        var r = Dss.Ok(train).Stdout;
        Assert.Contains("pairs      96 from 24 judged queries: 24 positive (24 retrieved in the top 30), 72 negative", r);

        var marker = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "reranker.json"))).RootElement;
        Assert.Equal("pointwise", marker.GetProperty("method").GetString());
        Assert.Equal("bm25", marker.GetProperty("first_stage").GetString());
        Assert.Equal(96, marker.GetProperty("pairs").GetInt32());
        var pairs = File.ReadAllLines(Path.Combine(output, "reranker_pairs.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(96, pairs.Count);
        Assert.Equal(24, pairs.Count(p => p.GetProperty("response").GetString() == "yes"));
        var judged = File.ReadAllLines(qrels).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
        foreach (var p in pairs)
        {
            bool relevant = judged[p.GetProperty("query_id").GetString()!] == p.GetProperty("doc_id").GetString();
            Assert.Equal(relevant ? "yes" : "no", p.GetProperty("response").GetString()); // a judged-relevant document is never a negative
            Assert.InRange(p.GetProperty("prompt_ids").GetArrayLength(), 20, 160);
        }
        Assert.Equal(24 * 4, pairs.Select(p => (p.GetProperty("query_id").GetString(), p.GetProperty("doc_id").GetString())).Distinct().Count());
        // it learned the answer format: held-out loss fell from the generator's to the re-ranker's
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "train_lm.json"))).RootElement.GetProperty("result");
        Assert.True(summary.GetProperty("final_validation_loss").GetDouble() < summary.GetProperty("initial_validation_loss").GetDouble() - 0.5, summary.ToString());

        var eval = Dss.Ok("eval", "-c", "topics", "--queries", queries, "--qrels", qrels, "--mode", "bm25", "--rerank", "--model", output, "--index-root", c.IndexRoot).Stdout;
        Assert.Contains("re-ranked by the pointwise re-ranker", eval);

        // bad input: one line, exit 2, and the finished re-ranker untouched
        var before = File.GetLastWriteTimeUtc(Path.Combine(output, "model.safetensors"));
        Dss.Fails("already exists", train);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(output, "model.safetensors")));
        Dss.Fails("negatives per query must be between 1 and 100, got 0", "train-reranker", "-c", "topics", "--queries", queries, "--qrels", qrels,
            "--out", c.PathOf("pw2"), "--negatives", "0", "--index-root", c.IndexRoot);
        string unknown = c.PathOf("rr-unknown.tsv");
        File.WriteAllLines(unknown, ["r0\tnope-1\t1", "r1\tnope-2\t1"]);
        Dss.Fails("none of the 2 judged-relevant document id(s) is in the collection", "train-reranker", "-c", "topics", "--queries", queries, "--qrels", unknown,
            "--out", c.PathOf("pw3"), "--mode", "bm25", "--index-root", c.IndexRoot);
        Assert.False(Directory.Exists(c.PathOf("pw3")));
    }
}
