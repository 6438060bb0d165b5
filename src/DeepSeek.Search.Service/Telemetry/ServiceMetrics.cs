using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DeepSeek.Search.Service.Telemetry;

/// <summary>
/// The service's instruments, in one place: a <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="TelemetryNames.Meter"/> and the <see cref="ActivitySource"/> <see cref="TelemetryNames.ActivitySource"/> of the
/// per-RPC spans. Durations are in seconds. Instruments:
/// <list type="bullet">
/// <item><c>dss.rpc.requests</c> counter {method, status}: finished SearchService calls.</item>
/// <item><c>dss.rpc.duration</c> histogram (s) {method}: a call from admission to its status, queueing included.</item>
/// <item><c>dss.rpc.in_flight</c> up-down counter: calls received and not finished (queued ones included).</item>
/// <item><c>dss.search.stage.duration</c> histogram (s) {collection, stage}: the stages of each search (<see cref="RecordSearchStages"/>).</item>
/// <item>observable gauges {collection}, of the collections this server has open: <c>dss.collection.documents</c> (live
/// documents), <c>dss.collection.seq</c> (the generation: sequence number of the newest batch seen),
/// <c>dss.collection.snapshot.chunks</c> (chunks in the current snapshot) and <c>dss.collection.disk</c> (bytes of the
/// collection's folder).</item>
/// <item><c>dss.experiment.requests</c> counter {experiment, arm}: searches served by an arm of an online experiment.</item>
/// <item><c>dss.experiment.search.duration</c> histogram (s) {experiment, arm}: those searches' total time.</item>
/// <item><c>dss.experiment.outcomes</c> counter {experiment, arm, kind} and <c>dss.experiment.outcome.value</c> histogram
/// {experiment, arm, kind}: the outcomes clients report (ReportOutcome), counted and their values (sum, distribution).</item>
/// </list>
/// </summary>
public sealed class ServiceMetrics : IDisposable
{
    static readonly double[] SecondsBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    static readonly double[] OutcomeBuckets = [0, 0.25, 0.5, 0.75, 1, 2, 3, 4, 5, 10];

    readonly Meter _meter;
    readonly Counter<long> _requests;
    readonly Histogram<double> _duration;
    readonly UpDownCounter<long> _inFlight;
    readonly Histogram<double> _stage;
    readonly Counter<long> _armRequests;
    readonly Histogram<double> _armDuration;
    readonly Counter<long> _outcomes;
    readonly Histogram<double> _outcomeValue;

