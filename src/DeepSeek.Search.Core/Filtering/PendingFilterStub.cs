// TEMPORARY: stands in for the filter helper's FilterExpression until its branch merges; deleted at that merge.
namespace DeepSeek.Search.Core.Filtering;

public abstract record FilterExpression
{
    public static FilterExpression Parse(string text) => throw new InvalidInputException($"filter: not available yet ('{text}')");
    public abstract bool Matches(string? metadataJson);
}
