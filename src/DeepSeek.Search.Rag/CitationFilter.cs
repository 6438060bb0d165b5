using System.Text;

namespace DeepSeek.Search.Rag;

/// <summary>
/// Filters an answer as it streams: a citation marker <c>[n]</c> (or <c>[n, m, …]</c>) passes only with the numbers of sources
/// given to the model (1..<see cref="SourceCount"/>); a number naming no source is removed, and a marker left with none is
/// dropped whole. Text that may still become a marker is held back until it is decided (at most <see cref="MaxMarkerChars"/>
/// characters), so nothing dropped is ever passed on. <see cref="Cited"/> lists the numbers used, in order of first use.
/// </summary>
public sealed class CitationFilter
{
    public const int MaxMarkerChars = 24;

    readonly StringBuilder _pending = new();
    readonly StringBuilder _answer = new();
    readonly List<int> _cited = new();

    public CitationFilter(int sourceCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceCount);
        SourceCount = sourceCount;
    }

    public int SourceCount { get; }
    /// <summary>Source numbers the answer cites, in order of first use, each once.</summary>
    public IReadOnlyList<int> Cited => _cited;
    /// <summary>Citation numbers removed because they named no source.</summary>
    public int Dropped { get; private set; }
    /// <summary>All text passed on so far.</summary>
    public string Answer => _answer.ToString();

    /// <summary>The part of <paramref name="delta"/> (with what was held back) that can be passed on now.</summary>
    public string Push(string delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var output = new StringBuilder();
        foreach (char c in delta) Step(c, output);
        _answer.Append(output);
        return output.ToString();
    }

    /// <summary>The end of the answer: whatever was held back is plain text.</summary>
    public string Flush()
    {
        string rest = _pending.ToString();
        _pending.Clear();
        _answer.Append(rest);
        return rest;
    }

    void Step(char c, StringBuilder output)
    {
        if (_pending.Length == 0)
        {
            if (c == '[') _pending.Append(c);
            else output.Append(c);
            return;
        }
        if (c == ']')
        {
            _pending.Append(c);
            output.Append(Decide(_pending.ToString()));
            _pending.Clear();
            return;
        }
        if (char.IsAsciiDigit(c) || c == ',' || c == ' ')
        {
            _pending.Append(c);
            if (_pending.Length > MaxMarkerChars) { output.Append(_pending); _pending.Clear(); }
            return;
        }
        // not a marker: what was held is text; the new character may open the next marker
        output.Append(_pending);
        _pending.Clear();
        Step(c, output);
    }

    /// <summary>The text a complete bracket group becomes.</summary>
    string Decide(string marker)
    {
        var inner = marker[1..^1];
        var parts = inner.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Any(p => p.Length == 0 || !p.All(char.IsAsciiDigit) || p.Contains(' ', StringComparison.Ordinal)))
            return marker; // "[]", "[ ]", "[1 2]": not a citation, plain text
        var kept = new List<int>();
        foreach (var p in parts)
        {
            if (p.Length <= 3 && int.TryParse(p, out int n) && n >= 1 && n <= SourceCount)
            {
                if (!kept.Contains(n)) kept.Add(n);
                if (!_cited.Contains(n)) _cited.Add(n);
            }
            else Dropped++;
        }
        return kept.Count == 0 ? "" : "[" + string.Join(", ", kept) + "]";
    }
}
