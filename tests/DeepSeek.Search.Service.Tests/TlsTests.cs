using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeepSeek.Search.Core;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeepSeek.Search.Service.Tests;

/// <summary>TLS and client certificates by configuration, against real servers with certificates made for the test.</summary>
public sealed class TlsTests(JwtRoot root) : IClassFixture<JwtRoot>
{
    static X509Certificate2 Ca(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    static X509Certificate2 Issue(X509Certificate2 ca, string name, bool server)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            san.AddDnsName("localhost");
            req.CertificateExtensions.Add(san.Build());
        }
        using var signed = req.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), Guid.NewGuid().ToByteArray()[..8]);
        return signed.CopyWithPrivateKey(key);
    }

    (string Cert, string Key) WritePem(X509Certificate2 cert, string name)
    {
        string c = root.Tmp.File(name + ".crt"), k = root.Tmp.File(name + ".key");
        File.WriteAllText(c, cert.ExportCertificatePem());
        File.WriteAllText(k, cert.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (c, k);
    }

    static GrpcChannel Channel(string address, X509Certificate2 trustedCa, X509Certificate2? clientCert = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && TlsSettings.ChainsTo(new X509Certificate2(cert), trustedCa);
        if (clientCert != null) handler.SslOptions.ClientCertificates = new X509CertificateCollection { clientCert };
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
    }

    async Task<(Microsoft.AspNetCore.Builder.WebApplication App, string Address, string Key)> Start(TlsSettings tls)
    {
        string keys = root.Tmp.File($"keys-{Guid.NewGuid():N}.json");
        string key = ApiKeyFile.Load(keys).Add("alice", [], AccessRight.Read, []).Key;
        var app = SearchServer.Build(new ServiceSettings { IndexRoot = root.Root, Port = 0, KeysFile = keys, Tls = tls });
        await app.StartAsync();
        return (app, SearchServer.Address(app), key);
    }

    static SearchResponse Search(GrpcChannel channel, string key) =>
        new SearchService.SearchServiceClient(channel).Search(new SearchRequest { Collection = "docs", Query = "volcano", K = 3, Mode = SearchMode.Bm25 },
            new Metadata { { "authorization", "Bearer " + key } }, deadline: DateTime.UtcNow.AddSeconds(20));

    [Fact]
    public async Task A_TLS_server_serves_clients_that_trust_its_certificate_and_refuses_plaintext()
    {
        using var ca = Ca("test server CA");
        using var serverCert = Issue(ca, "localhost", server: true);
        var (cert, key) = WritePem(serverCert, "server");
        var (app, address, apiKey) = await Start(new TlsSettings { CertificateFile = cert, KeyFile = key });
        try
        {
            Assert.StartsWith("https://", address, StringComparison.Ordinal);
            using (var channel = Channel(address, ca)) Assert.NotEmpty(Search(channel, apiKey).Hits);
            using (var plain = GrpcChannel.ForAddress(address.Replace("https://", "http://", StringComparison.Ordinal)))
                Assert.Throws<RpcException>(() => Search(plain, apiKey));
            using var otherCa = Ca("someone else");
            using (var distrustful = Channel(address, otherCa))
                Assert.Throws<RpcException>(() => Search(distrustful, apiKey)); // the client refuses the handshake
        }
        finally { await app.StopAsync(); await app.DisposeAsync(); }
    }

    [Fact]
    public async Task Required_client_certificates_must_chain_to_the_configured_CA()
    {
        using var ca = Ca("test CA");
        using var serverCert = Issue(ca, "localhost", server: true);
        var (cert, key) = WritePem(serverCert, "server-mtls");
        string caFile = root.Tmp.File("client-ca.crt");
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        var (app, address, apiKey) = await Start(new TlsSettings { CertificateFile = cert, KeyFile = key, ClientCertificates = ClientCertificates.Require, ClientCaFile = caFile });
        try
        {
            using var good = Issue(ca, "payments-service", server: false);
            using (var channel = Channel(address, ca, good)) Assert.NotEmpty(Search(channel, apiKey).Hits);
            using (var none = Channel(address, ca)) Assert.Throws<RpcException>(() => Search(none, apiKey));
            using var rogueCa = Ca("rogue CA");
            using var rogue = Issue(rogueCa, "payments-service", server: false);
            using (var channel = Channel(address, ca, rogue)) Assert.Throws<RpcException>(() => Search(channel, apiKey));
        }
        finally { await app.StopAsync(); await app.DisposeAsync(); }
    }

    [Fact]
    public void Bad_TLS_settings_name_the_setting()
    {
        (TlsSettings tls, string setting, string message)[] cases =
        [
            (new() { CertificateFile = root.Tmp.File("nope.crt"), KeyFile = "x" }, "Tls:CertificateFile", "does not exist"),
            (new() { CertificateFile = root.Tmp.File("nope.pfx") }, "Tls:CertificateFile", "does not exist"),
            (new() { ClientCertificates = ClientCertificates.Require }, "Tls:ClientCertificates", "need TLS"),
        ];
        foreach (var (tls, setting, message) in cases)
        {
            var e = Assert.Throws<InvalidInputException>(() => new ServiceSettings { IndexRoot = root.Root, Tls = tls }.Validate());
            Assert.Equal(setting, e.Setting);
            Assert.Contains(message, e.Message, StringComparison.Ordinal);
        }
        string junk = root.Tmp.File("junk.crt");
        File.WriteAllText(junk, "not a certificate");
        var bad = Assert.Throws<InvalidInputException>(() => new TlsSettings { CertificateFile = junk, KeyFile = junk }.LoadCertificate());
        Assert.Equal("Tls:CertificateFile", bad.Setting);
    }
}
