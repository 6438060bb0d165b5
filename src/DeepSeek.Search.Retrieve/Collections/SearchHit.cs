namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>One result of a collection search, with the stored title and text for display.</summary>
public sealed record SearchHit(int Rank, string DocumentId, float Score, string Title, string Text);
