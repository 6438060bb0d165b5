using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Service;

/// <summary>How a server asks for client certificates.</summary>
public enum ClientCertificates
{
    /// <summary>Not asked for.</summary>
    None,
    /// <summary>Asked for; a call without one is still served (its API key or token decides), one that does not chain to <see cref="TlsSettings.ClientCaFile"/> is refused.</summary>
    Allow,
    /// <summary>Required: a connection without a certificate chaining to <see cref="TlsSettings.ClientCaFile"/> is refused.</summary>
    Require,
}

/// <summary>
/// TLS for the gRPC listener (section <c>Service:Tls</c>); off while <see cref="CertificateFile"/> is empty (then h2c).
/// The certificate is a PEM file with <see cref="KeyFile"/> (PEM private key), or a PKCS#12 file (<c>.pfx</c> / <c>.p12</c>)
/// with <see cref="Password"/>. Client certificates (<see cref="ClientCertificates"/>) must chain to the CA certificate in
/// <see cref="ClientCaFile"/> (that CA alone is trusted for them); they authenticate the connection, while every call still
/// needs an API key or a token for its principal and rights.
/// </summary>
public sealed record TlsSettings
{
    /// <summary>The server certificate (PEM or PKCS#12).</summary>
    public string? CertificateFile { get; init; }
    /// <summary>The PEM private key of a PEM certificate.</summary>
    public string? KeyFile { get; init; }
    /// <summary>The password of a PKCS#12 file (set it through the environment: <c>DSS_Service__Tls__Password</c>).</summary>
    public string? Password { get; init; }
    /// <summary>Whether client certificates are asked for.</summary>
    public ClientCertificates ClientCertificates { get; init; } = ClientCertificates.None;
    /// <summary>The PEM CA certificate client certificates must chain to (required unless <see cref="ClientCertificates"/> is None).</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>Whether TLS is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificateFile);

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!Enabled)
        {
            if (ClientCertificates != ClientCertificates.None) throw Bad("ClientCertificates", $"is {ClientCertificates} but Tls:CertificateFile is empty (client certificates need TLS)");
            return;
        }
        if (!File.Exists(CertificateFile)) throw Bad("CertificateFile", $"'{CertificateFile}' does not exist");
        if (!IsPkcs12 && string.IsNullOrEmpty(KeyFile)) throw Bad("KeyFile", "is required with a PEM certificate (or give a .pfx / .p12 CertificateFile)");
        if (!IsPkcs12 && !File.Exists(KeyFile)) throw Bad("KeyFile", $"'{KeyFile}' does not exist");
        if (ClientCertificates != ClientCertificates.None && string.IsNullOrEmpty(ClientCaFile))
            throw Bad("ClientCaFile", $"is required when ClientCertificates is {ClientCertificates}");
        if (!string.IsNullOrEmpty(ClientCaFile) && !File.Exists(ClientCaFile)) throw Bad("ClientCaFile", $"'{ClientCaFile}' does not exist");
    }

    bool IsPkcs12 => CertificateFile!.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || CertificateFile.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);

    /// <summary>The server certificate with its private key.</summary>
    public X509Certificate2 LoadCertificate()
    {
        Validate();
        try
        {
            var cert = IsPkcs12 ? X509CertificateLoader.LoadPkcs12FromFile(CertificateFile!, Password) : X509Certificate2.CreateFromPemFile(CertificateFile!, KeyFile);
            if (!cert.HasPrivateKey) throw Bad("CertificateFile", $"'{CertificateFile}' has no private key");
            return cert;
        }
        catch (CryptographicException e)
        {
            throw Bad("CertificateFile", $"'{CertificateFile}' could not be loaded{(IsPkcs12 ? " (wrong Password?)" : $" with key '{KeyFile}'")}: {e.Message}");
        }
    }

    /// <summary>The CA client certificates must chain to, or null.</summary>
    public X509Certificate2? LoadClientCa()
    {
        if (string.IsNullOrEmpty(ClientCaFile)) return null;
        try { return X509CertificateLoader.LoadCertificateFromFile(ClientCaFile); }
        catch (CryptographicException e) { throw Bad("ClientCaFile", $"'{ClientCaFile}' is not a certificate: {e.Message}"); }
    }

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="ca"/> (that CA as the only trust anchor; no revocation check).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(ca);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    static InvalidInputException Bad(string name, string problem) => new($"setting Tls:{name} {problem}") { Setting = "Tls:" + name };
}
