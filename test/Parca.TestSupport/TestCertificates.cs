using System.Diagnostics;

namespace Parca.TestSupport;

/// <summary>
/// Real certificates made by the openssl command line in a temporary directory: a CA, server certificates for
/// 127.0.0.1/localhost issued by it, client certificates issued by it, and a second "rogue" CA with its own client
/// certificate (one a server verifying against the first CA must refuse).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }

    public string CaCert => Path.Combine(Directory, "ca.crt");

    public string ServerCert => Path.Combine(Directory, "server.crt");

    public string ServerKey => Path.Combine(Directory, "server.key");

    public string ClientCert => Path.Combine(Directory, "client.crt");

    public string ClientKey => Path.Combine(Directory, "client.key");

    public string RogueClientCert => Path.Combine(Directory, "rogue-client.crt");

    public string RogueClientKey => Path.Combine(Directory, "rogue-client.key");

    public static TestCertificates Create()
    {
        var certs = new TestCertificates(System.IO.Directory.CreateTempSubdirectory("parca-tls-").FullName);
        certs.Authority("ca", "parca test ca");
        certs.Issue("server", "server one", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        certs.Issue("client", "agent one", "ca", "extendedKeyUsage=clientAuth\n");
        certs.Authority("rogue-ca", "rogue ca");
        certs.Issue("rogue-client", "rogue agent", "rogue-ca", "extendedKeyUsage=clientAuth\n");
        return certs;
    }

    /// <summary>Issues another server certificate (new key, new serial) into <paramref name="name"/>.crt/.key; returns its serial in hex.</summary>
    public string IssueServer(string name, string commonName)
    {
        Issue(name, commonName, "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        return Serial(Path.Combine(Directory, name + ".crt"));
    }

    /// <summary>The serial number of a PEM certificate file, as openssl prints it (upper-case hex).</summary>
    public string Serial(string certFile) => Openssl("x509", "-in", certFile, "-noout", "-serial").Trim()["serial=".Length..];

    private void Authority(string name, string commonName) =>
        Openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-keyout", Path.Combine(Directory, name + ".key"), "-out", Path.Combine(Directory, name + ".crt"), "-subj", "/CN=" + commonName);

    private void Issue(string name, string commonName, string issuer, string extensions)
    {
        var ext = Path.Combine(Directory, name + ".ext");
        var csr = Path.Combine(Directory, name + ".csr");
        File.WriteAllText(ext, extensions);
        Openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", Path.Combine(Directory, name + ".key"),
            "-out", csr, "-subj", "/CN=" + commonName);
        Openssl("x509", "-req", "-in", csr, "-CA", Path.Combine(Directory, issuer + ".crt"), "-CAkey", Path.Combine(Directory, issuer + ".key"),
            "-set_serial", "0x1" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(7)), "-days", "2", "-extfile", ext,
            "-out", Path.Combine(Directory, name + ".crt"));
    }

    private static string Openssl(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start (is openssl installed?)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {error}");
        }

        return output.Result;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
