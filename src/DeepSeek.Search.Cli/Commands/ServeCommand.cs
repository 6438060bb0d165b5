using System.CommandLine;
using System.Runtime.InteropServices;
using DeepSeek.Search.Service;
using Microsoft.AspNetCore.Builder;

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
        var settingArgs = new Argument<string[]>("settings") { Description = "Further settings as --Service:Name=value (e.g. --Service:MaxK=500)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("serve", "Serve the collections over gRPC (SearchService, grpc.health.v1, reflection) until Ctrl-C / SIGTERM; every call needs an API key.")
        { root, port, address, keys, device, settingArgs };
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
            settings.Validate();
            return Run(settings).GetAwaiter().GetResult();
        });
        return cmd;
    }

    static async Task<int> Run(ServiceSettings settings)
    {
        if (!File.Exists(settings.EffectiveKeysFile))
            Console.Error.WriteLine($"dss: warning: no keys file at {settings.EffectiveKeysFile}: every call will be refused until `dss keys add` makes one");
        var app = SearchServer.Build(settings);
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
            Console.WriteLine($"dss: serving {Path.GetFullPath(settings.IndexRoot)} on {SearchServer.Address(app)} (keys: {settings.EffectiveKeysFile})");
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
