namespace DeepSeek.Search.Index.Lexical;

/// <summary>Which fields a lexical index holds and searches.</summary>
public enum LexicalFieldMode
{
    /// <summary>One "contents" field = title + "\n" + body (Anserini's "flat" BEIR indexes; SciFact nDCG@10 0.679).</summary>
    Flat,

    /// <summary>Separate "title" and "body" fields, each scored by BM25 and summed (Anserini's "multifield"; SciFact 0.665).</summary>
    Multifield,
}
