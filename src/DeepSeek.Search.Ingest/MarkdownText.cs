using System.Text.RegularExpressions;

namespace DeepSeek.Search.Ingest;

/// <summary>
/// The two things ingest needs from a Markdown file: its title (a <c>title:</c> in YAML front matter, else the first
/// ATX <c># heading</c> or setext heading outside fenced code) and its body (the file without the front matter).
/// </summary>
public static partial class MarkdownText
{
    [GeneratedRegex(@"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")]
    private static partial Regex Atx();

    [GeneratedRegex(@"^ {0,3}(?:=+|-+)[ \t]*$")]
    private static partial Regex SetextUnderline();

    [GeneratedRegex(@"^ {0,3}(```|~~~)")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^title[ \t]*:[ \t]*(.*?)[ \t]*$", RegexOptions.IgnoreCase)]
    private static partial Regex FrontMatterTitle();

    /// <summary>Splits <paramref name="markdown"/> into its title (null when none is found) and its body.</summary>
    public static (string? Title, string Body) Parse(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        int start = 0;
        string? title = null;

        // YAML front matter: "---" on the first line up to the next "---" or "...".
        if (lines.Length > 1 && lines[0].TrimEnd() == "---")
        {
            for (int i = 1; i < lines.Length; i++)
            {
                string l = lines[i].TrimEnd();
                if (l == "---" || l == "...") { start = i + 1; break; }
                var m = FrontMatterTitle().Match(lines[i]);
                if (m.Success && title == null) title = Unquote(m.Groups[1].Value);
            }
            if (start == 0) title = null; // unterminated: not front matter
        }

        string body = string.Join("\n", lines, start, lines.Length - start);
        if (!string.IsNullOrWhiteSpace(title)) return (title, body);

        bool inFence = false;
        string? fence = null;
        for (int i = start; i < lines.Length; i++)
        {
            string line = lines[i];
            var f = Fence().Match(line);
            if (f.Success)
            {
                if (!inFence) { inFence = true; fence = f.Groups[1].Value; }
                else if (f.Groups[1].Value == fence) inFence = false;
                continue;
            }
            if (inFence) continue;
            var atx = Atx().Match(line);
            if (atx.Success)
            {
                string t = atx.Groups[1].Value.Trim();
                if (t.Length > 0) return (t, body);
                continue;
            }
            if (i + 1 < lines.Length && !string.IsNullOrWhiteSpace(line) && SetextUnderline().IsMatch(lines[i + 1])
                && !line.StartsWith("    ", StringComparison.Ordinal) && !line.StartsWith('\t'))
                return (line.Trim(), body);
        }
        return (null, body);
    }

    static string Unquote(string s)
    {
        if (s.Length >= 2 && (s[0] == '"' && s[^1] == '"' || s[0] == '\'' && s[^1] == '\'')) return s[1..^1];
        return s;
    }
}
