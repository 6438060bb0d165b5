using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Eval.Comparison;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss compare`: paired significance of TREC runs against the first one (Eval's <see cref="RunComparison"/>), offline.</summary>
static class CompareCommand
{
    public static Command Create()
    {
        var qrels = new Option<string>("--qrels") { Description = "Qrels (BEIR TSV or TREC); the evaluated queries are those judged here, as in dss eval", Required = true };
        var runs = new Argument<string[]>("runs")
        {
            Description = "Two or more TREC run files (qid Q0 docid rank score tag, as dss eval --run writes); the first is the baseline",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var resamples = new Option<int>("--resamples") { Description = "Bootstrap resamples of the queries for the 95% interval of each mean difference", DefaultValueFactory = _ => ComparisonOptions.Default.Resamples };
        var permutations = new Option<int>("--permutations") { Description = "Random sign flips of the paired randomization test", DefaultValueFactory = _ => ComparisonOptions.Default.Permutations };
        var seed = new Option<int>("--seed") { Description = "Seed of the bootstrap and of the randomization test (same seed, same numbers)", DefaultValueFactory = _ => ComparisonOptions.Default.Seed };
        var top = new Option<int>("--top") { Description = "How many most-gained and most-lost queries to list per metric and run", DefaultValueFactory = _ => ComparisonOptions.Default.Top };
        var json = new Option<string?>("--json") { Description = "Write the report (means, statistics, gained/lost and per-query values) as JSON to this file" };
        var markdown = new Option<string?>("--markdown") { Description = "Write the report as Markdown to this file" };
        var plotPath = new Option<string?>("--plot") { Description = "Write a PNG of the per-query nDCG@10 differences against the baseline, sorted" };

        var cmd = new Command("compare",
            "Compare TREC runs query by query against the first (the baseline): per metric (nDCG@10, Recall@100, MRR@10) each run's mean, "
            + "the mean paired difference with a 95% percentile-bootstrap interval, the two-sided paired t-test and randomization (sign-flip) "
            + "test p-values (Holm-adjusted too with three or more runs), and the queries that gained and lost most.")
        { qrels, runs, resamples, permutations, seed, top, json, markdown, plotPath };
        cmd.SetAction(pr =>
        {
            var judgments = QrelsReader.Read(pr.GetValue(qrels)!);
            var files = pr.GetValue(runs) ?? [];
            if (files.Length < 2)
                throw new InvalidInputException($"dss compare needs at least two run files (a baseline and one to compare), got {files.Length}");
            var names = files.Select(Path.GetFileName).ToList();
            bool unique = names.Distinct(StringComparer.Ordinal).Count() == names.Count;
            var named = files.Select((f, i) => new NamedRun(unique ? names[i]! : f, Run.ReadTrec(f))).ToList();
            var options = new ComparisonOptions
            {
                Resamples = Positive(pr.GetValue(resamples), "resamples"),
                Permutations = Positive(pr.GetValue(permutations), "permutations"),
                Seed = pr.GetValue(seed),
                Top = pr.GetValue(top),
            };
            var report = RunComparison.Compare(judgments, named, options);
            Console.Write(report.ToTable());
            if (pr.GetValue(json) is { } jsonPath) { AtomicFile.WriteAllText(jsonPath, report.ToJson()); Console.WriteLine($"report     {jsonPath}"); }
            if (pr.GetValue(markdown) is { } mdPath) { AtomicFile.WriteAllText(mdPath, report.ToMarkdown()); Console.WriteLine($"markdown   {mdPath}"); }
            if (pr.GetValue(plotPath) is { } png) { ComparisonPlot.WritePng(report, png); Console.WriteLine($"plot       {png}"); }
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static int Positive(int value, string setting) =>
        value >= 1 ? value : throw new InvalidInputException($"--{setting} must be >= 1, got {value}") { Setting = setting };
}
