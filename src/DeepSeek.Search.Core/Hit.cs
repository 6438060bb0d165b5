namespace DeepSeek.Search.Core;

/// <summary>A scored document id. Scores are comparable only within one ranked list.</summary>
public readonly record struct Hit(string DocumentId, float Score);
