namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>
/// Cuts a snippet of at most <c>maxChars</c> characters of a document's text around a focus (a hit's chunk or its first
/// term match), on word boundaries, with "…" where it cuts, and carries the term-match spans that fall inside it.
/// </summary>
public static class Snippets
{
    /// <summary>The default snippet length, in characters.</summary>
    public const int DefaultChars = 300;

    /// <summary>The longest snippet a search may ask for.</summary>
    public const int MaxChars = 10_000;

    const string Ellipsis = "…";

    /// <summary>
    /// The snippet of <paramref name="text"/> starting at (or shortly before) <paramref name="focus"/>, holding at most
    /// <paramref name="maxChars"/> characters of the text, with the <paramref name="matches"/> (sorted spans of the
    /// document) that lie wholly inside it, shifted to the snippet's coordinates.
    /// </summary>
    public static Snippet Cut(string text, int focus, int maxChars, IReadOnlyList<(int Start, int End)> matches)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(matches);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        focus = Math.Clamp(focus, 0, text.Length);
        int start, end;
        if (text.Length <= maxChars) (start, end) = (0, text.Length);
        else
        {
            // Start a little before the focus so its first words have context, on a word boundary; keep the window full at the end.
            start = Math.Min(Math.Max(0, focus - maxChars / 10), text.Length - maxChars);
            if (start > 0)
            {
                int space = text.IndexOf(' ', start - 1, Math.Min(40, text.Length - start + 1));
                if (space >= 0 && space < focus + 1) start = space + 1;
            }
            end = Math.Min(text.Length, start + maxChars);
            if (end < text.Length)
            {
                int space = text.LastIndexOf(' ', end - 1, end - start);
                if (space > start + maxChars / 2) end = space;
            }
        }
        while (start < end && char.IsWhiteSpace(text[start])) start++;
        while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        string lead = start > 0 ? Ellipsis : "";
        string body = text[start..end];
        var highlights = new List<(int, int)>();
        foreach (var (s, e) in matches)
            if (s >= start && e <= end) highlights.Add((s - start + lead.Length, e - start + lead.Length));
        return new Snippet(lead + body + (end < text.Length ? Ellipsis : ""), start, highlights);
    }

    /// <summary>The snippet's text with each highlight wrapped in <paramref name="open"/> and <paramref name="close"/> (for terminals and HTML).</summary>
    public static string Mark(Snippet snippet, string open, string close)
    {
        ArgumentNullException.ThrowIfNull(snippet);
        var sb = new System.Text.StringBuilder(snippet.Text.Length + snippet.Highlights.Count * (open.Length + close.Length));
        int at = 0;
        foreach (var (s, e) in snippet.Highlights)
        {
            sb.Append(snippet.Text, at, s - at).Append(open).Append(snippet.Text, s, e - s).Append(close);
            at = e;
        }
        return sb.Append(snippet.Text, at, snippet.Text.Length - at).ToString();
    }
}
