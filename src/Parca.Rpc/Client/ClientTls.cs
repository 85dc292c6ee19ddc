using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Parca.Rpc.Client;

/// <summary>
/// The TLS side of a client channel: skip verification (<c>--insecure-skip-verify</c>), trust a private CA instead of
/// the system's store, and present a client certificate for servers that verify clients (mTLS). The files are read
/// when the channel is created; a certificate that cannot be loaded fails there, naming the file.
/// </summary>
internal static class ClientTls
{
    public static void Configure(SocketsHttpHandler handler, RpcChannelOptions options)
    {
        if (!options.InsecureSkipVerify && options.TlsCaFile is null && options.TlsCertFile is null)
        {
            return;
        }

        var ssl = new SslClientAuthenticationOptions();
        if (options.InsecureSkipVerify)
        {
            ssl.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (options.TlsCaFile is { } caFile)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(caFile);
            if (authorities.Count == 0)
            {
                throw new InvalidOperationException($"'{caFile}' holds no PEM certificate");
            }

            ssl.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusted(authorities, certificate, chain, errors);
        }

        if (options.TlsCertFile is { } certFile)
        {
            var keyFile = options.TlsKeyFile ?? throw new InvalidOperationException("a TLS client certificate needs its key file");
            ssl.ClientCertificates = [X509Certificate2.CreateFromPemFile(certFile, keyFile)];
        }

        handler.SslOptions = ssl;
    }

    /// <summary>The server's certificate names the host and chains to one of <paramref name="authorities"/> (not the system's roots).</summary>
    private static bool Trusted(X509Certificate2Collection authorities, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var leaf = new X509Certificate2(certificate);
        using var verify = new X509Chain();
        verify.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verify.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        verify.ChainPolicy.CustomTrustStore.AddRange(authorities);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                verify.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return verify.Build(leaf);
    }
}
