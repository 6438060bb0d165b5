using System.Reflection;
using System.Text;
using System.Text.Json;
using DeepSeek.Search.Benchmarks;

// usage: Benchmarks [--quick] [--shared DIR] [--results DIR] [SUITE...]
if (args.Length == 3 && args[0] == "--child-bulk") return LiveBench.RunChild(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), args[2]);
bool quick = args.Contains("--quick");
string? shared = ArgValue("--shared");
string results = ArgValue("--results") ?? Path.Combine("bench", "results");
var wanted = args.Where((a, i) => !a.StartsWith("--") && (i == 0 || !args[i - 1].StartsWith("--shared") && !args[i - 1].StartsWith("--results"))).ToHashSet();

var suites = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchSuite).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
    .Select(t => (IBenchSuite)Activator.CreateInstance(t)!)
    .Where(s => wanted.Count == 0 || wanted.Contains(s.Name))
    .OrderBy(s => s.Name)
    .ToList();
if (suites.Count == 0) { Console.Error.WriteLine("no benchmark suite matched"); return 2; }
Directory.CreateDirectory(results);
var context = new BenchContext(quick, shared, results);
foreach (var suite in suites)
{
    Console.WriteLine($"== {suite.Name}");
    var report = suite.Run(context);
    if (report.Rows.Count == 0 && report.Notes.Any(n => n.StartsWith("skipped", StringComparison.Ordinal)))
    {
        // a suite that cannot run here (no CUDA) keeps the results of the machine that could
        foreach (var n in report.Notes) Console.WriteLine("  " + n);
        continue;
    }
    report.Environment["machine"] = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}";
    report.Environment["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm");
    report.Environment["quick"] = quick;
    string stem = suite.Name + (quick ? "-quick" : ""); // a --quick smoke never replaces a full run's results
    File.WriteAllText(Path.Combine(results, stem + ".json"),
        JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
    var md = ToMarkdown(report);
    File.WriteAllText(Path.Combine(results, stem + ".md"), md);
    Console.WriteLine(md);
}
return 0;

string? ArgValue(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }

static string ToMarkdown(BenchReport r)
{
    var sb = new StringBuilder();
    sb.AppendLine($"### {r.Title}").AppendLine();
    if (r.Rows.Count > 0)
    {
        var cols = r.Rows.SelectMany(x => x.Keys).Distinct().ToList();
        sb.AppendLine("| " + string.Join(" | ", cols) + " |");
        sb.AppendLine("|" + string.Concat(cols.Select(_ => "---|")));
        foreach (var row in r.Rows)
            sb.AppendLine("| " + string.Join(" | ", cols.Select(c => row.TryGetValue(c, out var v) ? Format(v) : "")) + " |");
        sb.AppendLine();
    }
    foreach (var n in r.Notes) sb.AppendLine("- " + n);
    sb.AppendLine().AppendLine($"_{string.Join(", ", r.Environment.Select(kv => $"{kv.Key}: {kv.Value}"))}_");
    return sb.ToString();
}

static string Format(object v) => v switch
{
    double d => d >= 100 ? d.ToString("F0") : d >= 1 ? d.ToString("F2") : d.ToString("G3"),
    float f => Format((double)f),
    _ => v.ToString() ?? ""
};
