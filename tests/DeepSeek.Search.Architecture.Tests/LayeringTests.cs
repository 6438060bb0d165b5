using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Architecture.Tests;

/// <summary>The project references of src/ are exactly what docs/ARCHITECTURE.md's table allows, and the generator stands alone.</summary>
public class LayeringTests
{
    static readonly ProjectGraph Graph = ProjectGraph.Load(Path.Combine(Repo.Root, "src"));
    static readonly ArchitectureTable Table = ArchitectureTable.Parse(File.ReadAllText(Path.Combine(Repo.Root, "docs", "ARCHITECTURE.md")));

    [Fact]
    public void Every_project_reference_is_one_the_architecture_table_allows_and_the_table_lists_no_other()
    {
        Assert.True(Graph.Projects.Count >= 15, $"found only {Graph.Projects.Count} projects under src/");
        var problems = Table.Check(Graph);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_code_of_each_folder_row_uses_only_the_namespaces_its_row_allows()
    {
        Assert.Contains(Table.Folders, f => f is { Project: "Rag", Folder: "Evaluation" });
        Assert.Contains(Table.Folders, f => f is { Project: "Eval", Folder: "Comparison" });
        var problems = new List<string>();
        foreach (var rule in Table.Folders)
        {
            string dir = Path.Combine(Repo.Root, "src", ProjectGraph.Prefix + rule.Project, rule.Folder);
            var files = !Directory.Exists(dir) ? new Dictionary<string, string>()
                : Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllText);
            problems.AddRange(Table.CheckFolder(rule, Graph, files));
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_folder_check_reports_namespaces_used_beyond_the_row_however_they_are_spelled()
    {
        var graph = new ProjectGraph(new Dictionary<string, ProjectNode>
        {
            ["Core"] = new("Core", new HashSet<string>(), new HashSet<string>()),
            ["Eval"] = new("Eval", new HashSet<string> { "Core" }, new HashSet<string>()),
            ["Retrieve"] = new("Retrieve", new HashSet<string> { "Core" }, new HashSet<string>()),
            ["Generate"] = new("Generate", new HashSet<string> { "Core" }, new HashSet<string>()),
            ["Generate.Training"] = new("Generate.Training", new HashSet<string> { "Generate" }, new HashSet<string>()),
            ["Rag"] = new("Rag", new HashSet<string> { "Core", "Eval", "Retrieve", "Generate" }, new HashSet<string>()),
        });
        var table = ArchitectureTable.Parse("""
            | project | what | calls |
            |---|---|---|
            | `src/DeepSeek.Search.Rag/Evaluation` | scoring | Core, Eval |
            """);
        var rule = Assert.Single(table.Folders);
        Assert.Empty(table.Allowed);
        var files = new Dictionary<string, string>
        {
            ["Ok.cs"] = "using DeepSeek.Search.Core;\nusing DeepSeek.Search.Eval;\nnamespace DeepSeek.Search.Rag.Evaluation;\n// System.Text.Json, q.Text\n",
            ["Bad.cs"] = "using DeepSeek.Search.Retrieve.Collections;\nnamespace DeepSeek.Search.Rag.Evaluation;\nclass X { Generate.Training.LmTrainer? t; }\n",
        };
        var problems = table.CheckFolder(rule, graph, files);
        Assert.Equal(2, problems.Count);
        Assert.StartsWith("Rag/Evaluation (Bad.cs:1) → Retrieve:", problems[0]);
        Assert.StartsWith("Rag/Evaluation (Bad.cs:3) → Generate.Training:", problems[1]);
        Assert.Contains("in the table but holds no code", table.CheckFolder(rule, graph, new Dictionary<string, string>())[0]);
    }

    [Theory]
    [InlineData("Lucene.Net")]
    [InlineData("ScottPlot")]
    [InlineData("SkiaSharp.NativeAssets.Linux.NoDependencies")]
    [InlineData("Eval")]
    [InlineData("Train")]
    [InlineData("Training")]
    [InlineData("Generate.Training")]
    [InlineData("Index.Lexical")]
    public void The_generator_has_no_path_to_search_evaluation_plotting_or_training(string dependency)
    {
        var reachable = Graph.Reachable("Generate");
        Assert.Contains("TorchSharp", reachable);                               // the walk does see through Torch
        Assert.DoesNotContain(dependency, reachable);
    }

    [Theory]
    [InlineData("Rerank", "Generate.Training")]
    [InlineData("Rerank", "Training")]
    [InlineData("Rag", "Generate.Training")]
    [InlineData("Service", "Rerank.Training")]
    [InlineData("Service", "Rag.Training")]
    public void Serving_re_rankers_and_answers_carries_no_training_code(string project, string dependency)
    {
        var reachable = Graph.Reachable(project);
        Assert.Contains("Generate", reachable);
        Assert.DoesNotContain(dependency, reachable);
    }

    [Fact]
    public void Eval_sits_before_retrieval_and_training()
    {
        var reachable = Graph.Reachable("Eval");
        Assert.DoesNotContain("Retrieve", reachable);
        Assert.DoesNotContain("Train", reachable);
    }

    [Fact]
    public void The_check_reports_a_forbidden_reference_a_missing_row_and_a_stale_entry()
    {
        var graph = new ProjectGraph(new Dictionary<string, ProjectNode>
        {
            ["Core"] = new("Core", new HashSet<string>(), new HashSet<string>()),
            ["Ingest"] = new("Ingest", new HashSet<string> { "Core" }, new HashSet<string>()),
            ["Text"] = new("Text", new HashSet<string> { "Core", "Retrieve" }, new HashSet<string>()),
            ["Extra"] = new("Extra", new HashSet<string> { "Core" }, new HashSet<string>()),
        });
        var table = ArchitectureTable.Parse("""
            | project | what | calls |
            |---|---|---|
            | `src/DeepSeek.Search.Core` | types | — |
            | `src/DeepSeek.Search.Ingest` | readers | Core, native shim |
            | `src/DeepSeek.Search.Text` | tokenizers | Core, Ingest |
            | `src/DeepSeek.Search.Gone` | nothing | Core |
            """);
        var problems = table.Check(graph);
        Assert.Contains(problems, p => p.StartsWith("Text → Retrieve: a reference the table does not allow"));
        Assert.Contains(problems, p => p.StartsWith("Text → Ingest: the table lists a reference the project does not have"));
        Assert.Contains("Extra: not in the table", problems);
        Assert.Contains("Gone: in the table but not in src/", problems);
        Assert.Equal(4, problems.Count);
    }
}
