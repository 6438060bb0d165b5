namespace DeepSeek.Search.Eval;

/// <summary>One evaluation query: its id (as in the qrels) and its text.</summary>
public sealed record EvalQuery(string Id, string Text);
