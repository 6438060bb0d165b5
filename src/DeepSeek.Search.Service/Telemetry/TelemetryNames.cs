namespace DeepSeek.Search.Service.Telemetry;

/// <summary>
/// The names the service's telemetry is published under: the <see cref="System.Diagnostics.Metrics.Meter"/>, the
/// <see cref="System.Diagnostics.ActivitySource"/>s and the log category of the one-line-per-call log.
/// </summary>
public static class TelemetryNames
{
    /// <summary>The meter of the service's metrics (dss.rpc.*, dss.search.*, dss.collection.*).</summary>
    public const string Meter = "DeepSeek.Search.Service";
    /// <summary>The activity source of the per-RPC spans.</summary>
    public const string ActivitySource = "DeepSeek.Search.Service";
    /// <summary>The activity source of the search-stage spans (child spans of an RPC's span), registered with the tracer too.</summary>
    public const string RetrieveActivitySource = "DeepSeek.Search.Retrieve";
    /// <summary>The log category of the call log: one Information line per SearchService call.</summary>
    public const string CallLogCategory = "DeepSeek.Search.Service.Calls";
    /// <summary>The tag of the experiment a search or outcome belongs to (<c>dss.experiment.*</c>).</summary>
    public const string ExperimentTag = "experiment";
    /// <summary>The tag of the arm of that experiment.</summary>
    public const string ArmTag = "arm";
    /// <summary>The tag of an outcome's kind: <c>click</c> or <c>judgment</c>.</summary>
    public const string OutcomeKindTag = "kind";
    /// <summary>The path of the Prometheus scrape endpoint on the metrics listener.</summary>
    public const string MetricsPath = "/metrics";
}
