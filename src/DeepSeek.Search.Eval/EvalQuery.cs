namespace DeepSeek.Search.Eval;

/// <summary>One evaluation query: its id (as in the qrels) and its text.</summary>
public sealed record EvalQuery(string Id, string Text);

/// <summary>A query as its file holds it: the query, its 1-based line, and its <c>metadata</c> value when it has one (any JSON kind).</summary>
public sealed record QueryRecord(EvalQuery Query, long Line, System.Text.Json.JsonElement? Metadata);
