namespace DeepSeek.Search.Benchmarks;

/// <summary>One benchmark suite: a hot path measured end to end, written as JSON + Markdown under bench/results/.</summary>
public interface IBenchSuite
{
    /// <summary>Short name, used for the result file names (bench/results/NAME.json, NAME.md).</summary>
    string Name { get; }

    /// <summary>Runs the suite. <paramref name="quick"/> asks for a smaller run (fewer vectors / repetitions) for smoke checks.</summary>
    BenchReport Run(BenchContext context);
}

public sealed record BenchContext(bool Quick, string? SharedDir, string ResultsDir);

/// <summary>A suite's result: a title, free-form notes, and a table whose rows are name → value maps.</summary>
public sealed class BenchReport
{
    public required string Title { get; init; }
    public List<string> Notes { get; } = new();
    public List<Dictionary<string, object>> Rows { get; } = new();
    public Dictionary<string, object> Environment { get; } = new();
}
