namespace DeepSeek.Search.Text.Tokenization;

/// <summary>
/// Settings of a <see cref="BertTokenizer"/>. The defaults are those of Hugging Face's uncased BERT tokenizers
/// (<c>BertTokenizerFast</c> with <c>do_lower_case=True</c>, <c>strip_accents=None</c>, <c>tokenize_chinese_chars=True</c>).
/// </summary>
public sealed record BertTokenizerOptions
{
    /// <summary>Lower-case the text (HF <c>do_lower_case</c> / BertNormalizer <c>lowercase</c>).</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>Strip accents (NFD, then drop nonspacing marks). Null follows <see cref="LowerCase"/>, as HF's <c>strip_accents=None</c> does.</summary>
    public bool? StripAccents { get; init; }

    /// <summary>Put spaces around CJK ideographs so that each becomes its own word (HF <c>tokenize_chinese_chars</c>).</summary>
    public bool TokenizeChineseChars { get; init; } = true;

    /// <summary>Drop control characters, NUL and U+FFFD and turn all whitespace into spaces (HF BertNormalizer <c>clean_text</c>).</summary>
    public bool CleanText { get; init; } = true;

    /// <summary>
    /// Recognise the special tokens (<c>[CLS]</c>, <c>[SEP]</c>, ...) when they occur literally in the input text and map them to
    /// their ids, as HF's added-token pass does (its default). When false they are tokenized as ordinary text.
    /// </summary>
    public bool RecognizeSpecialTokens { get; init; } = true;

    /// <summary>Default maximum sequence length, special tokens included, for <see cref="BertTokenizer.Encode(string)"/>.</summary>
    public int MaxLength { get; init; } = 512;

    /// <summary>Words longer than this many characters (code points) become one <see cref="UnkToken"/> (HF WordPiece <c>max_input_chars_per_word</c>).</summary>
    public int MaxInputCharsPerWord { get; init; } = 100;

    /// <summary>Prefix of word-continuation pieces.</summary>
    public string ContinuingSubwordPrefix { get; init; } = "##";

    public string UnkToken { get; init; } = "[UNK]";
    public string ClsToken { get; init; } = "[CLS]";
    public string SepToken { get; init; } = "[SEP]";
    public string PadToken { get; init; } = "[PAD]";
    public string MaskToken { get; init; } = "[MASK]";

    /// <summary>The accent stripping actually applied: <see cref="StripAccents"/>, or <see cref="LowerCase"/> when that is null.</summary>
    public bool EffectiveStripAccents => StripAccents ?? LowerCase;
}
