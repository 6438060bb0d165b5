using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace DeepSeek.Search.Service.Tests;

/// <summary>
/// A FAKE of the Dapr sidecar's gRPC service-invocation proxy (no Dapr runtime can be installed here): a Kestrel h2c
/// listener on 127.0.0.1 that takes any gRPC call, reads the <c>dapr-app-id</c> metadata the Dapr API defines for proxied
/// gRPC calls, records (app id, method path, whether a credential came along), and forwards the call byte for byte —
/// headers, body, status and trailers — to the app registered under that id. An unknown or missing app id is answered
/// as daprd does not: with gRPC status UNAVAILABLE naming it, so a test sees the mistake.
/// </summary>
sealed class FakeDaprGrpcProxy : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly HttpClient _http = new(new SocketsHttpHandler());

    public ConcurrentQueue<(string AppId, string Path, bool HadCredential)> Calls { get; } = new();

    FakeDaprGrpcProxy(IReadOnlyDictionary<string, string> apps)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        _app.Run(async context =>
        {
            string appId = context.Request.Headers["dapr-app-id"].ToString();
            Calls.Enqueue((appId, context.Request.Path, context.Request.Headers.ContainsKey("authorization") || context.Request.Headers.ContainsKey("x-api-key")));
            if (!apps.TryGetValue(appId, out var target))
            {
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "14";
                context.Response.Headers["grpc-message"] = Uri.EscapeDataString($"fake sidecar: no app '{appId}'");
                return;
            }
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            using var request = new HttpRequestMessage(HttpMethod.Post, target + context.Request.Path) 
            {
                Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = new ByteArrayContent(body.ToArray()),
            };
            foreach (var (name, values) in context.Request.Headers)
            {
                if (name.StartsWith(':') || name is "Host" or "host" or "Content-Length" or "content-length") continue;
                if (name.Equals("content-type", StringComparison.OrdinalIgnoreCase)) request.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
                else request.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers) context.Response.Headers[name] = values.ToArray();
            foreach (var (name, values) in response.Content.Headers)
                if (!name.Equals("content-length", StringComparison.OrdinalIgnoreCase)) context.Response.Headers[name] = values.ToArray();
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
            foreach (var (name, values) in response.TrailingHeaders) context.Response.AppendTrailer(name, values.ToArray());
        });
    }

    /// <summary>The proxy's address, e.g. <c>http://127.0.0.1:43117</c> (what DAPR_GRPC_ENDPOINT would say).</summary>
    public string Address => _app.Urls.First();

    public static async Task<FakeDaprGrpcProxy> StartAsync(IReadOnlyDictionary<string, string> apps)
    {
        var proxy = new FakeDaprGrpcProxy(apps);
        await proxy._app.StartAsync();
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
