using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using DeepSeek.Search.Core.Filtering;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// JWT bearer tokens in <c>authorization: Bearer &lt;token&gt;</c>, validated as <see cref="JwtSettings"/> says (one
/// algorithm, signature, iss, aud, exp, nbf). A value that is not shaped like a JWT (three dot-separated parts) is left
/// to the other authenticators. A rejected token gets a reason — expired at, not valid before, wrong issuer, wrong
/// audience, bad signature, algorithm not accepted — that never contains the token or the key.
/// </summary>
public sealed class JwtAuthenticator : IAuthenticator
{
    readonly JwtSettings _settings;
    readonly TokenValidationParameters _parameters;
    readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public JwtAuthenticator(JwtSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (!settings.Enabled) throw JwtSettings.Bad("Algorithm", "is empty: JWT is off");
        _settings = settings;
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = settings.Issuer,
            ValidAudience = settings.Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = TimeSpan.FromSeconds(settings.ClockSkewSeconds),
            ValidAlgorithms = [settings.Algorithm!],
            IssuerSigningKey = LoadKey(settings),
            TryAllIssuerSigningKeys = true,   // the one configured key, whether or not the token names a kid
        };
    }

    static SecurityKey LoadKey(JwtSettings s)
    {
        if (s.Algorithm == "HS256")
        {
            byte[] secret;
            if (!string.IsNullOrEmpty(s.SecretFile))
            {
                if (!File.Exists(s.SecretFile)) throw JwtSettings.Bad("SecretFile", $"'{s.SecretFile}' does not exist");
                secret = Encoding.UTF8.GetBytes(File.ReadAllText(s.SecretFile).TrimEnd('\r', '\n'));
            }
            else secret = Encoding.UTF8.GetBytes(s.Secret!);
            if (secret.Length < 32) throw JwtSettings.Bad(string.IsNullOrEmpty(s.SecretFile) ? "Secret" : "SecretFile", $"holds {secret.Length} bytes; HS256 needs at least 32");
            return new SymmetricSecurityKey(secret);
        }
        if (!File.Exists(s.PublicKeyFile)) throw JwtSettings.Bad("PublicKeyFile", $"'{s.PublicKeyFile}' does not exist");
        string pem = File.ReadAllText(s.PublicKeyFile);
        try
        {
            if (s.Algorithm == "RS256")
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(pem);
                if (rsa.KeySize < 2048) throw JwtSettings.Bad("PublicKeyFile", $"'{s.PublicKeyFile}' holds a {rsa.KeySize}-bit RSA key; RS256 needs at least 2048 bits");
                return new RsaSecurityKey(rsa);
            }
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            if (ec.KeySize != 256) throw JwtSettings.Bad("PublicKeyFile", $"'{s.PublicKeyFile}' holds a {ec.KeySize}-bit EC key; ES256 needs P-256");
            return new ECDsaSecurityKey(ec);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw JwtSettings.Bad("PublicKeyFile", $"'{s.PublicKeyFile}' is not a PEM {s.Algorithm} public key ({e.GetType().Name})");
        }
    }

    /// <summary>Whether <paramref name="value"/> is shaped like a compact JWS: three base64url parts (the signature may be empty: an unsigned token, refused).</summary>
    public static bool LooksLikeJwt(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = value.Split('.');
        return parts.Length == 3 && parts[0].Length > 0 && parts[1].Length > 0
               && parts.All(p => p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
    }

    public AuthResult Authenticate(Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        const string bearer = "Bearer ";
        if (headers.GetValue("authorization") is not { } auth || !auth.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return AuthResult.NotPresented;
        string token = auth[bearer.Length..].Trim();
        if (!LooksLikeJwt(token)) return AuthResult.NotPresented;
        if (token.EndsWith('.')) return AuthResult.Rejected("unsigned tokens (alg 'none') are not accepted");

        TokenValidationResult result;
        try { result = _handler.ValidateTokenAsync(token, _parameters).GetAwaiter().GetResult(); }
        catch (ArgumentException) { return AuthResult.Rejected("the bearer token is not a well-formed JWT"); }
        if (!result.IsValid) return AuthResult.Rejected(Reason(result.Exception));
        var claims = result.ClaimsIdentity.Claims.ToList();
        string? sub = claims.FirstOrDefault(c => c.Type == "sub")?.Value;
        if (string.IsNullOrWhiteSpace(sub)) return AuthResult.Rejected("the token has no 'sub' claim (the principal)");
        var groups = claims.Where(c => c.Type == _settings.GroupsClaim).Select(c => c.Value).Where(g => g.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var rights = new Dictionary<string, AccessRight>(StringComparer.Ordinal);
        foreach (var c in claims.Where(c => c.Type == _settings.RightsClaim))
        {
            if (ParseRight(c.Value) is not { } r)
                return AuthResult.Rejected($"claim '{_settings.RightsClaim}' holds '{Shorten(c.Value)}'; expected read|write|admin:<collection or *>");
            if (!rights.TryGetValue(r.Collection, out var had) || r.Right > had) rights[r.Collection] = r.Right;
        }
        string jti = claims.FirstOrDefault(c => c.Type == "jti")?.Value ?? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sub)))[..12];
        return AuthResult.Accepted(new Identity("jwt:" + Shorten(jti), new Caller(sub, groups), rights));
    }

    static (string Collection, AccessRight Right)? ParseRight(string value)
    {
        int colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1) return null;
        AccessRight? right = value[..colon] switch { "read" => AccessRight.Read, "write" => AccessRight.Write, "admin" => AccessRight.Admin, _ => null };
        return right is { } r ? (value[(colon + 1)..], r) : null;
    }

    static string Shorten(string s) => s.Length <= 64 ? s : s[..64] + "…";

    string Reason(Exception? e) => e switch
    {
        SecurityTokenExpiredException x => $"the token expired at {x.Expires:u}",
        SecurityTokenNotYetValidException x => $"the token is not valid before {x.NotBefore:u}",
        SecurityTokenNoExpirationException => "the token has no 'exp' claim",
        SecurityTokenInvalidIssuerException x => $"the token's issuer '{Shorten(x.InvalidIssuer ?? "")}' is not the expected '{_settings.Issuer}'",
        SecurityTokenInvalidAudienceException => $"the token's audience is not the expected '{_settings.Audience}'",
        SecurityTokenInvalidAlgorithmException => $"the token's signing algorithm is not accepted (this server accepts {_settings.Algorithm} only)",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => $"the token's signature does not verify with the configured {_settings.Algorithm} key",
        SecurityTokenMalformedException or ArgumentException => "the bearer token is not a well-formed JWT",
        _ => $"the token is not valid ({e?.GetType().Name})",
    };
}
