using System.Security.Cryptography;
using System.Text;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.V1;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace DeepSeek.Search.Service.Tests;

/// <summary>One collection (the fixture corpus, BM25 + dense) shared by the JWT servers of <see cref="JwtTests"/>.</summary>
public sealed class JwtRoot : IDisposable
{
    public TempDir Tmp { get; } = new("dss-jwt");
    public string Root => Tmp.File("indexes");

    public JwtRoot()
    {
        var encoder = TinyEncoder.Copy(Tmp);
        CollectionBuilder.Build(CollectionStore.At(Root, "docs"), ServerFixture.Corpus(), new BuildOptions { EncoderPath = encoder, ChunkTokens = 16, ChunkOverlap = 4 });
    }

    public void Dispose() => Tmp.Dispose();
}

/// <summary>JWT bearer tokens against real servers (HS256, RS256, ES256): accepted claims become the caller; every bad token is UNAUTHENTICATED without echoing it.</summary>
public sealed class JwtTests(JwtRoot root) : IClassFixture<JwtRoot>
{
    const string Issuer = "https://idp.example.test";
    const string Audience = "dss-search";
    static readonly string Secret = "an HS256 secret of at least thirty-two bytes " + Guid.NewGuid();

    sealed class Server : IAsyncDisposable
    {
        public required WebApplication App { get; init; }
        public required GrpcChannel Channel { get; init; }
        public SearchService.SearchServiceClient Client => new(Channel);

        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    async Task<Server> Start(JwtSettings jwt)
    {
        var app = SearchServer.Build(new ServiceSettings { IndexRoot = root.Root, Port = 0, KeysFile = root.Tmp.File("no-keys.json"), Jwt = jwt });
        await app.StartAsync();
        return new Server { App = app, Channel = GrpcChannel.ForAddress(SearchServer.Address(app)) };
    }

    JwtSettings Hs256()
    {
        string file = root.Tmp.File("jwt-secret.txt");
        File.WriteAllText(file, Secret + "\n");
        return new JwtSettings { Algorithm = "HS256", SecretFile = file, Issuer = Issuer, Audience = Audience };
    }

    static SigningCredentials HsKey(string secret) => new(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256);

