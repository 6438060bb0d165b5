using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Text.Chunking;

/// <summary>
/// Window settings of a <see cref="TextChunker"/>. <see cref="WindowTokens"/> counts wordpieces only; the encoder adds
/// <c>[CLS]</c> and <c>[SEP]</c>, so a window fits an encoder whose maximum sequence length is <c>WindowTokens + 2</c>
/// (the defaults, 254 + 2 = 256, match the dual encoder's default <c>max_document_length</c>).
/// </summary>
public sealed record TextChunkerOptions
{
    /// <summary>Wordpieces per chunk, at most.</summary>
    public int WindowTokens { get; init; } = 254;

    /// <summary>Wordpieces shared by consecutive chunks (about; windows are moved to word boundaries). Must be less than <see cref="WindowTokens"/>.</summary>
    public int OverlapTokens { get; init; } = 32;

    /// <summary>Sequence length of a full window once the encoder adds <c>[CLS]</c> and <c>[SEP]</c>.</summary>
    public int SequenceLength => WindowTokens + 2;

    /// <summary>Windows that fill an encoder of <paramref name="maxSequenceLength"/> tokens (special tokens included).</summary>
    public static TextChunkerOptions ForSequenceLength(int maxSequenceLength, int overlapTokens = 32) =>
        new() { WindowTokens = maxSequenceLength - 2, OverlapTokens = overlapTokens };

    /// <summary>Throws <see cref="InvalidInputException"/> unless 1 ≤ window, 0 ≤ overlap &lt; window.</summary>
    public void Validate()
    {
        if (WindowTokens < 1) throw new InvalidInputException($"chunk window must be at least 1 token (got {WindowTokens})");
        if (OverlapTokens < 0) throw new InvalidInputException($"chunk overlap must not be negative (got {OverlapTokens})");
        if (OverlapTokens >= WindowTokens)
            throw new InvalidInputException($"chunk overlap ({OverlapTokens}) must be smaller than the window ({WindowTokens} tokens)");
    }
}

/// <summary>
/// One window of a text: the half-open character span <c>[Start, End)</c> (so the chunk text is <c>text[Start..End]</c>, an exact
/// substring), and which wordpieces of the whole text it holds.
/// </summary>
public readonly record struct ChunkSpan(int Start, int End, int FirstToken, int TokenCount)
{
    public int Length => End - Start;
}

/// <summary>
/// Splits text into overlapping windows of wordpiece tokens for a dense encoder.
/// <para>
/// The text of a document is <see cref="ComposeText"/>: the title, a separator (<c>". "</c>, or just <c>" "</c> when the title already
/// ends in <c>. ! ? : ;</c>), then the body; an empty title gives the body alone. <see cref="Chunk.Start"/>/<see cref="Chunk.End"/> are
/// offsets into that composed text.
/// </para>
/// <para>
/// Windows hold at most <see cref="TextChunkerOptions.WindowTokens"/> wordpieces and start and end on word boundaries (never between the
/// <c>##</c> pieces of one word) unless a single word is longer than half a window; the next window starts about
/// <see cref="TextChunkerOptions.OverlapTokens"/> pieces before the previous one ended, moved back to the start of a word. A text of at most
/// one window is a single chunk; a text without any token (empty, whitespace, control characters) gives no chunk. Because BERT's
/// tokenization is word-local, re-tokenizing a chunk's text gives the same pieces, so each chunk fits the encoder untruncated.
/// </para>
/// </summary>
public sealed class TextChunker
{
    readonly bool[] _isContinuation;

    public TextChunker(BertTokenizer tokenizer, TextChunkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        Tokenizer = tokenizer;
        Options = options ?? new TextChunkerOptions();
        Options.Validate();
        string prefix = tokenizer.Options.ContinuingSubwordPrefix;
        _isContinuation = new bool[tokenizer.VocabSize];
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            _isContinuation[id] = tokenizer.TryGetToken(id, out var token) && prefix.Length > 0 && token.Length > prefix.Length && token.StartsWith(prefix, StringComparison.Ordinal);
        }
    }

    public BertTokenizer Tokenizer { get; }
    public TextChunkerOptions Options { get; }

    /// <summary>The text a document is chunked and embedded as: title, separator, body (see the type remarks).</summary>
    public static string ComposeText(string? title, string? body)
    {
        string t = title?.Trim() ?? "";
        string b = body ?? "";
        if (t.Length == 0) return b;
        if (string.IsNullOrWhiteSpace(b)) return t;
        return t[^1] is '.' or '!' or '?' or ':' or ';' ? t + " " + b : t + ". " + b;
    }

    /// <summary>
    /// Where <paramref name="body"/> starts in <see cref="ComposeText(string?, string?)"/> of the two: subtract it from a
    /// chunk's span to get the span in the body (a part before 0 lies in the title). A blank body is not in the composed
    /// text: its start is the composed text's end.
    /// </summary>
    public static int BodyStart(string? title, string? body)
    {
        string composed = ComposeText(title, body);
        return string.IsNullOrWhiteSpace(body) ? composed.Length : composed.Length - body.Length;
    }

    /// <summary><see cref="ComposeText(string?, string?)"/> of a document's title and text.</summary>
    public static string ComposeText(Document document) => ComposeText(document.Title, document.Text);

    /// <summary>The windows of <paramref name="text"/>, in order.</summary>
    public IReadOnlyList<ChunkSpan> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenizer.Tokenize(text);
        int n = tokens.Count;
        var result = new List<ChunkSpan>();
        if (n == 0) return result;
        int window = Options.WindowTokens, overlap = Options.OverlapTokens;
        if (n <= window)
        {
            result.Add(new ChunkSpan(tokens[0].Start, tokens[n - 1].End, 0, n));
            return result;
        }

        int start = 0;
        while (true)
        {
            int end = start + window;
            if (end >= n)
            {
                result.Add(Span(start, n));
                break;
            }
            // end the window on a word boundary if one lies in its second half
            int e = end;
            int minEnd = start + Math.Max(1, window / 2);
            while (e > minEnd && !IsWordStart(e)) e--;
            if (!IsWordStart(e)) e = end;
            result.Add(Span(start, e));

            // the next window starts `overlap` pieces back, moved back to a word start, always after this window's start
            int next = e - overlap;
            while (next > start && !IsWordStart(next)) next--;
            if (next <= start)
            {
                next = Math.Max(start + 1, e - overlap);
                while (next < e && !IsWordStart(next)) next++;
            }
            start = next;
        }
        return result;

        bool IsWordStart(int i) => i == 0 || i >= n || !(_isContinuation[tokens[i].Id] && tokens[i].Start == tokens[i - 1].End);
        ChunkSpan Span(int first, int endExclusive) => new(tokens[first].Start, tokens[endExclusive - 1].End, first, endExclusive - first);
    }

    /// <summary>
    /// Chunks a document's <see cref="ComposeText(Document)"/>. Chunk ids are <paramref name="firstChunkId"/> + ordinal; the caller
    /// owns the id space.
    /// </summary>
    public IReadOnlyList<Chunk> ChunkDocument(Document document, long firstChunkId = 0)
    {
        ArgumentNullException.ThrowIfNull(document);
        string text = ComposeText(document);
        var spans = Split(text);
        var chunks = new List<Chunk>(spans.Count);
        for (int i = 0; i < spans.Count; i++)
            chunks.Add(new Chunk(firstChunkId + i, document.Id, i, spans[i].Start, spans[i].End, text[spans[i].Start..spans[i].End]));
        return chunks;
    }
}
