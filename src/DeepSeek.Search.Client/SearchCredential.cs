namespace DeepSeek.Search.Client;

/// <summary>
/// What a <see cref="SearchClient"/> sends with every call: an API key (<c>x-api-key</c>) or a bearer token
/// (<c>authorization: Bearer</c>). <see cref="ToString"/> never shows the secret.
/// </summary>
public sealed class SearchCredential
{
    SearchCredential(string header, string value) { Header = header; Value = value; }

    /// <summary>The metadata key the secret travels in.</summary>
    internal string Header { get; }

    /// <summary>The metadata value.</summary>
    internal string Value { get; }

    /// <summary>An API key made by <c>dss keys add</c>.</summary>
    public static SearchCredential ApiKey(string key) => new("x-api-key", Check(key, nameof(key)));

    /// <summary>A bearer token (e.g. a JWT), sent as <c>authorization: Bearer token</c>.</summary>
    public static SearchCredential BearerToken(string token) => new("authorization", "Bearer " + Check(token, nameof(token)));

    static string Check(string secret, string name)
    {
        ArgumentNullException.ThrowIfNull(secret, name);
        if (secret.Length == 0 || secret.Any(char.IsWhiteSpace))
            throw new ArgumentException("a credential must be non-empty and contain no whitespace", name);
        return secret;
    }

    /// <inheritdoc/>
    public override string ToString() => Header == "x-api-key" ? "API key (hidden)" : "bearer token (hidden)";
}
