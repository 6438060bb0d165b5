using DeepSeek.Search.Service.Auth;
using Grpc.Core;

namespace DeepSeek.Search.Service.Front;

/// <summary>
/// The query front's authenticator: it does not judge a credential, it checks one is present and lets the call through,
/// and the front forwards it unchanged to every shard (<see cref="ShardSet"/>), where the keys, rights and document ACLs
/// are enforced. The front never calls a shard with a credential of its own, so it can show nobody more than their own
/// credential shows them. A call without any credential is UNAUTHENTICATED at the front already.
/// </summary>
sealed class ForwardedCredential : IAuthenticator
{
    /// <summary>The metadata a caller's credential travels in (API key or JWT).</summary>
    public static readonly string[] Headers = ["authorization", "x-api-key"];

    static readonly Identity Forwarded = new("(forwarded)", new Core.Filtering.Caller("(forwarded)", []), new Dictionary<string, AccessRight>());

    public AuthResult Authenticate(Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        foreach (var name in Headers)
            if (headers.GetValue(name) is { Length: > 0 }) return AuthResult.Accepted(Forwarded);
        return AuthResult.NotPresented;
    }
}
