using System.CommandLine;
using static Parca.Hosting.CommandLine.FlagOptions;

namespace Parca.Server.Cli;

/// <summary>
/// TLS flags (ours: Parca serves cleartext and leaves TLS to a proxy): the listener's certificate and optional
/// client verification, and the forwarder's trust and client certificate for --store-address.
/// </summary>
internal static partial class ServerCommandLine
{
    private static readonly Option<string?> s_httpTlsCertFile = OptionalText("--http-tls-cert-file", "PEM certificate (then intermediates) for TLS on --http-address (gRPC, gRPC-Web, Connect, HTTP and the UI); re-read when the file changes. Needs --http-tls-key-file.");
    private static readonly Option<string?> s_httpTlsKeyFile = OptionalText("--http-tls-key-file", "PEM private key of --http-tls-cert-file.");
    private static readonly Option<string?> s_httpTlsClientCaFile = OptionalText("--http-tls-client-ca-file", "PEM CA bundle; clients must present a certificate it issued (mTLS). /healthz and /ready stay open.");
    private static readonly Option<string?> s_storeTlsCaFile = OptionalText("--store-tls-ca-file", "PEM CA bundle trusted for --store-address instead of the system's.");
    private static readonly Option<string?> s_storeTlsCertFile = OptionalText("--store-tls-cert-file", "PEM client certificate presented to --store-address (mTLS). Needs --store-tls-key-file.");
    private static readonly Option<string?> s_storeTlsKeyFile = OptionalText("--store-tls-key-file", "PEM private key of --store-tls-cert-file.");

    private static Option[] TlsOptions() =>
        [s_httpTlsCertFile, s_httpTlsKeyFile, s_httpTlsClientCaFile, s_storeTlsCaFile, s_storeTlsCertFile, s_storeTlsKeyFile];

    private static void BindTls(ParseResult r, ParcaServerOptions options)
    {
        options.HttpTlsCertFile = r.GetValue(s_httpTlsCertFile);
        options.HttpTlsKeyFile = r.GetValue(s_httpTlsKeyFile);
        options.HttpTlsClientCaFile = r.GetValue(s_httpTlsClientCaFile);
        options.StoreTlsCaFile = r.GetValue(s_storeTlsCaFile);
        options.StoreTlsCertFile = r.GetValue(s_storeTlsCertFile);
        options.StoreTlsKeyFile = r.GetValue(s_storeTlsKeyFile);
    }
}
