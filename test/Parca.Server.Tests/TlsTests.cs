using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// TLS on the server's one port with certificates made by openssl: every protocol over TLS (our gRPC client, curl
/// for REST/Connect/UI, grpc-js and @parca/client's gRPC-Web in Node), mTLS refusals with readable errors, a
/// certificate replaced on disk serving new connections without a restart, and the forwarder and scraper over mTLS.
/// </summary>
public sealed class TlsTests : IAsyncLifetime
{
    private static readonly byte[] s_profile = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));
    private readonly TestCertificates _certs = TestCertificates.Create();
    private readonly RecordingLogs _logs = new();
    private readonly List<ParcaServer> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _certs.Dispose();
    }

    private async Task<ParcaServer> StartAsync(Action<ParcaServerOptions>? configure = null)
    {
        var options = new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "warn",
            StorageRetention = TimeSpan.Zero,
            ConfigPath = "/nonexistent/parca.yaml",
            HttpTlsCertFile = _certs.ServerCert,
            HttpTlsKeyFile = _certs.ServerKey,
        };
        configure?.Invoke(options);
        var server = ParcaServer.Create(options, services => services.AddSingleton<ILoggerProvider>(_logs));
        _servers.Add(server);
        await server.StartAsync();
        return server;
    }

    private static WriteRawRequest Write(string job)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = job });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(s_profile) });
        var request = new WriteRawRequest();
        request.Series.Add(series);
        return request;
    }

    private static string HostPort(ParcaServer server) => $"127.0.0.1:{server.BaseAddress.Port}";

    [Fact]
    public async Task One_tls_port_serves_grpc_grpc_web_connect_rest_and_the_ui()
    {
        var server = await StartAsync();
        Assert.Equal("https", server.BaseAddress.Scheme);
        var https = $"https://{HostPort(server)}";

        using (var channel = GrpcChannels.Create(HostPort(server), new RpcChannelOptions { TlsCaFile = _certs.CaCert }))
        {
            await new ProfileStoreService.ProfileStoreServiceClient(channel).WriteRawAsync(Write("tls"));
            var types = await new QueryService.QueryServiceClient(channel).ProfileTypesAsync(new ProfileTypesRequest());
            Assert.Contains(types.Types_, t => t.Name == "process_cpu" && t.SampleType == "samples");
        }

        var rest = await Curl.RunAsync("--cacert", _certs.CaCert, https + "/api/profiles/types");
        Assert.Equal(200, rest.Status);
        Assert.Contains("process_cpu", rest.Body, StringComparison.Ordinal);
        var connect = await Curl.RunAsync("--cacert", _certs.CaCert, "-H", "Content-Type: application/json", "-d", "{}", https + "/parca.query.v1alpha1.QueryService/ProfileTypes");
        Assert.Equal(200, connect.Status);
        Assert.Contains("process_cpu", JsonDocument.Parse(connect.Body).RootElement.GetProperty("types").ToString(), StringComparison.Ordinal);
        var http2 = await Curl.RunAsync("--cacert", _certs.CaCert, "--http2", "-o", "/dev/null", https + "/");
        Assert.Equal(200, http2.Status);
        Assert.StartsWith("HTTP/2 200", http2.Headers, StringComparison.Ordinal); // ALPN chose h2 for the UI too

        var node = await NodeClients.RunAsync(new { address = HostPort(server), web = https + "/api", ca = _certs.CaCert });
        Assert.Equal("ok process_cpu", node.GetProperty("grpcProfileTypes").GetString());
        Assert.Equal("ok process_cpu", node.GetProperty("webProfileTypes").GetString());

        // Cleartext on the TLS port and a client that does not trust the CA both fail; neither reaches the API.
        var cleartext = await Assert.ThrowsAsync<InvalidOperationException>(() => Curl.RunAsync($"http://{HostPort(server)}/api/profiles/types"));
        Assert.Contains("curl exited with 52", cleartext.Message, StringComparison.Ordinal); // empty reply: the handshake never started
        using var untrusting = GrpcChannels.Create(HostPort(server), new RpcChannelOptions { MaxAttempts = 1 });
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await new QueryService.QueryServiceClient(untrusting).ProfileTypesAsync(new ProfileTypesRequest()));
        Assert.Equal(StatusCode.Internal, refused.StatusCode); // how Grpc.Net.Client reports a failed handshake
        Assert.Contains("The SSL connection could not be established", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_mtls_a_client_without_a_certificate_is_refused_with_a_readable_error_and_a_foreign_one_at_the_handshake()
    {
        var server = await StartAsync(o => o.HttpTlsClientCaFile = _certs.CaCert);
        var https = $"https://{HostPort(server)}";
        const string Expected = "client certificate required: this server verifies clients against its --http-tls-client-ca-file";

        var anonymous = await Curl.RunAsync("--cacert", _certs.CaCert, https + "/api/profiles/types");
        Assert.Equal(401, anonymous.Status);
        Assert.Equal(Expected + "\n", anonymous.Body);
        Assert.Equal(200, (await Curl.RunAsync("--cacert", _certs.CaCert, https + "/healthz")).Status); // probes carry no certificate
        var withCert = await Curl.RunAsync("--cacert", _certs.CaCert, "--cert", _certs.ClientCert, "--key", _certs.ClientKey, https + "/api/profiles/types");
        Assert.Equal(200, withCert.Status);

        using (var noCert = GrpcChannels.Create(HostPort(server), new RpcChannelOptions { TlsCaFile = _certs.CaCert }))
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await new ProfileStoreService.ProfileStoreServiceClient(noCert).WriteRawAsync(Write("anonymous")));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
            Assert.Equal(Expected, e.Status.Detail);
        }

        using (var agent = GrpcChannels.Create(HostPort(server), new RpcChannelOptions { TlsCaFile = _certs.CaCert, TlsCertFile = _certs.ClientCert, TlsKeyFile = _certs.ClientKey }))
        {
            await new ProfileStoreService.ProfileStoreServiceClient(agent).WriteRawAsync(Write("mtls"));
        }

        var node = await NodeClients.RunAsync(new { address = HostPort(server), web = https + "/api", ca = _certs.CaCert });
        Assert.Equal($"error 16 {Expected}", node.GetProperty("grpcProfileTypes").GetString());
        node = await NodeClients.RunAsync(new { address = HostPort(server), web = https + "/api", ca = _certs.CaCert, cert = _certs.ClientCert, key = _certs.ClientKey });
        Assert.Equal("ok process_cpu", node.GetProperty("grpcProfileTypes").GetString());

        // A certificate from another CA fails the handshake and leaves one log line naming it.
        var rogue = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Curl.RunAsync("--cacert", _certs.CaCert, "--cert", _certs.RogueClientCert, "--key", _certs.RogueClientKey, https + "/api/profiles/types"));
        Assert.Contains("curl exited with", rogue.Message, StringComparison.Ordinal);
        Assert.Contains("tls: client certificate 'CN=rogue agent' refused (not issued by --http-tls-client-ca-file)", _logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_replaced_on_disk_serves_new_connections_without_a_restart()
    {
        var cert = Path.Combine(_certs.Directory, "live.crt");
        var key = Path.Combine(_certs.Directory, "live.key");
        File.Copy(_certs.ServerCert, cert);
        File.Copy(_certs.ServerKey, key);
        var server = await StartAsync(o =>
        {
            o.HttpTlsCertFile = cert;
            o.HttpTlsKeyFile = key;
        });
        var first = _certs.Serial(_certs.ServerCert);
        Assert.Equal(first, await ServedSerialAsync(server));
        using var channel = GrpcChannels.Create(HostPort(server), new RpcChannelOptions { TlsCaFile = _certs.CaCert });
        var query = new QueryService.QueryServiceClient(channel);
        await query.ProfileTypesAsync(new ProfileTypesRequest());

        // A renewal written key first, then certificate: in between the pair does not match and the old one is served.
        var second = _certs.IssueServer("renewed", "server two");
        File.Copy(Path.Combine(_certs.Directory, "renewed.key"), key, overwrite: true);
        Assert.Equal(first, await ServedSerialAsync(server));
        Assert.Contains("tls: --http-tls-cert-file could not be reloaded, serving the previous one", _logs.Text, StringComparison.Ordinal);
        File.Copy(Path.Combine(_certs.Directory, "renewed.crt"), cert, overwrite: true);
        Assert.Equal(second, await ServedSerialAsync(server));

        await query.ProfileTypesAsync(new ProfileTypesRequest()); // the open connection keeps working
        Assert.Equal(200, (await Curl.RunAsync("--cacert", _certs.CaCert, $"https://{HostPort(server)}/api/profiles/types")).Status);
    }

    [Fact]
    public async Task The_forwarder_ships_and_the_scraper_scrapes_over_mtls()
    {
        var store = await StartAsync(o => o.HttpTlsClientCaFile = _certs.CaCert);
        var config = Path.Combine(_certs.Directory, "forwarder.yaml");
        await File.WriteAllTextAsync(config, $$"""
            object_storage:
              bucket:
                type: FILESYSTEM
                config:
                  directory: ./data
            scrape_configs:
              - job_name: tls-target
                scheme: https
                scrape_interval: 1s
                tls_config: { ca_file: '{{_certs.CaCert}}', cert_file: '{{_certs.ClientCert}}', key_file: '{{_certs.ClientKey}}' }
                static_configs:
                  - targets: ['{{HostPort(store)}}']
                profiling_config:
                  pprof_config:
                    block: { enabled: false }
                    mutex: { enabled: false }
                    memory: { enabled: false }
                    process_cpu: { enabled: false }
            """);
        await StartAsync(o =>
        {
            o.Mode = "scraper-only";
            o.ConfigPath = config;
            o.HttpTlsCertFile = null;
            o.HttpTlsKeyFile = null;
            o.StoreAddress = HostPort(store);
            o.StoreTlsCaFile = _certs.CaCert;
            o.StoreTlsCertFile = _certs.ClientCert;
            o.StoreTlsKeyFile = _certs.ClientKey;
        });

        using var channel = GrpcChannels.Create(HostPort(store), new RpcChannelOptions { TlsCaFile = _certs.CaCert, TlsCertFile = _certs.ClientCert, TlsKeyFile = _certs.ClientKey });
        var query = new QueryService.QueryServiceClient(channel);
        var found = false;
        for (var attempt = 0; attempt < 300 && !found; attempt++)
        {
            await Task.Delay(200);
            var types = await query.ProfileTypesAsync(new ProfileTypesRequest());
            foreach (var t in types.Types_)
            {
                var values = await query.ValuesAsync(new ValuesRequest
                {
                    LabelName = "job",
                    Match = { $"{t.Name}:{t.SampleType}:{t.SampleUnit}:{t.PeriodType}:{t.PeriodUnit}{(t.Delta ? ":delta" : "")}{{}}" },
                    Start = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
                    End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
                });
                found |= values.LabelValues.Contains("tls-target");
            }
        }

        Assert.True(found, "no goroutine profile of job tls-target arrived through the mTLS scrape and forward:\n" + _logs.Text);
    }

    /// <summary>Opens a new TLS connection and returns the serial number of the certificate the server presented.</summary>
    private async Task<string> ServedSerialAsync(ParcaServer server)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.BaseAddress.Port);
        string? serial = null;
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            serial = certificate is null ? null : new X509Certificate2(certificate).SerialNumber;
            return true;
        });
        await ssl.AuthenticateAsClientAsync("localhost");
        return serial ?? throw new InvalidOperationException("the server presented no certificate");
    }
}
