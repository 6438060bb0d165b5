using System.Text.Json;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>`dss compare` end to end on temporary run files: the table, the JSON, Markdown and PNG files, and one error line (exit 2) for each bad input.</summary>
public sealed class CliCompareTests : IDisposable
{
    readonly TempDir _dir = new("dss-cli-compare");

    public void Dispose() => _dir.Dispose();

    string Qrels()
    {
        var lines = new List<string> { "query-id\tcorpus-id\tscore" };
        for (int q = 1; q <= 12; q++) { lines.Add($"q{q}\td{q}a\t1"); lines.Add($"q{q}\td{q}b\t2"); }
        string path = _dir.File("qrels.tsv");
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>A run where query q's relevant documents sit at rank (q % spread) + 1 and after; queries in <paramref name="skip"/> left out.</summary>
    string RunFile(string name, int spread, params int[] skip)
    {
        var lines = new List<string>();
        for (int q = 1; q <= 12; q++)
        {
            if (skip.Contains(q)) continue;
            var docs = Enumerable.Range(0, 8).Select(k => $"f{q}-{k}").ToList();
            docs.Insert(q % spread, $"d{q}a");
            docs.Insert(q % spread, $"d{q}b");
            lines.AddRange(docs.Select((d, i) => $"q{q} Q0 {d} {i + 1} {20 - i} {name}"));
        }
        string path = _dir.File(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Compares_runs_and_writes_json_markdown_and_a_png()
    {
        string qrels = Qrels(), a = RunFile("base.run", 6), b = RunFile("better.run", 2), c = RunFile("same.run", 6);
        string json = _dir.File("out.json"), md = _dir.File("out.md"), png = _dir.File("out.png");
        var r = Dss.Ok("compare", "--qrels", qrels, a, b, c, "--json", json, "--markdown", md, "--plot", png, "--resamples", "2000", "--permutations", "2000", "--seed", "3");
        Assert.Contains("12 queries judged", r.Stdout);
        Assert.Contains("baseline base.run", r.Stdout);
        foreach (var metric in new[] { "nDCG@10", "Recall@100", "MRR@10" }) Assert.Contains(metric, r.Stdout);
        Assert.Contains("Holm", r.Stdout); // three runs: adjusted p-values beside the raw ones
        Assert.Contains("better.run vs base.run:", r.Stdout);

        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(["base.run", "better.run", "same.run"], report.GetProperty("runs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(12, report.GetProperty("queries").GetInt32());
        Assert.Equal(3, report.GetProperty("seed").GetInt32());
        var ndcg = report.GetProperty("metrics")[0];
        Assert.Equal("nDCG@10", ndcg.GetProperty("metric").GetString());
        var better = ndcg.GetProperty("comparisons")[0];
        Assert.True(better.GetProperty("meanDifference").GetDouble() > 0);
        Assert.True(better.GetProperty("tTestPHolm").GetDouble() >= better.GetProperty("tTestP").GetDouble());
        Assert.True(better.GetProperty("gains").GetArrayLength() is > 0 and <= 5);
        var same = ndcg.GetProperty("comparisons")[1];
        Assert.Equal(0, same.GetProperty("meanDifference").GetDouble());
        Assert.Equal(1, same.GetProperty("tTestP").GetDouble());
        Assert.Equal(1, same.GetProperty("randomizationP").GetDouble());

        string markdown = File.ReadAllText(md);
        Assert.StartsWith("# Run comparison", markdown);
        Assert.Contains("| `better.run` |", markdown);

        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 1000, $"PNG of {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_report()
    {
        string qrels = Qrels(), a = RunFile("a.run", 6), b = RunFile("b.run", 3);
        var first = Dss.Ok("compare", "--qrels", qrels, a, b, "--seed", "9", "--resamples", "500", "--permutations", "500").Stdout;
        var second = Dss.Ok("compare", "--qrels", qrels, a, b, "--seed", "9", "--resamples", "500", "--permutations", "500").Stdout;
        Assert.Equal(first, second);
        Assert.DoesNotContain("Holm", first); // two runs: one comparison, no correction
    }

    [Fact]
    public void Bad_input_is_one_error_line_with_exit_2()
    {
        string qrels = Qrels(), a = RunFile("a.run", 6), b = RunFile("b.run", 3), fewer = RunFile("fewer.run", 3, 7);
        Dss.Fails("runs cover different query sets: a.run has 12 judged queries, fewer.run has 11; query 'q7' is in a.run but not in fewer.run (a TREC run has no line",
            "compare", "--qrels", qrels, a, fewer);
        string missing = _dir.File("nope.tsv");
        Dss.Fails($"qrels file not found: {missing}", "compare", "--qrels", missing, a, b);
        Dss.Fails("at least two run files", "compare", "--qrels", qrels, a);
        string bad = _dir.File("bad.run");
        File.WriteAllLines(bad, ["q1 Q0 d1a 1 3.5 t", "q1 Q0 d1b 2 t"]);
        Dss.Fails($"{bad}:2: expected 6 columns", "compare", "--qrels", qrels, a, bad);
        Dss.Fails("--resamples must be >= 1", "compare", "--qrels", qrels, a, b, "--resamples", "0");
    }
}
