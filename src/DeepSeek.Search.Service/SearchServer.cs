using DeepSeek.Search.Generate;
using DeepSeek.Search.Jobs;
using DeepSeek.Search.Rag;
using System.Net;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Grpc;
using DeepSeek.Search.Service.Telemetry;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DeepSeek.Search.Service;

/// <summary>
/// Builds the gRPC server: Kestrel on <see cref="ServiceSettings.Address"/>:<see cref="ServiceSettings.Port"/>, HTTP/2
/// without TLS (h2c), serving <c>deepseek.search.v1.SearchService</c>, <c>grpc.health.v1.Health</c> (the overall status
/// "" and one <see cref="HealthName"/> per collection) and server reflection; with <see cref="ServiceSettings.MetricsPort"/> also a Prometheus scrape endpoint
/// (<see cref="TelemetryNames.MetricsPath"/>, HTTP/1.1) on a listener of its own. The collections are a
/// <see cref="CollectionRegistry"/> over <see cref="ServiceSettings.IndexRoot"/>, disposed (writers released) when the
/// application stops.
/// </summary>
public static class SearchServer
{
    /// <summary>The health service name of a collection.</summary>
    public static string HealthName(string collection) => $"{V1.SearchService.Descriptor.FullName}/{collection}";

    /// <summary>
    /// The server, not started. <paramref name="authenticators"/>: how callers are identified; null means API keys from
    /// <see cref="ServiceSettings.EffectiveKeysFile"/>. <paramref name="logging"/> configures logging (default: warnings to the console).
    /// </summary>
    public static WebApplication Build(ServiceSettings settings, IEnumerable<IAuthenticator>? authenticators = null, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        bool front = settings.Front.Enabled;
        // A query front judges no credential itself: it forwards the caller's to the shards, which do (Front/ForwardedCredential).
        var auth = front ? [new Front.ForwardedCredential()] : authenticators?.ToList() ?? DefaultAuthenticators(settings);
        var dapr = front ? null : DaprApp.Create(settings.Dapr); // with a sidecar: the app listener Dapr calls, the cron and subscription routes (Jobs)

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (logging != null) logging(builder.Logging);
        else builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Parse(settings.Address), settings.Port, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (settings.Tls.Enabled) UseTls(l, settings.Tls);
            });
            // The Prometheus scrape endpoint: a listener of its own, HTTP/1.1 (the gRPC one is HTTP/2 only), serving /metrics alone.
            if (settings.MetricsPort is { } metricsPort)
                k.Listen(IPAddress.Parse(settings.MetricsAddress), metricsPort, l => l.Protocols = HttpProtocols.Http1);
            dapr?.Listen(k);
        });
        builder.Services.AddRouting();
        builder.Services.AddSingleton(settings);
        foreach (var a in auth) builder.Services.AddSingleton(a);
        builder.Services.AddSingleton(sp => new CollectionRegistry(settings.IndexRoot, settings.Device, settings.MaxBatchDocuments, settings.AutoCompact,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<CollectionRegistry>(), settings.Encoders(),
            Encode.EncoderPrecisions.Parse(settings.QueryPrecision), settings.FaissParameters()));
        builder.Services.AddSingleton(_ => new GeneratorPool(settings.Generator.Model, new DeepSeekModelOptions
        {
            Device = settings.Generator.Device,
            DType = DeepSeekModelOptions.ParseDType(settings.Generator.DType),
        }, settings.Generator.RerankModel));
        var scope = new TelemetryScope();
        builder.Services.AddSingleton(scope);
        builder.Services.AddSingleton<ServiceMetrics>();
        builder.Services.AddSingleton<Experiments.ExperimentCatalog>();
        builder.Services.AddSingleton<ServiceInterceptor>();
        AddOpenTelemetry(builder.Services, settings, scope);
        builder.Services.AddSingleton<HealthServiceImpl>();
        builder.Services.AddGrpc(o =>
        {
            // The hard cap of the transport; the interceptor enforces MaxMessageBytes itself with an INVALID_ARGUMENT naming the
            // size. Beyond twice the limit grpc-dotnet refuses the message as RESOURCE_EXHAUSTED before any handler runs.
            o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, 2L * settings.MaxMessageBytes);
            o.MaxSendMessageSize = null;
            o.EnableDetailedErrors = false;
        }).AddServiceOptions<SearchEndpoint>(o => o.Interceptors.Add<ServiceInterceptor>());
        if (front) builder.Services.AddSingleton<V1.SearchService.SearchServiceBase, Front.FrontRpcService>();
        else builder.Services.AddSingleton<V1.SearchService.SearchServiceBase, SearchRpcService>();
        builder.Services.AddSingleton<global::Grpc.AspNetCore.Server.Model.IServiceMethodProvider<SearchEndpoint>, SearchServiceMethods>();
        // SearchService is mapped under SearchEndpoint (see SearchServiceMethods), which reflection cannot trace back to its
        // descriptor: name the services it lists here (registered first, so AddGrpcReflection keeps this one).
        builder.Services.AddSingleton(new global::Grpc.Reflection.ReflectionServiceImpl(
            V1.SearchService.Descriptor, Health.Descriptor, global::Grpc.Reflection.V1Alpha.ServerReflection.Descriptor));
        builder.Services.AddGrpcReflection();
        if (dapr != null)
        {
            builder.Services.AddSingleton(dapr);
            dapr.AddServices(builder.Services);
        }

        var app = builder.Build();
        dapr?.Map(app, name => app.Services.GetRequiredService<CollectionRegistry>().Writer(name), name => app.Services.GetRequiredService<CollectionRegistry>().Store(name),
            name => settings.Encoders().GetValueOrDefault(name));
        if (settings.MetricsPort is not null)
        {
            // HTTP/1.x requests only reach the metrics listener: there, /metrics is the scrape endpoint and nothing else is served.
            app.UseOpenTelemetryPrometheusScrapingEndpoint(c => !HttpProtocol.IsHttp2(c.Request.Protocol) && c.Request.Path == TelemetryNames.MetricsPath);
            app.Use((HttpContext c, RequestDelegate next) =>
            {
                if (HttpProtocol.IsHttp2(c.Request.Protocol)) return next(c);
                c.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }
        app.UseRouting();
        app.MapGrpcService<SearchEndpoint>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();

        var health = app.Services.GetRequiredService<HealthServiceImpl>();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        health.SetStatus(V1.SearchService.Descriptor.FullName, HealthCheckResponse.Types.ServingStatus.Serving);
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() => health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing));
        if (front)
        {
            _ = app.Services.GetRequiredService<V1.SearchService.SearchServiceBase>();   // a bad shard list fails the build, not the first call
            return app;
        }
        var registry = app.Services.GetRequiredService<CollectionRegistry>();
        _ = app.Services.GetRequiredService<Experiments.ExperimentCatalog>();   // a bad experiments file fails the build, not the first search
        foreach (var name in registry.Names()) health.SetStatus(HealthName(name), HealthCheckResponse.Types.ServingStatus.Serving);
        registry.Changed += (_, name) =>
        {
            if (registry.Names().Contains(name)) health.SetStatus(HealthName(name), HealthCheckResponse.Types.ServingStatus.Serving);
            else health.ClearStatus(HealthName(name));
        };
        lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SearchServer));
            if (!logger.IsEnabled(LogLevel.Information)) return;
            string address = Address(app), keys = settings.EffectiveKeysFile;
            Log.Serving(logger, registry.IndexRoot, address, settings.MaxQueryChars, settings.MaxK, settings.MaxBatchDocuments, settings.MaxMessageBytes,
                settings.MaxConcurrentCalls, settings.MaxQueuedCalls, keys);
        });
        // Collections configured with another encoder than their vectors' start re-embedding in the background (old snapshot serving).
        lifetime.ApplicationStarted.Register(registry.StartConfiguredReembeds);
        lifetime.ApplicationStopped.Register(registry.Dispose);
        lifetime.ApplicationStopped.Register(app.Services.GetRequiredService<GeneratorPool>().Dispose);
        return app;
    }

    static void UseTls(ListenOptions listen, TlsSettings tls)
    {
        var certificate = tls.LoadCertificate();
        var ca = tls.LoadClientCa();
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ClientCertificateMode = tls.ClientCertificates switch
            {
                ClientCertificates.Require => ClientCertificateMode.RequireCertificate,
                ClientCertificates.Allow => ClientCertificateMode.AllowCertificate,
                _ => ClientCertificateMode.NoCertificate,
            },
            // Only the configured CA is trusted for client certificates (not the machine's store).
            ClientCertificateValidation = (cert, _, _) => ca is not null && TlsSettings.ChainsTo(cert, ca),
        });
    }

    /// <summary>API keys from the keys file, and JWT bearer tokens when <see cref="ServiceSettings.Jwt"/> is configured.</summary>
    public static List<IAuthenticator> DefaultAuthenticators(ServiceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        List<IAuthenticator> auth = [new ApiKeyAuthenticator(settings.EffectiveKeysFile)];
        if (settings.Jwt.Enabled) auth.Add(new JwtAuthenticator(settings.Jwt));
        return auth;
    }

    /// <summary>
    /// The metrics of <see cref="TelemetryNames.Meter"/> to the Prometheus exporter when <see cref="ServiceSettings.MetricsPort"/> is
    /// set (this server's instruments only: another server in the same process has its own); the spans of <see cref="TelemetryNames.ActivitySource"/> and <see cref="TelemetryNames.RetrieveActivitySource"/> over
    /// OTLP when <see cref="ServiceSettings.TracingOtlpEndpoint"/> is. Spans are created either way (cheap when nothing listens).
    /// </summary>
    static void AddOpenTelemetry(IServiceCollection services, ServiceSettings settings, TelemetryScope scope)
    {
        if (settings.MetricsPort is null && settings.TracingOtlpEndpoint is not { Length: > 0 }) return;
        var otel = services.AddOpenTelemetry();
        if (settings.MetricsPort is not null) otel.WithMetrics(m => m.AddMeter(TelemetryNames.Meter)
                .AddView(i => ServiceMetrics.IsOwn(i, scope) ? null : MetricStreamConfiguration.Drop)
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        if (settings.TracingOtlpEndpoint is { Length: > 0 } otlp)
            otel.WithTracing(t => t.AddSource(TelemetryNames.ActivitySource, TelemetryNames.RetrieveActivitySource)
                .AddOtlpExporter(o => o.Endpoint = new Uri(otlp)));
    }

    /// <summary>
    /// The address of a started server's metrics listener, e.g. <c>http://127.0.0.1:9464</c> (scrape <c>/metrics</c> there);
    /// <see cref="InvalidOperationException"/> when <see cref="ServiceSettings.MetricsPort"/> is not set.
    /// </summary>
    public static string MetricsAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetRequiredService<ServiceSettings>().MetricsPort is null)
            throw new InvalidOperationException("the server has no metrics listener: set Service:MetricsPort");
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        // Kestrel reports the listeners in the order they were configured: gRPC first, then metrics.
        return addresses?.Skip(1).FirstOrDefault() ?? throw new InvalidOperationException("the server is not listening yet: start it first");
    }

    /// <summary>The address a started server listens on, e.g. <c>http://127.0.0.1:50051</c> (the real port when Port was 0).</summary>
    public static string Address(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        return addresses?.FirstOrDefault() ?? throw new InvalidOperationException("the server is not listening yet: start it first");
    }
}
