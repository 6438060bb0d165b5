using Grpc.Core;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// API keys from <c>authorization: Bearer &lt;key&gt;</c> or <c>x-api-key: &lt;key&gt;</c>, checked against the keys file.
/// The file is re-read when it changes on disk, so <c>dss keys add</c> and <c>dss keys revoke</c> apply without a restart.
/// </summary>
public sealed class ApiKeyAuthenticator : IAuthenticator
{
    readonly WatchedFile<ApiKeyFile> _file;

    public ApiKeyAuthenticator(string keysFile) => _file = new WatchedFile<ApiKeyFile>(keysFile, ApiKeyFile.Load);

    public AuthResult Authenticate(Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        string? key = null;
        if (headers.GetValue("authorization") is { } auth)
        {
            const string bearer = "Bearer ";
            if (!auth.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return AuthResult.NotPresented;
            key = auth[bearer.Length..].Trim();
            if (JwtAuthenticator.LooksLikeJwt(key)) return AuthResult.NotPresented;   // a JWT: JwtAuthenticator's
        }
        key ??= headers.GetValue("x-api-key")?.Trim();
        if (key is null) return AuthResult.NotPresented;
        if (!key.StartsWith(ApiKeyFile.KeyPrefix, StringComparison.Ordinal)) return AuthResult.Rejected("the API key is not a dss key");
        var entry = _file.Current().Find(key);
        if (entry is null) return AuthResult.Rejected("unknown or revoked API key");
        return AuthResult.Accepted(new Identity(entry.Id, new Core.Filtering.Caller(entry.Principal, entry.Groups), entry.Rights));
    }
}
