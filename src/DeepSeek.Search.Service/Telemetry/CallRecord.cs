using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DeepSeek.Search.Service.Auth;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Service.Telemetry;

/// <summary>
/// The telemetry of one SearchService call, from admission to its status: starts the call's span (named after the method)
/// and counts it in flight; <see cref="End"/> tags the span, records <c>dss.rpc.requests</c> / <c>dss.rpc.duration</c> and
/// writes the call log line. What is recorded about the caller is the hash of the principal (<see cref="PrincipalHash"/>) and
/// the key id; never the credential or the query text.
/// </summary>
sealed class CallRecord
{
    /// <summary>What the log and the span carry when there is no value (no collection, no identity).</summary>
    public const string None = "-";

    readonly ServiceMetrics _metrics;
    readonly ILogger _log;
    readonly long _started = Stopwatch.GetTimestamp();
    readonly Activity? _span;

    public CallRecord(ServerCallContext context, ServiceMetrics metrics, ILogger log)
    {
        _metrics = metrics;
        _log = log;
        Method = MethodName(context.Method);
        _span = metrics.Spans.StartActivity(Method, ActivityKind.Server);
        _span?.SetTag("rpc.system", "grpc");
        _span?.SetTag("rpc.method", Method);
        metrics.CallStarted();
    }

    /// <summary>The method's short name, e.g. <c>Search</c>.</summary>
    public string Method { get; }
    /// <summary>The collection(s) the request names (comma-separated for a SearchBatch over several); null until a request is read.</summary>
    public string? Collection { get; set; }
    /// <summary>Who called, once authenticated.</summary>
    public Identity? Identity { get; set; }
    /// <summary>The status the call ended with; Unknown until it ends.</summary>
    public StatusCode Status { get; set; } = StatusCode.Unknown;

    /// <summary>Ends the call's telemetry: span tags and end, metrics, the log line.</summary>
    public void End()
    {
        var elapsed = Stopwatch.GetElapsedTime(_started);
        string status = Status.ToString(), collection = Collection is { Length: > 0 } c ? c : None;
        string principal = Identity is { } id ? PrincipalHash(id.Caller.Principal) : None, key = Identity?.KeyId ?? None;
        _metrics.CallEnded(Method, status, elapsed);
        if (_span is { } span)
        {
            span.SetTag("dss.collection", collection);
            span.SetTag("rpc.grpc.status_code", (int)Status);
            span.SetTag("dss.status", status);
            span.SetTag("dss.principal_hash", principal);
            span.SetStatus(Status == StatusCode.OK ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
            span.Dispose();
        }
        if (_log.IsEnabled(LogLevel.Information)) Log.Call(_log, Method, collection, status, elapsed.TotalMilliseconds, principal, key);
    }

    /// <summary>The first 12 hex digits of the SHA-256 of the principal's UTF-8 name: stable per principal, not the name.</summary>
    public static string PrincipalHash(string principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(principal)))[..12];
    }

    /// <summary><c>/deepseek.search.v1.SearchService/Search</c> → <c>Search</c>.</summary>
    public static string MethodName(string fullMethod)
    {
        ArgumentNullException.ThrowIfNull(fullMethod);
        int slash = fullMethod.LastIndexOf('/');
        return slash >= 0 ? fullMethod[(slash + 1)..] : fullMethod;
    }

    /// <summary>
    /// The collection a request names: its <c>collection</c> field; else the distinct collections of the messages in its
    /// repeated message fields (a SearchBatch's searches), comma-separated; else null (ListCollections).
    /// </summary>
    public static string? CollectionOf(object? request)
    {
        if (request is not IMessage m) return null;
        if (m.Descriptor.FindFieldByName("collection") is { FieldType: FieldType.String, IsRepeated: false } f)
            return f.Accessor.GetValue(m) as string;
        var names = new List<string>();
        foreach (var field in m.Descriptor.Fields.InDeclarationOrder())
        {
            if (!field.IsRepeated || field.FieldType != FieldType.Message || field.IsMap) continue;
            if (field.Accessor.GetValue(m) is not System.Collections.IEnumerable items) continue;
            foreach (var item in items)
                if (CollectionOf(item) is { Length: > 0 } name && !names.Contains(name, StringComparer.Ordinal)) names.Add(name);
        }
        return names.Count == 0 ? null : string.Join(',', names);
    }
}
