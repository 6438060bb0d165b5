using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// The <c>pre_tokenizer</c> of <c>tokenizer.json</c>: cuts normalized text into the words the BPE model merges within, and (its
/// <c>ByteLevel</c> step) turns them into byte-level characters. Supported: <c>Sequence</c>, <c>Split</c> (string or regex pattern, all
/// five behaviours, <c>invert</c>), <c>ByteLevel</c> (<c>add_prefix_space</c>, <c>use_regex</c> with the GPT-2 pattern), <c>Digits</c>.
/// Regexes run on code points (see <see cref="CategoryPreservingText"/>), like the Rust library.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>The pieces each of <paramref name="pieces"/> is cut into, in order.</summary>
    public abstract List<string> PreTokenize(List<string> pieces);

    /// <summary>Whether this step (or one it runs) maps text to byte-level characters.</summary>
    public virtual bool IsByteLevel => false;

    /// <summary>
    /// The pre-tokenizer a <c>pre_tokenizer</c> section describes (none: null). A byte-level BPE model only knows byte-level characters,
    /// so a description without a <c>ByteLevel</c> step gets one (no prefix space, no regex) at the end.
    /// </summary>
    public static PreTokenizer FromJson(JsonObject? node, string where)
    {
        var described = node == null ? null : Parse(node, where);
        if (described?.IsByteLevel == true) return described;
        var byteLevel = new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false);
        return described == null ? byteLevel : new SequencePreTokenizer(new[] { described, byteLevel });
    }

    static PreTokenizer Parse(JsonObject p, string where)
    {
        string type = (string?)p["type"] ?? "";
        switch (type)
        {
            case "Sequence":
                return new SequencePreTokenizer((p["pretokenizers"] as JsonArray ?? new JsonArray()).Select(child => Parse((JsonObject)child!, where)).ToArray());
            case "Split":
            {
                var regex = TokenizerPattern.FromJson(p["pattern"] as JsonObject, where);
                string behavior = (string?)p["behavior"] ?? "Isolated";
                bool invert = p["invert"]?.GetValue<bool>() ?? false;
                if (behavior is not ("Removed" or "Isolated" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                    throw new CheckpointException($"{where}: Split behavior '{behavior}' is not supported");
                return new SplitPreTokenizer(regex, behavior, invert);
            }
            case "ByteLevel":
                return new ByteLevelPreTokenizer(p["add_prefix_space"]?.GetValue<bool>() ?? false, p["use_regex"]?.GetValue<bool>() ?? true);
            case "Digits":
                return SplitPreTokenizer.Digits(p["individual_digits"]?.GetValue<bool>() == true);
            default:
                throw new CheckpointException($"{where}: pre-tokenizer '{type}' is not supported");
        }
    }
}

/// <summary><c>Sequence</c>: each pre-tokenizer in turn, on the pieces of the one before.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<PreTokenizer> steps) : PreTokenizer
{
    public override List<string> PreTokenize(List<string> pieces)
    {
        foreach (var step in steps) pieces = step.PreTokenize(pieces);
        return pieces;
    }

    public override bool IsByteLevel => steps.Any(s => s.IsByteLevel);
}

/// <summary>
/// <c>Split</c>: cuts on a pattern's matches, which are kept or dropped by Hugging Face's <c>SplitDelimiterBehavior</c> (<c>Removed</c>,
/// <c>Isolated</c>, <c>MergedWithPrevious</c>, <c>MergedWithNext</c>, <c>Contiguous</c>); <c>invert</c> treats the text between matches
/// as the delimiters instead. Also <c>Digits</c> (a split on digit runs, or on each digit).
/// </summary>
internal sealed class SplitPreTokenizer(Regex pattern, string behavior, bool invert) : PreTokenizer
{
    public static SplitPreTokenizer Digits(bool individualDigits) =>
        new(new Regex(individualDigits ? @"\p{Nd}" : @"\p{Nd}+", RegexOptions.CultureInvariant), "Isolated", invert: false);

    public override List<string> PreTokenize(List<string> pieces) => pieces.SelectMany(s => Split(s, pattern, behavior, invert)).ToList();

    /// <summary>The pieces of <paramref name="s"/> (<c>SplitDelimiterBehavior</c> over code points); empty pieces are dropped.</summary>
    public static List<string> Split(string s, Regex regex, string behavior, bool invert)
    {
        var view = CategoryPreservingText.Create(s);
        var spans = new List<(int Start, int End, bool Match)>();
        int last = 0;
        for (var m = regex.Match(view.Text); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            int start = view.ToOriginal(m.Index), end = view.ToOriginal(m.Index + m.Length);
            if (start > last) spans.Add((last, start, false));
            spans.Add((start, end, true));
            last = end;
        }
        if (last < s.Length) spans.Add((last, s.Length, false));
        if (invert) spans = spans.Select(x => (x.Start, x.End, !x.Match)).ToList();

        var pieces = new List<string>();
        switch (behavior)
        {
            case "Removed":
                pieces.AddRange(spans.Where(x => !x.Match).Select(x => s[x.Start..x.End]));
                break;
            case "Isolated":
                pieces.AddRange(spans.Select(x => s[x.Start..x.End]));
                break;
            case "Contiguous":
                for (int i = 0; i < spans.Count; i++)
                {
                    int start = spans[i].Start, end = spans[i].End;
                    while (spans[i].Match && i + 1 < spans.Count && spans[i + 1].Match) end = spans[++i].End;
                    pieces.Add(s[start..end]);
                }
                break;
            case "MergedWithPrevious":
            {
                var sb = new StringBuilder();
                foreach (var x in spans)
                {
                    sb.Append(s, x.Start, x.End - x.Start);
                    if (x.Match) { pieces.Add(sb.ToString()); sb.Clear(); }
                }
                if (sb.Length > 0) pieces.Add(sb.ToString());
                break;
            }
            case "MergedWithNext":
            {
                var sb = new StringBuilder();
                foreach (var x in spans)
                {
                    if (x.Match && sb.Length > 0) { pieces.Add(sb.ToString()); sb.Clear(); }
                    sb.Append(s, x.Start, x.End - x.Start);
                }
                if (sb.Length > 0) pieces.Add(sb.ToString());
                break;
            }
        }
        return pieces.Where(p => p.Length > 0).ToList();
    }
}

/// <summary>
/// <c>ByteLevel</c>: optionally a space before each piece (<c>add_prefix_space</c>) and a split on the GPT-2 pattern
/// (<c>use_regex</c>), then each piece's UTF-8 bytes as <see cref="ByteLevel"/> characters.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
{
    readonly Regex? _regex = useRegex ? new Regex(ByteLevel.Gpt2Pattern, RegexOptions.CultureInvariant) : null;

    public override bool IsByteLevel => true;

    public override List<string> PreTokenize(List<string> pieces)
    {
        var result = new List<string>();
        foreach (var raw in pieces)
        {
            string s = addPrefixSpace && raw.Length > 0 && raw[0] != ' ' ? " " + raw : raw;
            var parts = _regex == null ? new List<string> { s } : SplitPreTokenizer.Split(s, _regex, "Isolated", false);
            foreach (var part in parts) result.Add(ByteLevel.Encode(part));
        }
        return result;
    }
}
