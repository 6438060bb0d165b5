namespace DeepSeek.Search.Text.Tokenization;

/// <summary>
/// Greedy longest-match-first WordPiece over one pre-tokenized word, as in Hugging Face tokenizers' <c>WordPiece</c> model:
/// a word longer than <c>max_input_chars_per_word</c> code points, or one with any part not in the vocabulary, becomes a single
/// unknown token covering the whole word; continuation pieces are looked up with the <c>##</c> prefix.
/// Our own implementation rather than Microsoft.ML.Tokenizers' so that piece boundaries map exactly onto our alignment.
/// </summary>
internal sealed class WordPiece
{
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    readonly string _prefix;
    readonly int _maxChars;
    readonly int _unkId;

    public WordPiece(Dictionary<string, int> vocab, string continuingSubwordPrefix, int maxInputCharsPerWord, int unkId)
    {
        _lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _prefix = continuingSubwordPrefix;
        _maxChars = maxInputCharsPerWord;
        _unkId = unkId;
    }

    /// <summary>
    /// Appends the pieces of <paramref name="word"/> to <paramref name="pieces"/> as (id, start, end) with start/end relative to the word
    /// (UTF-16 units). Returns the number of pieces added.
    /// </summary>
    public int Tokenize(ReadOnlySpan<char> word, List<(int Id, int Start, int End)> pieces)
    {
        if (word.IsEmpty) return 0;
        if (CodePointCount(word) > _maxChars)
        {
            pieces.Add((_unkId, 0, word.Length));
            return 1;
        }

        int before = pieces.Count;
        Span<char> scratch = word.Length + _prefix.Length <= 512 ? stackalloc char[word.Length + _prefix.Length] : new char[word.Length + _prefix.Length];
        _prefix.AsSpan().CopyTo(scratch);

        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int found = -1;
            while (start < end)
            {
                scoped ReadOnlySpan<char> candidate;
                if (start > 0)
                {
                    word[start..end].CopyTo(scratch[_prefix.Length..]);
                    candidate = scratch[..(_prefix.Length + end - start)];
                }
                else
                {
                    candidate = word[..end];
                }
                if (_lookup.TryGetValue(candidate, out int id)) { found = id; break; }
                // step back one code point
                end -= end - 2 >= start && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
            }
            if (found < 0)
            {
                pieces.RemoveRange(before, pieces.Count - before);
                pieces.Add((_unkId, 0, word.Length));
                return 1;
            }
            pieces.Add((found, start, end));
            start = end;
        }
        return pieces.Count - before;
    }

    static int CodePointCount(ReadOnlySpan<char> s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            n++;
        }
        return n;
    }
}