    /// <summary>
    /// The instruments; the gauges observe the collections <paramref name="registry"/> has open. The meter's scope is
    /// <paramref name="scope"/>: a metrics pipeline keeps only the instruments of its own server (<see cref="IsOwn"/>), since
    /// listeners subscribe to meters by name and would otherwise also count every other server of the process.
    /// </summary>
    public ServiceMetrics(CollectionRegistry registry, TelemetryScope scope)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(scope);
        _meter = new Meter(new MeterOptions(TelemetryNames.Meter) { Scope = scope });
        Spans = new ActivitySource(TelemetryNames.ActivitySource);
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets };
        _requests = _meter.CreateCounter<long>("dss.rpc.requests", "{call}", "SearchService calls finished, by method and status code");
        _duration = _meter.CreateHistogram("dss.rpc.duration", "s", "Duration of SearchService calls, admission to status", null, advice);
        _inFlight = _meter.CreateUpDownCounter<long>("dss.rpc.in_flight", "{call}", "SearchService calls received and not finished, queued ones included");
        _stage = _meter.CreateHistogram("dss.search.stage.duration", "s", "Duration of the stages of a search, by collection and stage", null, advice);
        _armRequests = _meter.CreateCounter<long>("dss.experiment.requests", "{search}", "Searches served by an arm of an online experiment");
        _armDuration = _meter.CreateHistogram("dss.experiment.search.duration", "s", "Total time of the searches served by an arm of an online experiment", null, advice);
        _outcomes = _meter.CreateCounter<long>("dss.experiment.outcomes", "{outcome}", "Outcomes (clicks, judgments) reported for an arm of an online experiment");
        _outcomeValue = _meter.CreateHistogram("dss.experiment.outcome.value", null, "Values of the outcomes reported for an arm of an online experiment", null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = OutcomeBuckets });
        Gauge(registry, "dss.collection.documents", "{document}", "Live documents of an open collection", s => s.DocumentCount);
        Gauge(registry, "dss.collection.seq", "{batch}", "Generation of an open collection: sequence number of its newest batch", s => s.Seq);
        Gauge(registry, "dss.collection.snapshot.chunks", "{chunk}", "Chunks in the current snapshot of an open collection", s => s.Manifest.Chunks);
        _meter.CreateObservableGauge("dss.collection.disk", () => Observe(registry, (name, _) => FolderBytes(registry.Store(name).Directory)),
            "By", "Bytes on disk of an open collection's folder");
    }

    /// <summary>Whether <paramref name="instrument"/> belongs to the server of <paramref name="scope"/>.</summary>
    public static bool IsOwn(Instrument instrument, TelemetryScope scope)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        return ReferenceEquals(instrument.Meter.Scope, scope);
    }

    /// <summary>The source of the per-RPC spans (<see cref="TelemetryNames.ActivitySource"/>).</summary>
    public ActivitySource Spans { get; }

    /// <summary>A call arrived.</summary>
    public void CallStarted() => _inFlight.Add(1);

    /// <summary>A call ended with <paramref name="status"/> after <paramref name="elapsed"/>.</summary>
    public void CallEnded(string method, string status, TimeSpan elapsed)
    {
        _inFlight.Add(-1);
        _requests.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("status", status));
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("method", method));
    }

    /// <summary>Records the stages of one search of <paramref name="collection"/>: stage name → milliseconds.</summary>
    public void RecordSearchStages(string collection, IReadOnlyDictionary<string, double> stageMs)
    {
        ArgumentNullException.ThrowIfNull(stageMs);
        foreach (var (stage, ms) in stageMs)
            _stage.Record(ms / 1000.0, new KeyValuePair<string, object?>("collection", collection), new KeyValuePair<string, object?>("stage", stage));
    }

    /// <summary>One search served by <paramref name="arm"/> of <paramref name="experiment"/>, which took <paramref name="totalMs"/>.</summary>
    public void RecordArmSearch(string experiment, string arm, double totalMs)
    {
        var e = new KeyValuePair<string, object?>(TelemetryNames.ExperimentTag, experiment);
        var a = new KeyValuePair<string, object?>(TelemetryNames.ArmTag, arm);
        _armRequests.Add(1, e, a);
        _armDuration.Record(totalMs / 1000.0, e, a);
    }

    /// <summary>One outcome of <paramref name="kind"/> (click, judgment) with <paramref name="value"/> reported for <paramref name="arm"/>.</summary>
    public void RecordOutcome(string experiment, string arm, string kind, double value)
    {
        var e = new KeyValuePair<string, object?>(TelemetryNames.ExperimentTag, experiment);
        var a = new KeyValuePair<string, object?>(TelemetryNames.ArmTag, arm);
        var k = new KeyValuePair<string, object?>(TelemetryNames.OutcomeKindTag, kind);
        _outcomes.Add(1, e, a, k);
        _outcomeValue.Record(value, e, a, k);
    }

    void Gauge(CollectionRegistry registry, string name, string unit, string description, Func<Retrieve.Collections.CollectionSearcher, long> value) =>
        _meter.CreateObservableGauge(name, () => Observe(registry, (_, s) => value(s)), unit, description);

    /// <summary>One measurement per open collection, each moved to its newest commit first; a collection dropped meanwhile is left out.</summary>
    static List<Measurement<long>> Observe(CollectionRegistry registry, Func<string, Retrieve.Collections.CollectionSearcher, long> value)
    {
        var list = new List<Measurement<long>>();
        foreach (var (name, searcher) in registry.OpenSearchers())
        {
            try
            {
                searcher.Refresh();
                list.Add(new Measurement<long>(value(name, searcher), new KeyValuePair<string, object?>("collection", name)));
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException or Core.SearchException) { }
        }
        return list;
    }

    static long FolderBytes(string directory)
    {
        long total = 0;
        var files = new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true });
        foreach (var f in files)
        {
            try { total += f.Length; }
            catch (FileNotFoundException) { } // removed by a compaction while counting
        }
        return total;
    }

    /// <summary>Disposes the meter and the activity source.</summary>
    public void Dispose()
    {
        _meter.Dispose();
        Spans.Dispose();
    }
}

/// <summary>The identity of one server's instruments (the scope of its meter): one per <see cref="SearchServer"/>.</summary>
public sealed class TelemetryScope;
