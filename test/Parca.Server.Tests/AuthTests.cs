using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// Bearer tokens for writes and reads on a real server, through curl (REST, Connect, /ingest, /metrics), Python
/// grpcio (native gRPC) and the project's gRPC client; token files are re-read when they change.
/// </summary>
public sealed class AuthTests : IAsyncLifetime
{
    private static readonly byte[] s_profile = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-auth-");
    private ParcaServer _server = null!;

    private string Http => _server.BaseAddress.ToString().TrimEnd('/');

    private string WriteFile => Path.Combine(_dir.FullName, "write-tokens");

    private string ReadFile => Path.Combine(_dir.FullName, "read-tokens");

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(WriteFile, "# writers\nw-token\n");
        await File.WriteAllTextAsync(ReadFile, "r-token\n");
        _server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            StorageRetention = TimeSpan.Zero,
            ConfigPath = "/nonexistent/parca.yaml",
            AuthWriteTokenFile = WriteFile,
            AuthReadTokenFile = ReadFile,
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Writes_need_the_write_token_on_ingest_and_grpc()
    {
        var file = Path.Combine(_dir.FullName, "cpu.pb.gz");
        await File.WriteAllBytesAsync(file, s_profile);
        string[] post = ["-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file, Http + "/ingest?name=process_cpu&job=auth"];

        var anonymous = await Curl.RunAsync(post);
        Assert.Equal(401, anonymous.Status);
        Assert.Equal("missing or wrong bearer token: this write needs a token from the server's --auth-write-token-file\n", anonymous.Body);
        Assert.Contains("www-authenticate: Bearer", anonymous.Headers, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(401, (await Curl.RunAsync(["-H", "Authorization: Bearer r-token", .. post])).Status);
        Assert.Equal(200, (await Curl.RunAsync(["-H", "Authorization: Bearer w-token", .. post])).Status);

        var request = new WriteRawRequest();
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(s_profile) });
        request.Series.Add(series);
        using (var noToken = RpcChannel.Create(Http))
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => noToken.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request));
            Assert.Equal(StatusCode.Unauthenticated, e.Status);
        }

        using var writer = RpcChannel.Create(Http, new RpcChannelOptions { BearerToken = "w-token" });
        await writer.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request);
    }

    [Fact]
    public async Task Otlp_export_needs_the_write_token_over_http_and_grpc()
    {
        string[] post = ["-H", "Content-Type: application/x-protobuf", "--data-binary", "", Http + "/v1development/profiles"];
        Assert.Equal(401, (await Curl.RunAsync(post)).Status);
        Assert.Equal(401, (await Curl.RunAsync(["-H", "Authorization: Bearer r-token", .. post])).Status);
        // With the token the request reaches the handler, which refuses the empty export as bad input.
        Assert.Equal(400, (await Curl.RunAsync(["-H", "Authorization: Bearer w-token", .. post])).Status);

        var request = new OpenTelemetry.Proto.Collector.Profiles.V1Development.ExportProfilesServiceRequest();
        using var noToken = RpcChannel.Create(Http);
        var e = await Assert.ThrowsAsync<RpcException>(() => noToken.UnaryAsync(ParcaApi.OtlpProfiles.Export, request));
        Assert.Equal(StatusCode.Unauthenticated, e.Status);
    }

    [Fact]
    public async Task Reads_need_the_read_token_on_rest_connect_metrics_and_grpc()
    {
        var rest = await Curl.RunAsync(Http + "/api/profiles/types");
        Assert.Equal(401, rest.Status);
        Assert.Equal("missing or wrong bearer token: this read needs a token from the server's --auth-read-token-file\n", rest.Body);
        Assert.Equal(200, (await Curl.RunAsync("-H", "Authorization: Bearer r-token", Http + "/api/profiles/types")).Status);

        var connect = await Curl.RunAsync("-H", "Content-Type: application/json", "-d", "{}", Http + "/parca.query.v1alpha1.QueryService/ProfileTypes");
        Assert.Equal(401, connect.Status);
        Assert.Equal("unauthenticated", JsonDocument.Parse(connect.Body).RootElement.GetProperty("code").GetString());

        Assert.Equal(401, (await Curl.RunAsync(Http + "/metrics")).Status);
        Assert.Equal(200, (await Curl.RunAsync("-H", "Authorization: Bearer r-token", Http + "/metrics")).Status);
        Assert.Equal(401, (await Curl.RunAsync(Http + "/debug/pprof/goroutine")).Status);
        Assert.Equal(200, (await Curl.RunAsync(Http + "/healthz")).Status); // liveness stays open

        var python = await GrpcioAsync(null, "r-token", "w-token");
        Assert.Equal("16 missing or wrong bearer token: this read needs a token from the server's --auth-read-token-file|0|16", python);

        using var reader = RpcChannel.Create(Http, new RpcChannelOptions { BearerToken = "r-token" });
        await reader.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
    }

    [Fact]
    public async Task Grpc_js_and_grpc_web_clients_get_unauthenticated_and_pass_with_their_token()
    {
        var file = Path.Combine(_dir.FullName, "cpu.pb.gz");
        await File.WriteAllBytesAsync(file, s_profile);
        var address = $"127.0.0.1:{_server.BaseAddress.Port}";
        const string Read = "missing or wrong bearer token: this read needs a token from the server's --auth-read-token-file";
        const string Write = "missing or wrong bearer token: this write needs a token from the server's --auth-write-token-file";

        var anonymous = await NodeClients.RunAsync(new { address, web = Http + "/api", write = new { file, labels = 2 } });
        Assert.Equal("error 16 " + Read, anonymous.GetProperty("grpcProfileTypes").GetString());
        Assert.Equal("error 16 " + Write, anonymous.GetProperty("grpcWrite").GetString());
        Assert.Equal("error UNAUTHENTICATED " + Read, anonymous.GetProperty("webProfileTypes").GetString());
        Assert.Equal("error UNAUTHENTICATED " + Write, anonymous.GetProperty("webWrite").GetString());

        var writer = await NodeClients.RunAsync(new { address, web = Http + "/api", token = "w-token", write = new { file, labels = 2 } });
        Assert.Equal("error 16 " + Read, writer.GetProperty("grpcProfileTypes").GetString()); // the write token grants no reads
        Assert.Equal("ok", writer.GetProperty("grpcWrite").GetString());
        Assert.Equal("ok", writer.GetProperty("webWrite").GetString());

        var reader = await NodeClients.RunAsync(new { address, web = Http + "/api", token = "r-token" });
        Assert.Equal("ok process_cpu", reader.GetProperty("grpcProfileTypes").GetString());
        Assert.Equal("ok process_cpu", reader.GetProperty("webProfileTypes").GetString());
    }

    [Fact]
    public async Task A_rotated_token_file_applies_without_a_restart()
    {
        Assert.Equal(200, (await Curl.RunAsync("-H", "Authorization: Bearer r-token", Http + "/api/profiles/types")).Status);
        await File.WriteAllTextAsync(ReadFile, "r-token-2\n");
        File.SetLastWriteTimeUtc(ReadFile, DateTime.UtcNow.AddMinutes(1)); // a distinct mtime even on coarse clocks

        var status = 0;
        for (var attempt = 0; attempt < 100 && status != 200; attempt++)
        {
            await Task.Delay(100); // the file is checked at most once a second
            status = (await Curl.RunAsync("-H", "Authorization: Bearer r-token-2", Http + "/api/profiles/types")).Status;
        }

        Assert.Equal(200, status);
        Assert.Equal(401, (await Curl.RunAsync("-H", "Authorization: Bearer r-token", Http + "/api/profiles/types")).Status);
    }

    /// <summary>Python grpcio calls ProfileTypes with each token (null: none); returns "code details|code|code".</summary>
    private async Task<string> GrpcioAsync(params string?[] tokens)
    {
        const string script = """
            import sys, grpc
            out = []
            with grpc.insecure_channel(sys.argv[1]) as channel:
                rpc = channel.unary_unary('/parca.query.v1alpha1.QueryService/ProfileTypes', request_serializer=lambda m: m, response_deserializer=lambda b: b)
                for i, token in enumerate(sys.argv[2:]):
                    metadata = () if token == '-' else (('authorization', 'Bearer ' + token),)
                    try:
                        rpc(b'', metadata=metadata, timeout=30)
                        out.append('0')
                    except grpc.RpcError as e:
                        out.append(str(e.code().value[0]) + (' ' + e.details() if i == 0 else ''))
            print('|'.join(out))
            """;
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add($"127.0.0.1:{_server.BaseAddress.Port}");
        foreach (var token in tokens)
        {
            start.ArgumentList.Add(token ?? "-");
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"python3 grpcio failed (is python3-grpcio installed?): {error}");
        return output.Trim();
    }
}
