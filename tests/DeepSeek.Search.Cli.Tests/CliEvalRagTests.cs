using System.Text.Json;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// `dss eval-rag` on the topics collection of <see cref="AskCollection"/> (its trained tiny generator): the report's structure,
/// its recall numbers against the qrels and the sources each answer was given, and its errors. What the tiny model writes is no
/// answer, so exact match and F1 are checked for consistency only; the retrieval and containment facts are checked exactly.
/// </summary>
[Collection(AskCollectionDefinition.Name)]
public sealed class CliEvalRagTests(AskCollection c)
{
    /// <summary>The first word of the text of document t{topic}-{i} of the topics collection (so it is in that document).</summary>
    static string WordOf(int topic, int i) => TinyGenerator.Passage(topic, 30, 10 * topic + i).Split(' ')[0];

    static string Question(string id, int topic, int seed, params string[] answers) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_id"] = id, ["text"] = "notes " + TinyGenerator.Passage(topic, 3, seed), ["metadata"] = new Dictionary<string, object> { ["answers"] = answers },
        });

    /// <summary>A questions file in a folder of its own, with qrels/test.tsv beside it (the default qrels).</summary>
    string WriteSet(string name, IEnumerable<string> questions, IEnumerable<string> qrels)
    {
        string dir = c.PathOf(name);
        Directory.CreateDirectory(Path.Combine(dir, "qrels"));
        string path = Path.Combine(dir, "queries.jsonl");
        File.WriteAllLines(path, questions);
        File.WriteAllLines(Path.Combine(dir, "qrels", "test.tsv"), ["query-id\tcorpus-id\tscore", .. qrels]);
        return path;
    }

    static List<JsonElement> Rows(JsonElement report) => report.GetProperty("questions").EnumerateArray().ToList();
    static List<string> Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToList();

    [Fact]
    public void Eval_rag_answers_a_slice_and_its_recall_agrees_with_the_qrels_and_the_sources_given()
    {
        string questions = WriteSet("eval-rag-topics",
        [
            Question("qa0", 0, 700, WordOf(0, 0)),
            Question("qa1", 1, 701, WordOf(1, 0)),
            Question("qa2", 2, 702, "nothing like it"),
            Question("qa3", 3, 703, WordOf(3, 0)),
            Question("qa4", 0, 704, WordOf(0, 1), WordOf(0, 2)),
            Question("qa5", 1, 705, WordOf(1, 2)),
        ],
        ["qa0\tt0-0\t1", "qa1\tt1-0\t1", "qa2\tt2-1\t1", "qa3\tnot-indexed\t1", "qa4\tt0-1\t1", "qa4\tt0-2\t1", "qa4\tt3-0\t0", "qa5\tt1-2\t1"]);
        string json = c.PathOf("eval-rag-topics/report.json"), md = c.PathOf("eval-rag-topics/out/report.md");
        var r = Dss.Ok("eval-rag", "-c", "topics", "--questions", questions, "--skip", "1", "--limit", "4", "--mode", "bm25", "--max-new", "8",
            "--out", json, "--markdown", md, "--root", c.IndexRoot);
        Assert.Contains("gold passage in sources: recall@1", r.Stdout);
        Assert.Contains("4 of 6 (skipped 1; lines 2–5)", r.Stdout);
        Assert.Contains($"report   {json}", r.Stdout);
        Assert.Contains("answer", r.Stderr);                                  // the progress lines of a redirected run
        Assert.Contains("4 / 4", r.Stderr);

        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        var counts = report.GetProperty("counts");
        Assert.Equal(6, counts.GetProperty("questions_in_file").GetInt32());
        Assert.Equal(1, counts.GetProperty("skipped").GetInt32());
        Assert.Equal(4, counts.GetProperty("evaluated").GetInt32());
        var options = report.GetProperty("options");
        Assert.Equal("bm25", options.GetProperty("mode").GetString());
        Assert.Equal(8, options.GetProperty("max_new_tokens").GetInt32());
        Assert.Equal(Path.GetFullPath(Path.Combine(c.IndexRoot, "topics", "generator")), options.GetProperty("model").GetString());
        Assert.EndsWith(Path.Combine("eval-rag-topics", "qrels", "test.tsv"), options.GetProperty("qrels").GetString());

        var rows = Rows(report);
        Assert.Equal(["qa1", "qa2", "qa3", "qa4"], rows.Select(x => x.GetProperty("id").GetString()));
        var gold = new Dictionary<string, string[]> { ["qa1"] = ["t1-0"], ["qa2"] = ["t2-1"], ["qa3"] = ["not-indexed"], ["qa4"] = ["t0-1", "t0-2"] };
        var ranks = new List<int?>();
        foreach (var row in rows)
        {
            string id = row.GetProperty("id").GetString()!;
            var sources = Strings(row.GetProperty("source_ids"));
            Assert.InRange(sources.Count, 1, 5);
            Assert.Equal(gold[id], Strings(row.GetProperty("gold_documents")));
            // the gold rank is the first gold document among the sources, in prompt order
            int first = sources.FindIndex(s => gold[id].Contains(s));
            int? rank = first < 0 ? null : first + 1;
            Assert.Equal(rank, row.GetProperty("gold_rank").ValueKind == JsonValueKind.Null ? null : row.GetProperty("gold_rank").GetInt32());
            ranks.Add(rank);
            Assert.All(Strings(row.GetProperty("cited_source_ids")), s => Assert.Contains(s, sources));
            Assert.InRange(row.GetProperty("supported_citations").GetInt32(), 0, row.GetProperty("cited_source_ids").GetArrayLength());
            double em = row.GetProperty("exact_match").GetDouble(), f1 = row.GetProperty("f1").GetDouble();
            Assert.True(em is 0 or 1, $"{id}: exact match {em}");
            Assert.InRange(f1, 0, 1);
            if (em == 1) Assert.Equal(1, f1);
            var timings = row.GetProperty("timings_ms");
            Assert.True(timings.GetProperty("total").GetDouble() >= timings.GetProperty("generate").GetDouble());
        }
        Assert.Null(ranks[2]);                                               // qa3's gold passage is not in the collection
        Assert.False(rows[1].GetProperty("answer_in_sources").GetBoolean()); // qa2's answer is in no document
        if (ranks[0] is not null) Assert.True(rows[0].GetProperty("answer_in_sources").GetBoolean()); // qa1's answer is in its gold passage

        var m = report.GetProperty("metrics");
        foreach (var (name, k) in new (string, int?)[] { ("recall_at_1", 1), ("recall_at_3", 3), ("recall_at_5", 5), ("recall_at_all", null) })
            Assert.Equal(ranks.Count(x => x is int v && (k is null || v <= k)) / 4.0, m.GetProperty(name).GetDouble(), 12);
        Assert.True(m.GetProperty("recall_at_all").GetDouble() <= 0.75);
        Assert.Equal(rows.Average(x => x.GetProperty("exact_match").GetDouble()), m.GetProperty("exact_match").GetDouble(), 12);
        Assert.Equal(rows.Average(x => x.GetProperty("f1").GetDouble()), m.GetProperty("f1").GetDouble(), 12);
        Assert.Equal(rows.Count(x => x.GetProperty("answer_in_sources").GetBoolean()) / 4.0, m.GetProperty("answer_in_sources").GetDouble(), 12);
        int citing = rows.Count(x => x.GetProperty("cited_source_ids").GetArrayLength() > 0);
        Assert.Equal(citing, m.GetProperty("citation_precision_over").GetInt32());
        Assert.Equal(citing / 4.0, m.GetProperty("citation_rate").GetDouble(), 12);
        Assert.Equal(citing == 0, m.GetProperty("citation_precision").ValueKind == JsonValueKind.Null);

        var latency = report.GetProperty("latency_ms");
        Assert.Equal(["retrieve", "rerank", "prompt", "first_token", "generate", "total"], latency.EnumerateObject().Select(p => p.Name));
        foreach (var stage in latency.EnumerateObject())
        {
            var l = stage.Value;
            Assert.Equal(4, l.GetProperty("count").GetInt32());
            Assert.True(l.GetProperty("median").GetDouble() <= l.GetProperty("p90").GetDouble() && l.GetProperty("p90").GetDouble() <= l.GetProperty("p99").GetDouble()
                && l.GetProperty("p99").GetDouble() <= l.GetProperty("max").GetDouble(), stage.Name);
        }
        // every question's total is at least its generation, so each order statistic is too
        Assert.True(latency.GetProperty("total").GetProperty("median").GetDouble() >= latency.GetProperty("generate").GetProperty("median").GetDouble());
        Assert.Equal(0, latency.GetProperty("rerank").GetProperty("max").GetDouble());  // no --rerank

        string markdown = File.ReadAllText(md);
        Assert.Contains("| metric | value |", markdown);
        Assert.Contains("| gold passage in sources: recall@1 |", markdown);
        Assert.Contains("| stage | median ms | p90 ms | p99 ms | mean ms | max ms |", markdown);
    }

    [Fact]
    public void A_question_whose_gold_passage_is_the_only_document_has_recall_at_1()
    {
        string corpus = c.PathOf("single-corpus.jsonl");
        File.WriteAllText(corpus, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["id"] = "only", ["title"] = "notes 0", ["text"] = "notes " + TinyGenerator.Passage(0, 30, 0),
        }) + "\n");
        Dss.Ok("index", "-c", "single", "--corpus", corpus, "--encoder", "none", "--index-root", c.IndexRoot);
        string questions = WriteSet("eval-rag-single",
            [Question("s0", 0, 800, WordOf(0, 0)), Question("s1", 2, 801, WordOf(0, 0), "not there"), Question("s2", 3, 802, "absent words")],
            ["s0\tonly\t1", "s1\tonly\t1", "s2\tonly\t1"]);
        string json = c.PathOf("eval-rag-single/report.json");
        Dss.Ok("eval-rag", "-c", "single", "--questions", questions, "--model", Path.Combine(c.IndexRoot, "topics", "generator"), "--max-new", "4",
            "--out", json, "--index-root", c.IndexRoot);
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        var m = report.GetProperty("metrics");
        foreach (var name in new[] { "recall_at_1", "recall_at_3", "recall_at_5", "recall_at_all" }) Assert.Equal(1, m.GetProperty(name).GetDouble());
        var rows = Rows(report);
        Assert.All(rows, x => Assert.Equal(["only"], Strings(x.GetProperty("source_ids"))));
        Assert.All(rows, x => Assert.Equal(1, x.GetProperty("gold_rank").GetInt32()));
        Assert.Equal([true, true, false], rows.Select(x => x.GetProperty("answer_in_sources").GetBoolean()));
        Assert.Equal(2.0 / 3, m.GetProperty("answer_in_sources").GetDouble(), 12);
        Assert.Equal(0, report.GetProperty("counts").GetProperty("skipped").GetInt32());
        Assert.Equal(3, report.GetProperty("counts").GetProperty("evaluated").GetInt32());
    }

    [Fact]
    public void Bad_input_is_one_error_line_naming_the_file_line_and_value()
    {
        string good = Question("g0", 0, 900, "star");
        string questions = WriteSet("eval-rag-bad", [good, Question("g1", 1, 901, "flour")], ["g0\tt0-0\t1", "g1\tt1-0\t1"]);
        string[] Args(string q, params string[] more) => ["eval-rag", "-c", "topics", "--questions", q, "--mode", "bm25", "--index-root", c.IndexRoot, .. more];

        Dss.Fails($"questions file not found: {c.PathOf("nowhere.jsonl")}", Args(c.PathOf("nowhere.jsonl")));
        Dss.Fails("limit must be at least 1, got 0", Args(questions, "--limit", "0"));
        Dss.Fails("skip 2 leaves no question", Args(questions, "--skip", "2"));
        Dss.Fails("skip must be 0 or more, got -3", Args(questions, "--skip", "-3"));
        Dss.Fails("max_sources must be between 1 and 50, got 0", Args(questions, "--max-sources", "0"));
        Dss.Fails("no generator for collection 'bare'", ["eval-rag", "-c", "bare", "--questions", questions, "--index-root", c.IndexRoot]);

        string malformed = WriteSet("eval-rag-malformed", [good, "{\"_id\": \"g1\", \"text\": "], ["g0\tt0-0\t1"]);
        Dss.Fails($"{malformed}:2: invalid JSON", Args(malformed));
        string noAnswers = WriteSet("eval-rag-no-answers", [good, """{"_id": "g1", "text": "where", "metadata": {"answers": []}}"""], ["g0\tt0-0\t1", "g1\tt1-0\t1"]);
        Dss.Fails($"{noAnswers}:2: question 'g1' has no answers", Args(noAnswers));
        string unknown = WriteSet("eval-rag-unknown", [good], ["g0\tt0-0\t1", "zz\tt0-0\t1"]);
        Dss.Fails($"{Path.Combine(c.PathOf("eval-rag-unknown"), "qrels", "test.tsv")}:3: question 'zz' is not in {unknown}", Args(unknown));
        string noGold = WriteSet("eval-rag-no-gold", [good, Question("g1", 1, 901, "flour")], ["g0\tt0-0\t1", "g1\tt1-0\t0"]);
        Dss.Fails($"{noGold}:2: question 'g1' has no gold passage", Args(noGold));

        string alone = c.PathOf("eval-rag-alone.jsonl");
        File.WriteAllLines(alone, [good]);
        Dss.Fails("qrels/test.tsv beside the questions file", Args(alone));
        Dss.Fails($"qrels file not found: {c.PathOf("none.tsv")}", Args(alone, "--qrels", c.PathOf("none.tsv")));
        Dss.Fails("is a folder, not a file", Args(questions, "--out", c.PathOf("eval-rag-bad")));
    }
    [Fact]
    public void Train_reader_teaches_cited_answers_on_the_prompts_ask_builds_and_eval_rag_answers_with_it()
    {
        // 24 questions: the answer is the first word of a document of its topic, that document the gold passage; 4 have an answer in no document
        var qs = new List<string>();
        var qrels = new List<string>();
        for (int i = 0; i < 24; i++)
        {
            int topic = i % 4, doc = i % 3;
            qs.Add(i % 6 == 5 ? Question($"tr{i}", topic, 950 + i, "zebra xylophone") : Question($"tr{i}", topic, 950 + i, WordOf(topic, doc)));
            qrels.Add($"tr{i}\tt{topic}-{doc}\t1");
        }
        string questions = WriteSet("train-reader", qs, qrels);
        string output = c.PathOf("reader"), generator = Path.Combine(c.IndexRoot, "topics", "generator");
        string[] train = ["train-reader", "-c", "topics", "--questions", questions, "--skip", "2", "--limit", "20", "--mode", "bm25", "--max-sources", "3", "--max-new", "40",
            "--out", output, "--lora-rank", "8", "--batch-size", "4", "--max-steps", "30", "--lr", "1e-2", "--val-fraction", "0.2", "--eval-every", "0", "--index-root", c.IndexRoot];
        var r = Dss.Ok(train).Stdout;
        Assert.True(r.Contains("pairs      20 from 20 questions: ", StringComparison.Ordinal), r);

        var marker = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "reader.json"))).RootElement;
        Assert.Equal(20, marker.GetProperty("pairs").GetInt32());
        Assert.Equal(2, marker.GetProperty("skip").GetInt32());
        Assert.Equal("bm25", marker.GetProperty("first_stage").GetString());
        Assert.Equal(20, marker.GetProperty("cite_gold").GetInt32() + marker.GetProperty("cite_other").GetInt32() + marker.GetProperty("not_in_sources").GetInt32());
        Assert.True(marker.GetProperty("not_in_sources").GetInt32() >= 3, marker.ToString()); // tr5, tr11, tr17 (tr23 too) have no answer anywhere
        var pairs = File.ReadAllLines(Path.Combine(output, "reader_pairs.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(20, pairs.Count);
        int citedPairs = 0;
        var byId = pairs.ToDictionary(p => p.GetProperty("question_id").GetString()!);
        Assert.False(byId.ContainsKey("tr0") || byId.ContainsKey("tr1") || byId.ContainsKey("tr22") || byId.ContainsKey("tr23")); // outside --skip/--limit
        foreach (var p in pairs)
        {
            string id = p.GetProperty("question_id").GetString()!, response = p.GetProperty("response").GetString()!, kind = p.GetProperty("kind").GetString()!;
            var sources = Strings(p.GetProperty("sources"));
            Assert.InRange(sources.Count, 1, 3);
            int i = int.Parse(id[2..], System.Globalization.CultureInfo.InvariantCulture);
            if (i % 6 == 5 || kind == "not_in_sources") { Assert.Equal("not_in_sources", kind); Assert.Equal("The sources do not contain the answer.", response); continue; }
            citedPairs++;
            var m = System.Text.RegularExpressions.Regex.Match(response, @"^(\S+) \[(\d)\]$");
            Assert.True(m.Success, response);
            Assert.Equal(WordOf(i % 4, i % 3), m.Groups[1].Value);
            string cited = sources[int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) - 1];
            Assert.Equal(kind == "gold", cited == $"t{i % 4}-{i % 3}");
        }
        Assert.True(citedPairs >= 8, $"{citedPairs} of 20 pairs cite a source"); // most answers are in a recalled source
        // the training prompt is the one dss ask builds for that question with those options, token for token (same length here)
        var first = pairs[0];
        string text = JsonDocument.Parse(qs[int.Parse(first.GetProperty("question_id").GetString()![2..], System.Globalization.CultureInfo.InvariantCulture)]).RootElement.GetProperty("text").GetString()!;
        var ask = JsonDocument.Parse(Dss.Ok("ask", "-c", "topics", "-q", text, "--mode", "bm25", "--max-sources", "3", "--max-new", "40", "--json", "--index-root", c.IndexRoot).Stdout).RootElement;
        Assert.Equal(first.GetProperty("prompt_ids").GetArrayLength(), ask.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(Strings(first.GetProperty("sources")), ask.GetProperty("sources").EnumerateArray().Select(s => s.GetProperty("document_id").GetString()!).ToList());
        // it learned the answer format: held-out loss fell
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "train_lm.json"))).RootElement.GetProperty("result");
        Assert.True(summary.GetProperty("final_validation_loss").GetDouble() < summary.GetProperty("initial_validation_loss").GetDouble() - 0.3, summary.ToString());
        Assert.True(File.Exists(Path.Combine(output, "adapter_config.json")));

        // the reader answers through eval-rag (an adapter folder as --model), on the two questions it did not see
        string json = c.PathOf("train-reader/report.json");
        Dss.Ok("eval-rag", "-c", "topics", "--questions", questions, "--limit", "2", "--mode", "bm25", "--max-sources", "3", "--max-new", "40", "--model", output,
            "--out", json, "--index-root", c.IndexRoot);
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(Path.GetFullPath(output), report.GetProperty("options").GetProperty("model").GetString());
        Assert.Equal(2, report.GetProperty("counts").GetProperty("evaluated").GetInt32());

        // --pairs-only: the same pairs, and the command that trains them elsewhere; no reader folder
        string only = c.PathOf("reader-pairs");
        var po = Dss.Ok([.. train.Select(a => a == output ? only : a), "--pairs-only"]).Stdout;
        Assert.Contains($"train them with: dss train-lm --init {generator} --sft {only}.pairs.jsonl --seq-len ", po);
        Assert.False(Directory.Exists(only));
        Assert.Equal(File.ReadAllLines(Path.Combine(output, "reader_pairs.jsonl")), File.ReadAllLines(only + ".pairs.jsonl"));

        // bad input: one line, exit 2, and the finished reader untouched
        var before = File.GetLastWriteTimeUtc(Path.Combine(output, "adapter_model.safetensors"));
        Dss.Fails("already exists", train);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(output, "adapter_model.safetensors")));
        Dss.Fails("limit must be at least 1, got 0", "train-reader", "-c", "topics", "--questions", questions, "--limit", "0", "--out", c.PathOf("reader2"), "--index-root", c.IndexRoot);
        Dss.Fails("no generator for collection 'bare'", "train-reader", "-c", "bare", "--questions", questions, "--out", c.PathOf("reader3"), "--index-root", c.IndexRoot);
        Assert.False(Directory.Exists(c.PathOf("reader2")) || Directory.Exists(c.PathOf("reader3")));
    }
}
