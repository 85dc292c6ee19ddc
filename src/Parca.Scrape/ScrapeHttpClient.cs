using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Parca.Hosting;
using Parca.Scrape.Config;

namespace Parca.Scrape;

/// <summary>Builds the HTTP client of one scrape job from its basic_auth / authorization / tls_config.</summary>
internal static class ScrapeHttpClient
{
    public static HttpClient Create(ScrapeConfig job)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = job.FollowRedirects,
            AutomaticDecompression = DecompressionMethods.None, // pprof is gzipped by the target itself; keep the bytes as sent
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = job.ScrapeTimeout,
            UseProxy = false,
        };

        var tls = job.TlsConfig;
        if (job.Scheme == "https" || tls.CaFile is not null || tls.CertFile is not null || tls.InsecureSkipVerify)
        {
            handler.SslOptions = BuildSsl(tls);
        }

        var client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("conprof", ParcaVersion.Version));
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
        return client;
    }

    /// <summary>The Authorization header for a request, reading *_file credentials each time so rotated secrets apply.</summary>
    public static AuthenticationHeaderValue? Authorization(ScrapeConfig job)
    {
        if (job.BasicAuth is { } basic)
        {
            var password = basic.PasswordFile is not null ? File.ReadAllText(basic.PasswordFile).Trim() : basic.Password ?? "";
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{basic.Username}:{password}"));
            return new AuthenticationHeaderValue("Basic", token);
        }

        if (job.Authorization is { } auth)
        {
            var credentials = auth.CredentialsFile is not null ? File.ReadAllText(auth.CredentialsFile).Trim() : auth.Credentials ?? "";
            return new AuthenticationHeaderValue(auth.Type, credentials);
        }

        return null;
    }

    private static SslClientAuthenticationOptions BuildSsl(TlsConfig tls)
    {
        var options = new SslClientAuthenticationOptions();
        if (tls.ServerName is not null)
        {
            options.TargetHost = tls.ServerName;
        }

        if (tls.CertFile is not null && tls.KeyFile is not null)
        {
            options.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile)];
        }

        if (tls.InsecureSkipVerify)
        {
            options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (tls.CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tls.CaFile);
            options.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null)
                {
                    return false;
                }

                // Chain to the configured CA only; the host name must still match.
                if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }

        return options;
    }
}
