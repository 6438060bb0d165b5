using System.Diagnostics;

namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>The stages of one search, as timed and traced.</summary>
enum SearchStage { Encode, Bm25, Dense, Fuse, Fetch }

/// <summary>
/// Times the stages of one search and opens a trace span per stage (<see cref="RetrieveTelemetry.Source"/>, named
/// <c>search.encode</c>, <c>search.bm25</c>, …; free when nothing listens). One clock per search; the threads of one search
/// may time stages at once (a stage timed on two threads adds both times).
/// </summary>
sealed class StageClock
{
    static readonly string[] SpanNames = ["search.encode", "search.bm25", "search.dense", "search.fuse", "search.fetch"];
    readonly double[] _ms = new double[SpanNames.Length];

    public Timer Time(SearchStage stage) => new(this, stage, RetrieveTelemetry.Source.StartActivity(SpanNames[(int)stage]));

    /// <summary>Adds to a stage's time without a span of its own: a second thread's share of a stage another thread traces.</summary>
    public Timer TimeShare(SearchStage stage) => new(this, stage, null);

    public SearchTimings ToTimings()
    {
        lock (_ms) return new(_ms[0], _ms[1], _ms[2], _ms[3], _ms[4]);
    }

    /// <summary>One running stage: adds its elapsed time to the clock and ends its span when disposed.</summary>
    public readonly struct Timer(StageClock clock, SearchStage stage, Activity? span) : IDisposable
    {
        readonly long _started = Stopwatch.GetTimestamp();

        public void Dispose()
        {
            double ms = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
            lock (clock._ms) clock._ms[(int)stage] += ms;
            span?.Dispose();
        }
    }
}
