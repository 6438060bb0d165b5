using System.CommandLine;
using System.Runtime.InteropServices;
using DeepSeek.Search.Service;
using DeepSeek.Search.Service.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss serve`: the gRPC query service (DeepSeek.Search.Service) until Ctrl-C or SIGTERM. Settings come from appsettings.json
/// in the current folder, DSS_Service__* variables and --Service:Name=value arguments (ServiceSettings.Load); the flags
/// below override them.
/// </summary>
static class ServeCommand
{
    public static Command Create()
    {
        var root = new Option<string?>("--index-root") { Description = $"Folder holding the collections [default: setting Service:IndexRoot, else ${CommonOptions.IndexRootVariable}, else ./indexes]" };
        var port = new Option<int?>("--port", "-p") { Description = "TCP port; 0 picks a free one [default: setting Service:Port, else 50051]" };
        var address = new Option<string?>("--address") { Description = "IP address to listen on (plain HTTP/2, no TLS yet) [default: 127.0.0.1]" };
        var keys = new Option<string?>("--keys") { Description = "API keys file (dss keys add) [default: $DSS_HOME/keys.json, else ~/.config/dss/keys.json]" };
        var device = CommonOptions.Device("the encoder of dense searches and upserts");
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics on http://<Service:MetricsAddress>:PORT/metrics; 0 picks a free one [default: setting Service:MetricsPort, else off]" };
        var logFormat = new Option<string>("--log-format") { Description = "Log lines on stderr as text (one line each) or json", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var noCallLog = new Option<bool>("--no-call-log") { Description = "Leave out the one line per call (method, collection, status, duration, principal hash); warnings and errors are still logged" };
        var shards = new Option<string?>("--shards")
        {
            Description = "Serve as the query front of a sharded collection: the shard servers in shard order, comma-separated "
                + "(http://host:port, or dapr:APP_ID through the Dapr sidecar), e.g. as `dss shard split` laid them out; "
                + "searches fan out and merge with collection-wide BM25 statistics, writes go to the owning shard, credentials are "
                + "forwarded and checked by the shards [default: setting Service:Front:Shards, else off]",
        };
        var settingArgs = new Argument<string[]>("settings") { Description = "Further settings as --Service:Name=value (e.g. --Service:MaxK=500)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("serve", "Serve the collections over gRPC (SearchService, grpc.health.v1, reflection) until Ctrl-C / SIGTERM; every call needs an API key.")
        { root, port, address, keys, device, metricsPort, shards, logFormat, noCallLog, settingArgs };
        cmd.TreatUnmatchedTokensAsErrors = false;
        cmd.SetAction(pr =>
        {
            var extra = (pr.GetValue(settingArgs) ?? []).Concat(pr.UnmatchedTokens).ToArray();
            var settings = ServiceSettings.Load(Directory.GetCurrentDirectory(), extra);
            if (pr.GetValue(root) is { } r) settings = settings with { IndexRoot = r };
            else if (settings.IndexRoot == new ServiceSettings().IndexRoot && Environment.GetEnvironmentVariable(CommonOptions.IndexRootVariable) is { Length: > 0 } env)
                settings = settings with { IndexRoot = env };
            if (pr.GetValue(port) is { } p) settings = settings with { Port = p };
            if (pr.GetValue(address) is { } a) settings = settings with { Address = a };
            if (pr.GetValue(keys) is { } k) settings = settings with { KeysFile = k };
            if (pr.GetResult(device) is { Implicit: false }) settings = settings with { Device = pr.GetValue(device)! };
            if (pr.GetValue(metricsPort) is { } mp) settings = settings with { MetricsPort = mp };
            if (pr.GetValue(shards) is { } sh)
                settings = settings with { Front = settings.Front with { Shards = [.. sh.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] } };
            settings.Validate();
            return Run(settings, Logging(pr.GetValue(logFormat) == "json", !pr.GetValue(noCallLog))).GetAwaiter().GetResult();
        });
        return cmd;
    }

    /// <summary>Console logging on stderr, text or JSON: warnings and errors, and (unless turned off) the call log at Information.</summary>
    static Action<ILoggingBuilder> Logging(bool json, bool calls) => l =>
    {
        if (json) l.AddJsonConsole(o => { o.UseUtcTimestamp = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; });
        else l.AddSimpleConsole(o => { o.SingleLine = true; o.UseUtcTimestamp = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; });
        l.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        l.SetMinimumLevel(LogLevel.Warning);
        if (calls) l.AddFilter(TelemetryNames.CallLogCategory, LogLevel.Information);
    };

    static async Task<int> Run(ServiceSettings settings, Action<ILoggingBuilder> logging)
    {
        if (!settings.Front.Enabled && !File.Exists(settings.EffectiveKeysFile))
            Console.Error.WriteLine($"dss: warning: no keys file at {settings.EffectiveKeysFile}: every call will be refused until `dss keys add` makes one");
        var app = SearchServer.Build(settings, logging: logging);
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        Console.CancelKeyPress += onCancel;
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        try
        {
            await app.StartAsync().ConfigureAwait(false);
            if (settings.Front.Enabled)
                Console.WriteLine($"dss: query front of {settings.Front.Shards.Count} shards ({string.Join(", ", settings.Front.Shards)}) on {SearchServer.Address(app)}");
            else Console.WriteLine($"dss: serving {Path.GetFullPath(settings.IndexRoot)} on {SearchServer.Address(app)} (keys: {settings.EffectiveKeysFile})");
            if (settings.MetricsPort is not null) Console.WriteLine($"dss: metrics on {SearchServer.MetricsAddress(app)}{TelemetryNames.MetricsPath}");
            if (app.Services.GetService(typeof(Jobs.DaprApp)) is Jobs.DaprApp dapr)
                Console.WriteLine($"dss: dapr app listener on {dapr.Address} (cron binding /{dapr.Settings.CronBinding}, {dapr.Settings.Reindex.Length} re-index jobs; subscribed to {dapr.Settings.PubSub}/{dapr.Settings.ChangedTopic})");
            Console.Out.Flush();
            await stop.Task.ConfigureAwait(false);
            Console.Error.WriteLine("dss: stopping");
            await app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            await app.DisposeAsync().ConfigureAwait(false);
        }
        return CliRunner.ExitOk;
    }
}
