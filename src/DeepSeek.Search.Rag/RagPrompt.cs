using System.Text;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Rag;

/// <summary>
/// The prompt of one question: the instructions as the system turn, then a user turn of numbered sources and the question,
/// in the model's chat format (<see cref="DeepSeekGenerator.FormatChat"/>).
/// <para>
/// Sources are quoted as data: each is <c>[n] title</c>, then its passage between <c>&lt;&lt;&lt;</c> and <c>&gt;&gt;&gt;</c>. Everything
/// that comes from documents or the caller (titles, passages, the question) is encoded with special-token text kept as
/// plain text — a passage cannot open a chat turn or end the prompt — and with the quote delimiters inside it broken up,
/// so a passage cannot close its quote and speak outside it.
/// </para>
/// </summary>
public static class RagPrompt
{
    /// <summary>Untrusted text made safe to quote: no quote delimiters, no slot characters, no NULs.</summary>
    public static string Quote(string text) =>
        PromptSlots.Clean(text).Replace("<<<", "< < <", StringComparison.Ordinal).Replace(">>>", "> > >", StringComparison.Ordinal);

    /// <summary>The sources: hits in order, up to <paramref name="maxSources"/>, their passages fitted into <paramref name="tokenBudget"/> tokens.</summary>
    public static IReadOnlyList<RagSource> Pack(IReadOnlyList<SearchHit> hits, ByteLevelBpeTokenizer tokenizer, int maxSources, int tokenBudget)
    {
        ArgumentNullException.ThrowIfNull(hits);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var sources = new List<RagSource>();
        int left = tokenBudget;
        foreach (var h in hits)
        {
            if (sources.Count == maxSources || left <= 0) break;
            var (start, end) = SearchReranking.ChunkSpan(h);
            string passage = h.Text[start..end];
            int tokens = Count(tokenizer, passage);
            if (tokens > left)
            {
                if (sources.Count > 0 && left < 32) break; // too little room for a useful cut: stop here
                int cut = FitPrefix(tokenizer, passage, left);
                if (cut == 0) break;
                passage = passage[..cut];
                end = start + cut;
                tokens = Count(tokenizer, passage);
            }
            sources.Add(new RagSource(sources.Count + 1, h.DocumentId, h.Chunk?.ChunkId, start, end, h.Title, passage, tokens));
            left -= tokens;
        }
        return sources;
    }

    static int Count(ByteLevelBpeTokenizer tokenizer, string text) => tokenizer.Encode(text, addSpecialTokens: false, splitSpecialTokens: true).Length;

    /// <summary>The longest prefix of <paramref name="text"/>, ending at a word boundary where there is one, of at most <paramref name="tokens"/> tokens.</summary>
    static int FitPrefix(ByteLevelBpeTokenizer tokenizer, string text, int tokens)
    {
        int lo = 0, hi = text.Length;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (Count(tokenizer, text[..mid]) <= tokens) lo = mid;
            else hi = mid - 1;
        }
        if (lo > 0 && lo < text.Length && char.IsHighSurrogate(text[lo - 1])) lo--;
        int space = text.LastIndexOf(' ', Math.Max(0, lo - 1));
        return space > lo / 2 ? space : lo;
    }

    /// <summary>The generator's tokenizer; a generator folder without tokenizer.json cannot answer in text.</summary>
    public static ByteLevelBpeTokenizer TokenizerOf(DeepSeekGenerator generator) =>
        generator.Tokenizer ?? throw new Core.InvalidInputException("the generator folder has no tokenizer.json: answers need text");

    /// <summary>The prompt's token ids and text (with the sources' special-token text shown as it was encoded: as text).</summary>
    public static (int[] Ids, string Text) Build(DeepSeekGenerator generator, string instructions, IReadOnlyList<RagSource> sources, string question)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(sources);
        var tokenizer = TokenizerOf(generator);
        var slots = new PromptSlots();
        string Slot(string text) => slots.Add(Quote(text));
        var user = new StringBuilder("Sources:\n\n");
        foreach (var s in sources)
            user.Append('[').Append(s.Number).Append("] ").Append(Slot(s.Title)).Append("\n<<<\n").Append(Slot(s.Passage)).Append("\n>>>\n\n");
        user.Append("Question: ").Append(Slot(question.Trim()));
        string formatted = generator.FormatChat(new[] { ChatMessage.System(PromptSlots.Clean(instructions)), ChatMessage.User(user.ToString()) });
        return slots.Encode(tokenizer, formatted);
    }
}
