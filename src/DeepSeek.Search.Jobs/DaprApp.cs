using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Indexing.Reindex;
using DeepSeek.Search.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Jobs;

/// <summary>
/// dss serve's side of a Dapr sidecar, hooked into the server by three calls: <see cref="Listen"/> (an HTTP/1.1 listener on
/// <see cref="DaprSettings.AppAddress"/>:<see cref="DaprSettings.AppPort"/>, the app port Dapr calls), <see cref="AddServices"/>
/// (a <see cref="DaprClient"/>) and <see cref="Map"/> (the routes, served on that listener only):
/// <list type="bullet">
/// <item><c>POST /{CronBinding}</c>: the cron input binding's tick; runs each <see cref="DaprSettings.Reindex"/> job through
/// <see cref="ReindexRunner"/> with <see cref="DaprJobStateStore"/> and <see cref="DaprJobEvents"/>. It answers 200 at once
/// (<c>{"accepted": [...]}</c>) and runs in the background; <c>?wait=true</c> answers after the runs with their outcomes.</item>
/// <item><c>GET /dapr/subscribe</c> (Dapr.AspNetCore's <c>MapSubscribeHandler</c>) and <c>POST /dapr/events/documents-changed</c>
/// (<c>WithTopic</c>): a <see cref="DocumentsChanged"/> event applied through the collection's writer; the answer is the Dapr
/// pub/sub app contract: 200 with <c>{"status": "SUCCESS" | "RETRY" | "DROP"}</c>.</item>
/// </list>
/// When <see cref="DaprSettings.EffectiveAppApiToken"/> is set, every call must carry it in <c>dapr-api-token</c> (else 401).
/// The routes need no API key of the gRPC service: bind the listener where only the sidecar reaches it (loopback by default).
/// </summary>
public sealed partial class DaprApp
{
    /// <summary>The route of the documents.changed subscription.</summary>
    public const string ChangedRoute = "/dapr/events/documents-changed";
    /// <summary>The header Dapr sends its app token in.</summary>
    public const string TokenHeader = "dapr-api-token";

    readonly DaprSettings _settings;
    readonly string? _token;
    ListenOptions? _listen;
    readonly object _gate = new();
    Task<IReadOnlyList<JobOutcome>>? _running;

    DaprApp(DaprSettings settings, string? token)
    {
        _settings = settings;
        _token = token;
    }

