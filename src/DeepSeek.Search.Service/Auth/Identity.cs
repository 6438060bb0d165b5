using DeepSeek.Search.Core.Filtering;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// Who is calling, as an authenticator established it: the caller searches run as (principal + groups) and the rights
/// per collection (<c>*</c>: every collection). <see cref="KeyId"/> names the credential in logs, never the secret.
/// </summary>
public sealed record Identity(string KeyId, Caller Caller, IReadOnlyDictionary<string, AccessRight> Rights)
{
    /// <summary>The strongest right this identity has on <paramref name="collection"/> (its own entry or <c>*</c>), or null.</summary>
    public AccessRight? RightOn(string collection)
    {
        AccessRight? best = null;
        if (Rights.TryGetValue(collection, out var r)) best = r;
        if (Rights.TryGetValue(ApiKeyEntry.AllCollections, out var all) && (best is null || all > best)) best = all;
        return best;
    }

    /// <summary>Whether this identity has at least <paramref name="needed"/> on <paramref name="collection"/>.</summary>
    public bool Has(string collection, AccessRight needed) => RightOn(collection) is { } r && r >= needed;
}
