using DeepSeek.Search.Core;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.TestKit;
using Grpc.Core;

namespace DeepSeek.Search.Service.Tests;

public sealed class ApiKeyFileTests
{
    [Fact]
    public void A_key_is_stored_only_as_a_salted_hash_and_revoking_it_stops_it()
    {
        using var tmp = new TempDir("dss-keys");
        var file = ApiKeyFile.Load(tmp.File("keys.json"));
        var (entry, key) = file.Add("alice", ["g1", "g1"], AccessRight.Write, ["docs"]);
        Assert.StartsWith("dss_", key, StringComparison.Ordinal);
        Assert.Equal(47, key.Length);                          // dss_ + 43 base64url characters of 32 bytes
        var text = File.ReadAllText(file.Path);
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key[4..], text, StringComparison.Ordinal);
        Assert.Contains("\"write\"", text, StringComparison.Ordinal);
        Assert.Equal(["g1"], entry.Groups);

        var auth = new ApiKeyAuthenticator(file.Path);
        var ok = auth.Authenticate(new Metadata { { "authorization", "Bearer " + key } });
        Assert.Equal("alice", ok.Identity!.Caller.Principal);
        Assert.True(ok.Identity.Has("docs", AccessRight.Read));
        Assert.False(ok.Identity.Has("docs", AccessRight.Admin));
        Assert.False(ok.Identity.Has("other", AccessRight.Read));
        Assert.Null(auth.Authenticate(new Metadata { { "authorization", "Bearer " + key[..^1] + (key[^1] == 'A' ? 'B' : 'A') } }).Identity);
        Assert.Same(AuthResult.NotPresented, auth.Authenticate(new Metadata()));

        ApiKeyFile.Load(file.Path).Revoke(entry.Id);
        Assert.Null(auth.Authenticate(new Metadata { { "x-api-key", key } }).Identity);
        Assert.Throws<InvalidInputException>(() => ApiKeyFile.Load(file.Path).Revoke(entry.Id));
    }

    [Fact]
    public void Bad_principals_rights_and_collections_are_rejected()
    {
        using var tmp = new TempDir("dss-keys");
        var file = ApiKeyFile.Load(tmp.File("keys.json"));
        Assert.Throws<InvalidInputException>(() => file.Add("", [], AccessRight.Read, []));
        Assert.Throws<InvalidInputException>(() => file.Add("p", [""], AccessRight.Read, []));
        Assert.Throws<InvalidInputException>(() => file.Add("p", [], AccessRight.Read, ["bad/name"]));
        Assert.Empty(ApiKeyFile.Load(file.Path).Keys);
    }
}