    /// <summary>The Dapr side when <paramref name="settings"/> turn it on (<see cref="DaprSettings.IsEnabled"/>), else null.</summary>
    public static DaprApp? Create(DaprSettings settings, Func<string, string?>? env = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.IsEnabled(env)) return null;
        settings.Validate();
        return new DaprApp(settings, settings.EffectiveAppApiToken(env));
    }

    public DaprSettings Settings => _settings;

    /// <summary>The runs the last cron tick started (null before the first): await it to see them end.</summary>
    public Task<IReadOnlyList<JobOutcome>>? Running { get { lock (_gate) return _running; } }

    /// <summary>Adds the app listener (HTTP/1.1) to Kestrel.</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Listen(IPAddress.Parse(_settings.AppAddress), _settings.AppPort, l =>
        {
            l.Protocols = HttpProtocols.Http1;
            _listen = l;
        });
    }

    /// <summary>The address of the started app listener, e.g. <c>http://127.0.0.1:50052</c> (the real port when AppPort was 0).</summary>
    public string Address => _listen?.IPEndPoint is { } ep ? $"http://{ep}" : throw new InvalidOperationException("the Dapr app listener is not configured: call Listen first");

    /// <summary>Registers the <see cref="DaprClient"/> (gRPC to the sidecar; <see cref="DaprSettings.GrpcEndpoint"/> or Dapr.Client's environment defaults).</summary>
    public void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddDaprClient(b =>
        {
            if (_settings.GrpcEndpoint is { Length: > 0 } g) b.UseGrpcEndpoint(g);
        });
    }

    Func<string, ReembedOptions?> _encoder = _ => null;

    /// <summary>
    /// Maps the routes on a branch of <paramref name="app"/> taken by requests to the app listener only; call before any
    /// middleware that answers HTTP/1.1 requests itself. <paramref name="writer"/> gives the collection's one writer
    /// (the server's: opened on first use, kept until shutdown), <paramref name="store"/> the collection, <paramref name="encoder"/>
    /// the encoder a collection's vectors are to be made with (null: its own): a cron run re-embeds first when they differ
    /// (<see cref="ReindexOptions.Encoder"/>, the same decision as <c>dss reindex --encoder</c>).
    /// </summary>
    public void Map(IApplicationBuilder app, Func<string, CollectionWriter> writer, Func<string, CollectionStore> store, Func<string, ReembedOptions?>? encoder = null)
    {
        _encoder = encoder ?? (_ => null);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(store);
        app.MapWhen(c => _listen?.IPEndPoint is { } ep && c.Connection.LocalPort == ep.Port && !HttpProtocol.IsHttp2(c.Request.Protocol), branch =>
        {
            branch.Use(CheckToken);
            branch.UseRouting();
            branch.UseCloudEvents();
            branch.UseEndpoints(e =>
            {
                e.MapSubscribeHandler();
                e.MapPost("/" + _settings.CronBinding, (HttpContext c) => CronAsync(c, writer, store));
                e.MapPost(ChangedRoute, (HttpContext c) => ChangedAsync(c, writer, store)).WithTopic(_settings.PubSub, _settings.ChangedTopic);
            });
            branch.Run(c =>
            {
                c.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        });
    }

    Task CheckToken(HttpContext c, RequestDelegate next)
    {
        if (_token is null) return next(c);
        var given = c.Request.Headers[TokenHeader].ToString();
        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(_token))) return next(c);
        c.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return c.Response.WriteAsync($"missing or wrong {TokenHeader} header (APP_API_TOKEN is set)");
    }

    ReindexRunner Runner(IServiceProvider services) => new(
        new DaprJobStateStore(services.GetRequiredService<DaprClient>(), _settings.StateStore),
        new DaprJobEvents(services.GetRequiredService<DaprClient>(), _settings.PubSub, _settings.ReindexedTopic),
        new RunnerOptions { Lease = TimeSpan.FromMinutes(_settings.LeaseMinutes), MinInterval = TimeSpan.FromMinutes(_settings.MinIntervalMinutes) });

    async Task CronAsync(HttpContext c, Func<string, CollectionWriter> writer, Func<string, CollectionStore> store)
    {
        var logger = Logger(c);
        bool wait = string.Equals(c.Request.Query["wait"], "true", StringComparison.OrdinalIgnoreCase);
        Task<IReadOnlyList<JobOutcome>> runs;
        bool started;
        lock (_gate)
        {
            started = _running is null || _running.IsCompleted;
            if (started)
            {
                var runner = Runner(c.RequestServices);
                _running = Task.Run(() => RunJobsAsync(runner, writer, store, logger));
            }
            runs = _running!;
        }
        var keys = _settings.Reindex.Select(j => j.EffectiveJobKey).ToArray();
        if (!wait)
        {
            await Json(c, StatusCodes.Status200OK, started ? new { accepted = keys } : new { accepted = Array.Empty<string>(), running = keys }).ConfigureAwait(false);
            return;
        }
        try
        {
            var outcomes = await runs.ConfigureAwait(false);
            await Json(c, StatusCodes.Status200OK, new { outcomes = outcomes.Select(o => new { jobKey = o.JobKey, outcome = o.Kind.ToString(), message = o.Message, report = o.Report }) }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SearchException or IOException or DaprException)
        {
            await Json(c, StatusCodes.Status500InternalServerError, new { error = ex.Message }).ConfigureAwait(false);
        }
    }

    async Task<IReadOnlyList<JobOutcome>> RunJobsAsync(ReindexRunner runner, Func<string, CollectionWriter> writer, Func<string, CollectionStore> store, ILogger logger)
    {
        var outcomes = new List<JobOutcome>();
        Exception? first = null;
        foreach (var job in _settings.Reindex)
        {
            try
            {
                if (!store(job.Collection).Exists) throw new CollectionNotFoundException(job.Collection, store(job.Collection).Root);
                var sources = job.Sources.Select(JobSources.Open).ToList();
                var outcome = await runner.RunAsync(job.EffectiveJobKey, writer(job.Collection), sources, new ReindexOptions { BatchSize = job.BatchSize, Encoder = _encoder(job.Collection), Shard = job.ShardOf }).ConfigureAwait(false);
                Log.JobOutcome(logger, outcome.Message);
                outcomes.Add(outcome);
            }
            catch (Exception ex) when (ex is SearchException or IOException or DaprException or InvalidOperationException)
            {
                Log.JobFailed(logger, job.EffectiveJobKey, ex.Message, ex);
                first ??= ex;
            }
        }
        if (first is not null) throw first;
        return outcomes;
    }

    async Task ChangedAsync(HttpContext c, Func<string, CollectionWriter> writer, Func<string, CollectionStore> store)
    {
        var logger = Logger(c);
        DocumentsChanged change;
        try
        {
            using var body = new MemoryStream();
            await c.Request.Body.CopyToAsync(body, c.RequestAborted).ConfigureAwait(false);
            change = DocumentsChanged.Parse(body.ToArray(), _settings.MaxEventDocuments);
            if (!store(change.Collection).Exists) throw new InvalidInputException($"documents.changed: unknown collection '{change.Collection}'");
        }
        catch (InvalidInputException ex)
        {
            // Malformed or aimed at nothing: redelivery cannot help.
            Log.EventDropped(logger, ex.Message);
            await Status(c, "DROP", ex.Message).ConfigureAwait(false);
            return;
        }
        try
        {
            var (upserted, deleted, gone) = await Task.Run(() => change.Apply(writer(change.Collection), c.RequestAborted)).ConfigureAwait(false);
            Log.EventApplied(logger, change.Collection, upserted, change.Upserts.Count - upserted, deleted, gone);
            await Json(c, StatusCodes.Status200OK, new { status = "SUCCESS", upserted, unchanged = change.Upserts.Count - upserted, deleted, alreadyGone = gone }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SearchException or IOException or InvalidOperationException)
        {
            // The collection is held by another writer, a compaction is switching, a disk hiccup: the event is sound, try it again.
            // (A document the writer itself refuses — e.g. over the chunk limit — is also retried until the policy gives up.)
            Log.EventRetried(logger, change.Collection, ex.Message);
            await Status(c, "RETRY", ex.Message).ConfigureAwait(false);
        }
    }

    static Task Status(HttpContext c, string status, string message) => Json(c, StatusCodes.Status200OK, new { status, message });

    static Task Json(HttpContext c, int code, object value)
    {
        c.Response.StatusCode = code;
        c.Response.ContentType = "application/json";
        return c.Response.WriteAsync(JsonSerializer.Serialize(value, JobJson.Options));
    }

    static ILogger Logger(HttpContext c) => c.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("DeepSeek.Search.Jobs.Dapr");

    static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "{Message}")]
        public static partial void JobOutcome(ILogger logger, string message);

        [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "re-index job {JobKey} failed: {Error}")]
        public static partial void JobFailed(ILogger logger, string jobKey, string error, Exception exception);

        [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "documents.changed event dropped: {Problem}")]
        public static partial void EventDropped(ILogger logger, string problem);

        [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "documents.changed applied to '{Collection}': {Upserted} upserted, {Unchanged} unchanged, {Deleted} deleted, {Gone} already gone")]
        public static partial void EventApplied(ILogger logger, string collection, int upserted, int unchanged, int deleted, int gone);

        [LoggerMessage(EventId = 24, Level = LogLevel.Warning, Message = "documents.changed event for '{Collection}' to be retried: {Problem}")]
        public static partial void EventRetried(ILogger logger, string collection, string problem);
    }
}
