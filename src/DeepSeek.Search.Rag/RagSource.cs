namespace DeepSeek.Search.Rag;

/// <summary>
/// A numbered source given to the model: the document, the chunk the passage comes from, and the character span
/// [Start, End) of the quoted text in the document's text (UTF-16 units; shorter than the chunk when the budget cut it).
/// </summary>
public sealed record RagSource(int Number, string DocumentId, long? ChunkId, int Start, int End, string Title, string Passage, int Tokens);

/// <summary>A source the answer cites with [n].</summary>
public sealed record RagCitation(int Number, string DocumentId, long? ChunkId, int Start, int End, string Title);

/// <summary>Token counts of one answer.</summary>
public sealed record RagUsage(int PromptTokens, int CompletionTokens, int SourceCount, int RecalledCount);

/// <summary>Milliseconds per stage of one answer (0 for a stage that did not run).</summary>
public sealed record RagTimings(double RecallMs, double RerankMs, double PromptMs, double FirstTokenMs, double GenerateMs, double TotalMs);

/// <summary>What <see cref="RagAnswerer.AskAsync"/> yields: answer text as it is made, then one <see cref="RagAnswer"/>.</summary>
public abstract record RagEvent;

/// <summary>New answer text (already filtered: citation markers that name no source are removed).</summary>
public sealed record RagDelta(string Text) : RagEvent;

/// <summary>
/// The finished answer: its text, the citations it makes (each [n] it uses that names a source given to the model, in order
/// of first use), the sources it was given, usage, timings, the collection state it read (<see cref="Seq"/>), and whether it
/// is the no-sources answer (no permitted document matched; nothing was generated).
/// </summary>
public sealed record RagAnswer(string Answer, IReadOnlyList<RagCitation> Citations, IReadOnlyList<RagSource> Sources, RagUsage Usage,
    RagTimings Timings, long Seq, bool NoSources, string FinishReason, int DroppedCitations) : RagEvent;

/// <summary>
/// A question made ready to answer (<see cref="RagAnswerer.PrepareAsync"/>): the hits recalled (re-ranked, cut to recall_k), the
/// sources packed from them, the prompt's token ids, the collection state read, and the milliseconds of the stages so far.
/// No sources (no permitted hit): an empty prompt.
/// </summary>
public sealed record RagContext(IReadOnlyList<Retrieve.Collections.SearchHit> Hits, IReadOnlyList<RagSource> Sources, int[] Prompt, long Seq,
    double RecallMs, double RerankMs, double PromptMs);
