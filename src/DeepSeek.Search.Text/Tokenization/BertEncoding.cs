namespace DeepSeek.Search.Text.Tokenization;

/// <summary>
/// One wordpiece of an input text: its vocabulary id and the half-open UTF-16 span <c>[Start, End)</c> of the original text
/// it came from (so <c>text[Start..End]</c> is the source of the piece; for <c>##</c> pieces, the part of the word they cover).
/// </summary>
public readonly record struct TokenSpan(int Id, int Start, int End)
{
    public int Length => End - Start;
}

/// <summary>
/// A single encoded sequence: <c>[CLS] pieces... [SEP]</c>, truncated to the requested maximum length (special tokens included),
/// exactly as Hugging Face's <c>tokenizer(text, truncation=True, max_length=N)</c> returns it (no padding).
/// </summary>
public sealed class BertEncoding
{
    internal BertEncoding(int[] ids, (int Start, int End)[] offsets, bool[] special, int untruncatedLength)
    {
        Ids = ids;
        Offsets = offsets;
        SpecialTokensMask = special;
        AttentionMask = Enumerable.Repeat(1, ids.Length).ToArray();
        TokenTypeIds = new int[ids.Length];
        UntruncatedLength = untruncatedLength;
    }

    /// <summary>Input ids, <c>[CLS]</c> first and <c>[SEP]</c> last.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <summary>All ones (a single encoding carries no padding; see <see cref="BertBatchEncoding"/>).</summary>
    public IReadOnlyList<int> AttentionMask { get; }

    /// <summary>All zeros: a single segment.</summary>
    public IReadOnlyList<int> TokenTypeIds { get; }

    /// <summary>Character span of each token in the input text; the added <c>[CLS]</c>/<c>[SEP]</c> have <c>(0, 0)</c>, like HF's offset mapping.</summary>
    public IReadOnlyList<(int Start, int End)> Offsets { get; }

    /// <summary>True for the <c>[CLS]</c> and <c>[SEP]</c> added around the text.</summary>
    public IReadOnlyList<bool> SpecialTokensMask { get; }

    /// <summary>Sequence length (special tokens included).</summary>
    public int Length => Ids.Count;

    /// <summary>Length the sequence would have had without truncation (special tokens included).</summary>
    public int UntruncatedLength { get; }

    /// <summary>Whether wordpieces were cut off to fit the maximum length.</summary>
    public bool Truncated => UntruncatedLength > Length;
}

/// <summary>
/// A padded batch ready for a BERT forward pass: row-major <c>[Count, SequenceLength]</c> arrays, right-padded with the pad id
/// to the longest sequence of the batch (HF <c>padding=True</c>), attention mask 1 on real tokens and 0 on padding.
/// </summary>
public sealed class BertBatchEncoding
{
    internal BertBatchEncoding(IReadOnlyList<BertEncoding> items, int padId)
    {
        Items = items;
        Count = items.Count;
        SequenceLength = items.Count == 0 ? 0 : items.Max(e => e.Length);
        InputIds = new long[Count * SequenceLength];
        AttentionMask = new long[Count * SequenceLength];
        TokenTypeIds = new long[Count * SequenceLength];
        for (int b = 0; b < Count; b++)
        {
            var e = items[b];
            int row = b * SequenceLength;
            for (int t = 0; t < SequenceLength; t++)
            {
                bool real = t < e.Length;
                InputIds[row + t] = real ? e.Ids[t] : padId;
                AttentionMask[row + t] = real ? 1 : 0;
            }
        }
    }

    /// <summary>The unpadded encodings, in input order.</summary>
    public IReadOnlyList<BertEncoding> Items { get; }

    public int Count { get; }

    /// <summary>Length of the longest sequence, which every row is padded to.</summary>
    public int SequenceLength { get; }

    /// <summary>Row-major <c>[Count, SequenceLength]</c> token ids.</summary>
    public long[] InputIds { get; }

    /// <summary>Row-major <c>[Count, SequenceLength]</c>: 1 for tokens, 0 for padding.</summary>
    public long[] AttentionMask { get; }

    /// <summary>Row-major <c>[Count, SequenceLength]</c>: all zeros (single segment).</summary>
    public long[] TokenTypeIds { get; }
}
