using Grpc.Core;

namespace DeepSeek.Search.Service.Auth;

/// <summary>
/// One way of establishing who is calling from a call's metadata (API keys now; JWT later). The server asks each
/// registered authenticator in turn.
/// </summary>
public interface IAuthenticator
{
    /// <summary>
    /// <see cref="AuthResult.NotPresented"/> when the metadata carries no credential of this kind; otherwise the identity,
    /// or <see cref="AuthResult.Rejected"/> with a reason that never repeats the credential.
    /// </summary>
    AuthResult Authenticate(Metadata headers);
}

/// <summary>The outcome of one authenticator.</summary>
public sealed record AuthResult(Identity? Identity, string? Problem)
{
    /// <summary>No credential of the authenticator's kind.</summary>
    public static AuthResult NotPresented { get; } = new(null, null);

    /// <summary>A credential that is not valid; <paramref name="problem"/> must not contain it.</summary>
    public static AuthResult Rejected(string problem) => new(null, problem);

    /// <summary>An accepted credential.</summary>
    public static AuthResult Accepted(Identity identity) => new(identity, null);
}
