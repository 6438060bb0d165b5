namespace DeepSeek.Search.Index.Lexical;

/// <summary>Lucene field names of a lexical index.</summary>
public static class LexicalFields
{
    /// <summary>The document id: indexed untokenized, stored, and a sorted doc value used to break score ties.</summary>
    public const string Id = "id";

    /// <summary>Flat mode: title + "\n" + body, analysed.</summary>
    public const string Contents = "contents";

    /// <summary>Multifield mode: the title, analysed.</summary>
    public const string Title = "title";

    /// <summary>Multifield mode: the body, analysed.</summary>
    public const string Body = "body";

    /// <summary>Numeric doc value: the document's version (the sequence number of the batch that wrote it).</summary>
    public const string Version = "_version";

    /// <summary>Numeric doc value: the document's first chunk id (its chunks are <c>first .. first + count - 1</c>).</summary>
    public const string ChunkFirst = "_chunk_first";

    /// <summary>Numeric doc value: the document's number of chunks.</summary>
    public const string ChunkCount = "_chunk_count";

    /// <summary>Commit user data key: the sequence number of the last batch in the commit.</summary>
    public const string CommitSeq = "seq";

    /// <summary>The analysed fields searched in <paramref name="mode"/>.</summary>
    public static IReadOnlyList<string> Searched(LexicalFieldMode mode) =>
        mode == LexicalFieldMode.Flat ? [Contents] : [Title, Body];
}
