using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace DeepSeek.Search.Ingest;

/// <summary>
/// Turns an HTML page into plain text with AngleSharp: the <c>&lt;title&gt;</c> becomes the title; the body's text is
/// kept with whitespace collapsed, block boundaries (paragraphs, headings, list items, table rows, <c>&lt;br&gt;</c>…)
/// become newlines, <c>&lt;pre&gt;</c> keeps its line breaks, and script, style, template, noscript and similar
/// non-content elements are dropped. Traversal is iterative, so deeply nested markup cannot overflow the stack.
/// </summary>
public static class HtmlTextExtractor
{
    static readonly HashSet<string> Dropped = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object", "embed",
        "canvas", "svg", "math", "audio", "video", "button", "select", "textarea",
    };

    static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "section",
        "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    };

    /// <summary>Extracts the title (null when the page has none or it is blank) and the text (lines joined by '\n').</summary>
    public static (string? Title, string Text) Extract(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var doc = new HtmlParser().ParseDocument(html);
        string? title = Collapse(doc.Title ?? "");
        if (title.Length == 0) title = null;

        var w = new Writer();
        var stack = new Stack<(INode Node, bool Exit)>();
        stack.Push(((INode?)doc.Body ?? doc.DocumentElement, false));
        while (stack.Count > 0)
        {
            var (node, exit) = stack.Pop();
            if (node is IElement el)
            {
                string name = el.LocalName;
                bool block = Blocks.Contains(name);
                if (exit)
                {
                    if (block) w.Break();
                    if (name.Equals("pre", StringComparison.OrdinalIgnoreCase)) w.Pre--;
                    else if (IsCell(name)) w.Space();
                    continue;
                }
                if (Dropped.Contains(name) || el.HasAttribute("hidden")) continue;
                if (name.Equals("br", StringComparison.OrdinalIgnoreCase)) { w.Break(force: true); continue; }
                if (block) w.Break();
                else if (IsCell(name)) w.Space();
                if (name.Equals("pre", StringComparison.OrdinalIgnoreCase)) w.Pre++;
                stack.Push((node, true));
                for (int i = node.ChildNodes.Length - 1; i >= 0; i--) stack.Push((node.ChildNodes[i], false));
            }
            else if (!exit && node.NodeType == NodeType.Text)
            {
                w.Text(node.TextContent);
            }
        }
        return (title, w.Finish());
    }

    static bool IsCell(string name) => name.Equals("td", StringComparison.OrdinalIgnoreCase) || name.Equals("th", StringComparison.OrdinalIgnoreCase);

    /// <summary>Collapses runs of whitespace to one space and trims.</summary>
    internal static string Collapse(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool space = false;
        foreach (char c in s)
        {
            if (char.IsWhiteSpace(c)) { space = sb.Length > 0; continue; }
            if (space) sb.Append(' ');
            sb.Append(c);
            space = false;
        }
        return sb.ToString();
    }

    /// <summary>Accumulates lines: whitespace collapsed inside a line, except inside &lt;pre&gt;.</summary>
    sealed class Writer
    {
        readonly StringBuilder _out = new();
        readonly StringBuilder _line = new();
        bool _pendingSpace;
        public int Pre;

        public void Text(string s)
        {
            foreach (char c in s)
            {
                if (Pre > 0)
                {
                    if (c == '\n') { Break(force: true); continue; }
                    if (c == '\r') continue;
                    _line.Append(c);
                    continue;
                }
                if (char.IsWhiteSpace(c)) { _pendingSpace = true; continue; }
                if (_pendingSpace && _line.Length > 0) _line.Append(' ');
                _pendingSpace = false;
                _line.Append(c);
            }
        }

        public void Space() => _pendingSpace = true;

        /// <summary>Ends the current line; a forced break (br, pre newline) also keeps an empty line from being merged.</summary>
        public void Break(bool force = false)
        {
            _pendingSpace = false;
            string line = Pre > 0 ? _line.ToString().TrimEnd() : _line.ToString().Trim();
            _line.Clear();
            if (line.Length == 0 && !force) return;
            if (line.Length == 0 && (_out.Length == 0 || EndsWithBlankLine())) return;
            _out.Append(line).Append('\n');
        }

        bool EndsWithBlankLine() => _out.Length >= 2 && _out[^1] == '\n' && _out[^2] == '\n';

        public string Finish()
        {
            Break();
            return _out.ToString().Trim('\n');
        }
    }
}
