using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Parca.Server.Security;

/// <summary>
/// TLS on the server's one port (<c>--http-tls-cert-file</c>, <c>--http-tls-key-file</c>), with optional client
/// certificate verification (<c>--http-tls-client-ca-file</c>). Every handshake asks <see cref="PemFiles"/> for the
/// current certificate, which re-reads the files when their modification time or size changed, so a renewed
/// certificate (cert-manager, certbot) serves new connections without a restart; open connections keep theirs.
/// Under mTLS a client that sends no certificate completes the handshake and is refused per request by
/// <see cref="UseClientCertificateCheck"/> with a readable error (gRPC UNAUTHENTICATED / HTTP 401) rather than a bare TLS
/// alert; a certificate that does not chain to the CA fails the handshake and is logged.
/// </summary>
internal sealed partial class ServerTls
{
    private static readonly List<SslApplicationProtocol> s_alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];
    private readonly PemFiles _certificate;
    private readonly PemFiles? _clientCa;

    private ServerTls(PemFiles certificate, PemFiles? clientCa)
    {
        _certificate = certificate;
        _clientCa = clientCa;
    }

    /// <summary>Set once the host's logging is built (the listener is configured before it).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>Null when TLS is off; throws with the flag's name when the files cannot be loaded at start-up.</summary>
    public static ServerTls? Create(ParcaServerOptions options)
    {
        if (options.HttpTlsCertFile is not { } cert || options.HttpTlsKeyFile is not { } key)
        {
            return null;
        }

        var certificate = new PemFiles(cert, key);
        certificate.LoadAtStart("--http-tls-cert-file/--http-tls-key-file");
        PemFiles? clientCa = null;
        if (options.HttpTlsClientCaFile is { } ca)
        {
            clientCa = new PemFiles(ca, null);
            clientCa.LoadAtStart("--http-tls-client-ca-file");
        }

        return new ServerTls(certificate, clientCa);
    }

    /// <summary>TLS only on this endpoint (no cleartext h2c detection): HTTP/2 or HTTP/1.1 by ALPN.</summary>
    public void Listen(ListenOptions listen)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = _ => ValueTask.FromResult(Authenticate()),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
    }

    /// <summary>
    /// Under mTLS, requests on a connection without a client certificate are refused in their protocol's form;
    /// /healthz and /ready stay open for probes that carry no certificate.
    /// </summary>
    public void UseClientCertificateCheck(WebApplication app, string pathPrefix)
    {
        if (_clientCa is null)
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            if (context.Connection.ClientCertificate is null)
            {
                var path = context.Request.Path.Value ?? "/";
                if (pathPrefix.Length > 0 && path.StartsWith(pathPrefix, StringComparison.Ordinal))
                {
                    path = path[pathPrefix.Length..];
                }

                if (path is not ("/healthz" or "/ready"))
                {
                    await RequestAuthorization.RefuseAsync(context, "client certificate required: this server verifies clients against its --http-tls-client-ca-file");
                    return;
                }
            }

            await next(context);
        });
    }

    private SslServerAuthenticationOptions Authenticate()
    {
        var (certificate, failure) = _certificate.Current();
        if (failure is not null)
        {
            Log.ReloadFailed(Logger, "--http-tls-cert-file", failure);
        }

        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.Context,
            ApplicationProtocols = s_alpn,
        };
        if (_clientCa is not null)
        {
            options.ClientCertificateRequired = true;
            options.RemoteCertificateValidationCallback = VerifyClient;
        }

        return options;
    }

    /// <summary>No certificate: let the handshake finish (the request is refused with a message); one that does not chain to the CA: refuse.</summary>
    private bool VerifyClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return true;
        }

        var (authorities, failure) = _clientCa!.Current();
        if (failure is not null)
        {
            Log.ReloadFailed(Logger, "--http-tls-client-ca-file", failure);
        }

        using var leaf = new X509Certificate2(certificate);
        using var verify = new X509Chain();
        verify.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verify.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        verify.ChainPolicy.CustomTrustStore.AddRange(authorities.Certificates);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                verify.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (verify.Build(leaf))
        {
            return true;
        }

        var status = verify.ChainStatus.Length > 0 ? verify.ChainStatus[0].StatusInformation.Trim() : errors.ToString();
        Log.ClientRefused(Logger, leaf.Subject, status);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "tls: {Flag} could not be reloaded, serving the previous one: {Reason}")]
        public static partial void ReloadFailed(ILogger logger, string flag, string reason);

        [LoggerMessage(41, LogLevel.Warning, "tls: client certificate '{Subject}' refused (not issued by --http-tls-client-ca-file): {Reason}")]
        public static partial void ClientRefused(ILogger logger, string subject, string reason);
    }
}
