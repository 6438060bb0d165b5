namespace DeepSeek.Search.Ingest;

/// <summary>
/// What one pass over a <see cref="DocumentSource"/> produced: documents yielded, records skipped, and the first
/// <see cref="IngestOptions.MaxReportedProblems"/> problems. Reset at the start of every enumeration of the source.
/// </summary>
public sealed class IngestReport
{
    readonly List<IngestProblem> _problems = new();
    readonly int _maxProblems;

    public IngestReport(int maxReportedProblems = 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxReportedProblems);
        _maxProblems = maxReportedProblems;
    }

    /// <summary>Documents yielded so far.</summary>
    public long DocumentsRead { get; private set; }

    /// <summary>Records (lines, or files in folder mode) skipped as malformed.</summary>
    public long Skipped { get; private set; }

    /// <summary>Input files opened (1 for a JSONL file).</summary>
    public long FilesRead { get; private set; }

    /// <summary>The first problems, in input order; <see cref="Skipped"/> counts them all.</summary>
    public IReadOnlyList<IngestProblem> Problems => _problems;

    /// <summary>True when more problems occurred than <see cref="Problems"/> holds.</summary>
    public bool ProblemsTruncated => Skipped > _problems.Count;

    internal void Reset() { DocumentsRead = 0; Skipped = 0; FilesRead = 0; _problems.Clear(); }
    internal void CountDocument() => DocumentsRead++;
    internal void CountFile() => FilesRead++;
    internal void AddProblem(IngestProblem problem)
    {
        Skipped++;
        if (_problems.Count < _maxProblems) _problems.Add(problem);
    }

    /// <summary>One line: "N documents read, M skipped" plus the first problem, if any.</summary>
    public override string ToString() =>
        $"{DocumentsRead} documents read, {Skipped} skipped" + (_problems.Count > 0 ? $" (first: {_problems[0]})" : "");
}