    static string Token(SigningCredentials key, string sub = "alice", string[]? groups = null, string[]? rights = null, string issuer = Issuer,
        string audience = Audience, DateTime? expires = null, DateTime? notBefore = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = sub, ["dss_rights"] = rights ?? ["read:docs"] };
        if (groups != null) claims["groups"] = groups;
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer, Audience = audience, Claims = claims, SigningCredentials = key,
            IssuedAt = now, NotBefore = notBefore ?? now.AddMinutes(-1), Expires = expires ?? now.AddMinutes(10),
        });
    }

    static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    static SearchResponse Search(Server s, string token) =>
        s.Client.Search(new SearchRequest { Collection = "docs", Query = "volcano", K = 100, Mode = SearchMode.Bm25 }, Bearer(token));

    static string B64(string json) => Base64UrlEncoder.Encode(json);

    [Fact]
    public async Task A_valid_HS256_token_searches_as_its_sub_and_groups_under_document_ACLs()
    {
        await using var s = await Start(Hs256());
        var alice = Search(s, Token(HsKey(Secret))).Hits.Select(h => h.Id).ToHashSet();
        Assert.Superset(new HashSet<string>(ServerFixture.AliceDocs), alice);
        Assert.Empty(alice.Intersect(ServerFixture.BobDocs));
        var teamB = Search(s, Token(HsKey(Secret), sub: "carol", groups: ["team-b"], rights: ["read:*"])).Hits.Select(h => h.Id).ToHashSet();
        Assert.Contains("b1", teamB);
        Assert.DoesNotContain("b3", teamB); // bob's own, not the group's
        Assert.Empty(teamB.Intersect(ServerFixture.AliceDocs));
    }

    public static TheoryData<string> BadTokens() => ["expired", "not yet valid", "wrong issuer", "wrong audience", "tampered payload", "tampered signature", "alg none", "other key", "garbage"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_tokens_are_unauthenticated_with_a_reason_that_never_echoes_the_token_or_secret(string kind)
    {
        await using var s = await Start(Hs256());
        var now = DateTime.UtcNow;
        string good = Token(HsKey(Secret));
        var parts = good.Split('.');
        (string token, string reason) = kind switch
        {
            "expired" => (Token(HsKey(Secret), expires: now.AddMinutes(-10), notBefore: now.AddMinutes(-20)), "the token expired at"),
            "not yet valid" => (Token(HsKey(Secret), notBefore: now.AddMinutes(30), expires: now.AddMinutes(60)), "not valid before"),
            "wrong issuer" => (Token(HsKey(Secret), issuer: "https://evil.test"), "issuer 'https://evil.test' is not the expected"),
            "wrong audience" => (Token(HsKey(Secret), audience: "someone-else"), "audience is not the expected 'dss-search'"),
            "tampered payload" => ($"{parts[0]}.{B64(Base64UrlEncoder.Decode(parts[1]).Replace("\"alice\"", "\"bob\"", StringComparison.Ordinal))}.{parts[2]}", "signature does not verify"),
            "tampered signature" => ($"{parts[0]}.{parts[1]}.{(parts[2][0] == 'A' ? 'B' : 'A')}{parts[2][1..]}", "signature does not verify"),
            "alg none" => ($"{B64("""{"alg":"none","typ":"JWT"}""")}.{parts[1]}.", "unsigned tokens"),
            "other key" => (Token(HsKey("another secret that is also at least 32 bytes long")), "signature does not verify"),
            _ => ("abc.def.ghi", "not a well-formed JWT"),
        };
        var e = Assert.Throws<RpcException>(() => Search(s, token));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Contains(reason, e.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(token, e.Status.Detail, StringComparison.Ordinal);
        foreach (var p in token.Split('.').Where(p => p.Length > 8)) Assert.DoesNotContain(p, e.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, e.Status.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(Search(s, good).Hits); // the server keeps serving
    }

    [Fact]
    public async Task A_valid_token_without_the_right_is_permission_denied()
    {
        await using var s = await Start(Hs256());
        var e = Assert.Throws<RpcException>(() => Search(s, Token(HsKey(Secret), rights: [])));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        var w = Assert.Throws<RpcException>(() => s.Client.DeleteDocuments(new DeleteDocumentsRequest { Collection = "docs", Ids = { "p1" } }, Bearer(Token(HsKey(Secret), rights: ["read:*"]))));
        Assert.Equal(StatusCode.PermissionDenied, w.StatusCode);
        Assert.Contains("lacks the write right", w.Status.Detail, StringComparison.Ordinal);
        var bad = Assert.Throws<RpcException>(() => Search(s, Token(HsKey(Secret), rights: ["superuser"])));
        Assert.Equal(StatusCode.Unauthenticated, bad.StatusCode);
        Assert.Contains("expected read|write|admin:<collection or *>", bad.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RS256_and_ES256_verify_with_the_public_key_and_refuse_an_HS256_token_forged_with_it()
    {
        using var rsa = RSA.Create(2048);
        string rsaPem = root.Tmp.File("rsa.pub.pem");
        File.WriteAllText(rsaPem, rsa.ExportSubjectPublicKeyInfoPem());
        await using (var s = await Start(new JwtSettings { Algorithm = "RS256", PublicKeyFile = rsaPem, Issuer = Issuer, Audience = Audience }))
        {
            var creds = new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256);
            Assert.NotEmpty(Search(s, Token(creds)).Hits);
            // algorithm confusion: an HMAC token keyed with the public key's text
            var forged = Token(HsKey(File.ReadAllText(rsaPem)));
            var e = Assert.Throws<RpcException>(() => Search(s, forged));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
            Assert.Contains("RS256", e.Status.Detail, StringComparison.Ordinal);
        }

        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string ecPem = root.Tmp.File("ec.pub.pem");
        File.WriteAllText(ecPem, ec.ExportSubjectPublicKeyInfoPem());
        await using (var s = await Start(new JwtSettings { Algorithm = "ES256", PublicKeyFile = ecPem, Issuer = Issuer, Audience = Audience }))
        {
            Assert.NotEmpty(Search(s, Token(new SigningCredentials(new ECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256))).Hits);
            using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var e = Assert.Throws<RpcException>(() => Search(s, Token(new SigningCredentials(new ECDsaSecurityKey(other), SecurityAlgorithms.EcdsaSha256))));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        }
    }

    [Fact]
    public void Bad_JWT_settings_name_the_setting_and_value_at_startup()
    {
        string shortSecret = root.Tmp.File("short.txt");
        File.WriteAllText(shortSecret, "too short");
        string notPem = root.Tmp.File("not.pem");
        File.WriteAllText(notPem, "hello");
        (JwtSettings jwt, string setting, string message)[] cases =
        [
            (new() { Algorithm = "HS512", Secret = Secret, Issuer = Issuer, Audience = Audience }, "Jwt:Algorithm", "got 'HS512'"),
            (new() { Algorithm = "HS256", Secret = Secret, Audience = Audience }, "Jwt:Issuer", "is required"),
            (new() { Algorithm = "HS256", Secret = Secret, Issuer = Issuer }, "Jwt:Audience", "is required"),
            (new() { Algorithm = "HS256", SecretFile = shortSecret, Issuer = Issuer, Audience = Audience }, "Jwt:SecretFile", "holds 9 bytes"),
            (new() { Algorithm = "RS256", PublicKeyFile = root.Tmp.File("missing.pem"), Issuer = Issuer, Audience = Audience }, "Jwt:PublicKeyFile", "does not exist"),
            (new() { Algorithm = "ES256", PublicKeyFile = notPem, Issuer = Issuer, Audience = Audience }, "Jwt:PublicKeyFile", "is not a PEM ES256 public key"),
        ];
        foreach (var (jwt, setting, message) in cases)
        {
            var e = Assert.Throws<InvalidInputException>(() => SearchServer.Build(new ServiceSettings { IndexRoot = root.Root, Port = 0, Jwt = jwt }));
            Assert.Equal(setting, e.Setting);
            Assert.Contains(message, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
        }
    }
}
