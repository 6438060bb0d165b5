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

    /// <summary>The analysed fields searched in <paramref name="mode"/>.</summary>
    public static IReadOnlyList<string> Searched(LexicalFieldMode mode) =>
        mode == LexicalFieldMode.Flat ? [Contents] : [Title, Body];
}
