using DeepSeek.Search.Core;

namespace DeepSeek.Search.Ingest;

/// <summary>Routes a malformed record to an exception (strict) or to the report and callback (lenient).</summary>
internal sealed class ProblemSink(IngestOptions options, IngestReport report)
{
    public IngestReport Report => report;

    public void Add(string file, long line, string problem, Exception? inner = null)
    {
        if (options.Strict) throw new MalformedRecordException(file, line, problem, inner);
        var p = new IngestProblem(file, line, problem);
        report.AddProblem(p);
        options.OnProblem?.Invoke(p);
    }
}
