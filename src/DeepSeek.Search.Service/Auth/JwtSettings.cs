using DeepSeek.Search.Core;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// JWT bearer tokens (section <c>Service:Jwt</c>); off while <see cref="Algorithm"/> is empty. Exactly one algorithm is
/// accepted: <c>HS256</c> with a shared secret (<see cref="SecretFile"/>, or <see cref="Secret"/> from the environment
/// variable <c>DSS_Service__Jwt__Secret</c> — not appsettings.json), or <c>RS256</c> / <c>ES256</c> (P-256) with the
/// issuer's public key in a PEM file (<see cref="PublicKeyFile"/>). <c>iss</c> and <c>aud</c> must equal
/// <see cref="Issuer"/> and <see cref="Audience"/>; <c>exp</c> is required and <c>nbf</c> honoured, with
/// <see cref="ClockSkewSeconds"/> of tolerance. <c>sub</c> is the principal, the claim <see cref="GroupsClaim"/> (a string
/// or an array) its groups, the claim <see cref="RightsClaim"/> its rights: strings <c>right:collection</c>, e.g.
/// <c>["read:docs", "admin:*"]</c>.
/// </summary>
public sealed record JwtSettings
{
    /// <summary>HS256, RS256 or ES256; empty: JWT off.</summary>
    public string? Algorithm { get; init; }
    /// <summary>A file holding the HS256 secret (its bytes, trailing newline removed; at least 32 bytes).</summary>
    public string? SecretFile { get; init; }
    /// <summary>The HS256 secret itself (set it through the environment; SecretFile wins when both are set).</summary>
    public string? Secret { get; init; }
    /// <summary>A PEM file with the RS256 or ES256 public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY").</summary>
    public string? PublicKeyFile { get; init; }
    /// <summary>The required <c>iss</c>.</summary>
    public string? Issuer { get; init; }
    /// <summary>The required <c>aud</c> (one of the token's audiences).</summary>
    public string? Audience { get; init; }
    /// <summary>The claim holding the caller's groups.</summary>
    public string GroupsClaim { get; init; } = "groups";
    /// <summary>The claim holding the caller's rights (<c>read|write|admin:collection-or-*</c>).</summary>
    public string RightsClaim { get; init; } = "dss_rights";
    /// <summary>Tolerance on exp and nbf, in seconds (0 to 600).</summary>
    public int ClockSkewSeconds { get; init; } = 30;

    /// <summary>Whether JWT authentication is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Algorithm);

    /// <summary>The algorithms accepted in <see cref="Algorithm"/>.</summary>
    public static IReadOnlyList<string> Algorithms { get; } = ["HS256", "RS256", "ES256"];

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad setting (files are checked when the authenticator loads them).</summary>
    public void Validate()
    {
        if (!Enabled) return;
        if (!Algorithms.Contains(Algorithm))
            throw Bad("Algorithm", $"must be one of {string.Join(", ", Algorithms)}, got '{Algorithm}'");
        if (string.IsNullOrWhiteSpace(Issuer)) throw Bad("Issuer", "is required when JWT is on (the exact iss tokens must carry)");
        if (string.IsNullOrWhiteSpace(Audience)) throw Bad("Audience", "is required when JWT is on (the aud tokens must carry)");
        if (Algorithm == "HS256" && string.IsNullOrEmpty(SecretFile) && string.IsNullOrEmpty(Secret))
            throw Bad("SecretFile", "is required for HS256 (or set DSS_Service__Jwt__Secret)");
        if (Algorithm != "HS256" && string.IsNullOrEmpty(PublicKeyFile))
            throw Bad("PublicKeyFile", $"is required for {Algorithm} (a PEM public key)");
        if (ClockSkewSeconds is < 0 or > 600) throw Bad("ClockSkewSeconds", $"must be between 0 and 600, got {ClockSkewSeconds}");
        if (string.IsNullOrWhiteSpace(GroupsClaim)) throw Bad("GroupsClaim", "is empty");
        if (string.IsNullOrWhiteSpace(RightsClaim)) throw Bad("RightsClaim", "is empty");
    }

    internal static InvalidInputException Bad(string name, string problem) =>
        new($"setting Jwt:{name} {problem}") { Setting = "Jwt:" + name };
}
