using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Parca.Rpc.Client;
using Parca.Rpc.Server;
using Parca.Rpc.Tests.Protos;

namespace Parca.Rpc.Tests;

/// <summary>gRPC over TLS (ALPN h2) with a self-signed certificate: --insecure-skip-verify accepts it, default verification refuses.</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task Tls_SkipVerifyConnects_DefaultVerificationRefusesSelfSigned()
    {
        using var cert = SelfSigned();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(cert);
        }));
        builder.Services.AddParcaRpc();
        builder.Services.AddRpcService<EchoService>();
        await using var app = builder.Build();
        app.UseParcaRpc();
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;

        using var skip = RpcChannel.Create($"127.0.0.1:{port}", new RpcChannelOptions { InsecureSkipVerify = true, BearerToken = "t" });
        var response = await skip.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "over tls" });
        Assert.Equal("over tls", response.Text);
        Assert.Contains("bearer=t", response.Metadata);

        var streamed = skip.ClientStreaming(EchoApi.Sum);
        await streamed.WriteAsync(new EchoRequest { Payload = TestData.Payload(1000) });
        streamed.CompleteRequests();
        Assert.Equal(1000, (await streamed.ResponseAsync).Bytes);

        using var verify = RpcChannel.Create($"https://127.0.0.1:{port}", new RpcChannelOptions { MaxAttempts = 1 });
        var ex = await Assert.ThrowsAsync<RpcException>(() => verify.UnaryAsync(EchoApi.Echo, new EchoRequest()));
        // Grpc.Net.Client reports a failed certificate check as INTERNAL (not retried, unlike a refused connection),
        // naming the TLS failure in the message.
        Assert.Equal(StatusCode.Internal, ex.Status);
        Assert.Contains("SSL", ex.Detail, StringComparison.OrdinalIgnoreCase);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}
