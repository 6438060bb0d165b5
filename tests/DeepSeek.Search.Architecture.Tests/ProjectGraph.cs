using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace DeepSeek.Search.Architecture.Tests;

/// <summary>
/// The project graph of <c>src/</c> as the project files declare it: each project's direct project references (short names:
/// <c>Core</c> for <c>DeepSeek.Search.Core</c>) and package references.
/// </summary>
public sealed record ProjectGraph(IReadOnlyDictionary<string, ProjectNode> Projects)
{
    public const string Prefix = "DeepSeek.Search.";

    public static ProjectGraph Load(string srcDirectory)
    {
        var projects = new Dictionary<string, ProjectNode>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(srcDirectory, "*.csproj", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")) continue;
            var xml = XDocument.Load(file);
            string name = Short(Path.GetFileNameWithoutExtension(file));
            var refs = xml.Descendants("ProjectReference").Select(e => Short(Path.GetFileNameWithoutExtension((string)e.Attribute("Include")!)))
                .ToHashSet(StringComparer.Ordinal);
            var packages = xml.Descendants("PackageReference").Select(e => (string)e.Attribute("Include")!).ToHashSet(StringComparer.Ordinal);
            projects[name] = new ProjectNode(name, refs, packages);
        }
        return new ProjectGraph(projects);
    }

    static string Short(string assembly) => assembly.StartsWith(Prefix, StringComparison.Ordinal) ? assembly[Prefix.Length..] : assembly;

    /// <summary>Every project and package reachable from <paramref name="project"/> through project references (itself excluded).</summary>
    public IReadOnlySet<string> Reachable(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([project]);
        while (stack.Count > 0)
        {
            var node = Projects[stack.Pop()];
            foreach (var p in node.Packages) seen.Add(p);
            foreach (var r in node.References)
                if (seen.Add(r) && Projects.ContainsKey(r)) stack.Push(r);
        }
        return seen;
    }
}

public sealed record ProjectNode(string Name, IReadOnlySet<string> References, IReadOnlySet<string> Packages);

/// <summary>
/// The table of docs/ARCHITECTURE.md: for each <c>src/</c> project row, the projects its last column allows it to call
/// (<c>all</c>: any).
/// </summary>
public sealed partial record ArchitectureTable(IReadOnlyDictionary<string, IReadOnlySet<string>?> Allowed)
{
    public static ArchitectureTable Parse(string markdown)
    {
        var allowed = new Dictionary<string, IReadOnlySet<string>?>(StringComparer.Ordinal);
        foreach (var line in markdown.Split('\n'))
        {
            var m = Row().Match(line);
            if (!m.Success) continue;
            string calls = m.Groups["calls"].Value.Trim();
            allowed[m.Groups["name"].Value] = calls == "all" ? null
                : calls is "—" or "-" or "" ? new HashSet<string>()
                : calls.Split(',').Select(c => c.Trim()).ToHashSet(StringComparer.Ordinal);
        }
        return new ArchitectureTable(allowed);
    }

    /// <summary>The references of <paramref name="graph"/> that the table does not allow, and allowed ones that do not exist, as lines.</summary>
    public IReadOnlyList<string> Check(ProjectGraph graph)
    {
        var problems = new List<string>();
        foreach (var (name, node) in graph.Projects.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!Allowed.TryGetValue(name, out var allowed)) { problems.Add($"{name}: not in the table"); continue; }
            if (allowed is null) continue;
            foreach (var r in node.References.Where(r => !allowed.Contains(r)).Order(StringComparer.Ordinal))
                problems.Add($"{name} → {r}: a reference the table does not allow (allowed: {string.Join(", ", allowed.Order(StringComparer.Ordinal))})");
            // names that are no src/ project (native parts such as the FAISS shim) document, they are not checked
            foreach (var a in allowed.Where(a => graph.Projects.ContainsKey(a) && !node.References.Contains(a)).Order(StringComparer.Ordinal))
                problems.Add($"{name} → {a}: the table lists a reference the project does not have");
        }
        foreach (var name in Allowed.Keys.Where(n => !graph.Projects.ContainsKey(n)).Order(StringComparer.Ordinal))
            problems.Add($"{name}: in the table but not in src/");
        return problems;
    }

    // | `src/DeepSeek.Search.X` | what lives there | calls |
    [GeneratedRegex(@"^\|\s*`src/DeepSeek\.Search\.(?<name>[A-Za-z.]+)`\s*\|.*\|\s*(?<calls>[^|]*)\|\s*$")]
    private static partial Regex Row();
}
