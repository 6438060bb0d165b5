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

/// <summary>A folder row of the table: code under <c>src/DeepSeek.Search.{Project}/{Folder}</c> may use only its project's and <see cref="Allowed"/>'s namespaces.</summary>
public sealed record FolderRule(string Project, string Folder, IReadOnlySet<string> Allowed);

/// <summary>
/// The table of docs/ARCHITECTURE.md: for each <c>src/</c> project row, the projects its last column allows it to call
/// (<c>all</c>: any); for each folder row (<c>src/DeepSeek.Search.P/Folder</c>), the projects whose namespaces its code may use.
/// </summary>
public sealed partial record ArchitectureTable(IReadOnlyDictionary<string, IReadOnlySet<string>?> Allowed)
{
    /// <summary>The folder rows.</summary>
    public IReadOnlyList<FolderRule> Folders { get; init; } = [];

    public static ArchitectureTable Parse(string markdown)
    {
        var allowed = new Dictionary<string, IReadOnlySet<string>?>(StringComparer.Ordinal);
        var folders = new List<FolderRule>();
        foreach (var line in markdown.Split('\n'))
        {
            var m = Row().Match(line);
            if (!m.Success) continue;
            string calls = m.Groups["calls"].Value.Trim();
            var names = calls == "all" ? null
                : calls is "—" or "-" or "" ? new HashSet<string>()
                : calls.Split(',').Select(c => c.Trim()).ToHashSet(StringComparer.Ordinal);
            if (m.Groups["folder"].Success)
                folders.Add(new FolderRule(m.Groups["name"].Value, m.Groups["folder"].Value,
                    names ?? throw new FormatException($"a folder row cannot allow all: {line.Trim()}")));
            else allowed[m.Groups["name"].Value] = names;
        }
        return new ArchitectureTable(allowed) { Folders = folders };
    }

    /// <summary>
    /// The <c>DeepSeek.Search.*</c> namespaces used by the code of each folder row (<paramref name="files"/>: path under the
    /// folder → text) that belong to a project other than the folder's own and the ones its row names, as lines.
    /// A namespace belongs to the project with the longest name it starts with; a name qualified from the enclosing
    /// <c>DeepSeek.Search</c> namespace (<c>Retrieve.Collections.SearchHit</c>) counts as <c>DeepSeek.Search.Retrieve…</c>.
    /// </summary>
    public IReadOnlyList<string> CheckFolder(FolderRule rule, ProjectGraph graph, IReadOnlyDictionary<string, string> files)
    {
        var problems = new List<string>();
        if (!graph.Projects.ContainsKey(rule.Project)) problems.Add($"{rule.Project}/{rule.Folder}: its project is not in src/");
        if (files.Count == 0) problems.Add($"{rule.Project}/{rule.Folder}: in the table but holds no code");
        var projects = graph.Projects.Keys.OrderByDescending(p => p.Length).ToList();
        var relative = new Regex(@"(?<![\w.])(?<ns>(" + string.Join('|', projects.Select(Regex.Escape)) + @")\.[A-Za-z][A-Za-z0-9.]*)");
        foreach (var (file, text) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var lines = text.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                var names = Namespace().Matches(lines[i]).Concat(relative.Matches(lines[i])).Select(m => m.Groups["ns"].Value.TrimEnd('.'));
                foreach (var owner in names.Select(ns => projects.FirstOrDefault(p => ns == p || ns.StartsWith(p + ".", StringComparison.Ordinal))).Distinct())
                {
                    if (owner is null || owner == rule.Project || rule.Allowed.Contains(owner)) continue;
                    problems.Add($"{rule.Project}/{rule.Folder} ({file}:{i + 1}) → {owner}: a namespace its row does not allow (allowed: {string.Join(", ", rule.Allowed.Order(StringComparer.Ordinal))})");
                }
            }
        }
        return problems;
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

    // | `src/DeepSeek.Search.X` | what lives there | calls |   or   | `src/DeepSeek.Search.X/Folder` | … | calls |
    [GeneratedRegex(@"^\|\s*`src/DeepSeek\.Search\.(?<name>[A-Za-z.]+)(/(?<folder>[A-Za-z0-9_/]+))?`\s*\|.*\|\s*(?<calls>[^|]*)\|\s*$")]
    private static partial Regex Row();

    [GeneratedRegex(@"\bDeepSeek\.Search\.(?<ns>[A-Za-z][A-Za-z0-9.]*)")]
    private static partial Regex Namespace();
}
