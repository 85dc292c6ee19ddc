using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;

namespace Parca.Agent.Tests;

/// <summary>
/// The agent against our parca server, both real and in-process on loopback: profiles go in through WriteRaw and
/// come back through the query API with the exact stack and labels.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class ParcaServerEndToEndTests
{
    [Fact]
    public async Task Chain_tracee_stack_and_labels_come_back_through_the_query_api()
    {
        var dataDir = Directory.CreateTempSubdirectory("parca-server-data-").FullName;
        var config = Path.Combine(dataDir, "parca.yaml");
        await File.WriteAllTextAsync(config, $"object_storage:\n  bucket:\n    type: \"FILESYSTEM\"\n    config:\n      directory: \"{dataDir}\"\nscrape_configs: []\n");
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", ConfigPath = config, LogLevel = "warn" });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";

        var path = Tracees.Build("chain");
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        await using var agent = await AgentHarness.StartAsync(
            "relabel_configs:\n- source_labels: [comm]\n  regex: chain\n  action: keep\n- source_labels: [__meta_process_pid]\n  target_label: pid\n",
            windowSeconds: 1,
            configure: o =>
            {
                o.RemoteStoreAddress = address;
                o.RemoteStoreInsecure = true;
                o.RemoteStoreBatchWriteInterval = TimeSpan.FromSeconds(1);
            });
        using var tracee = Tracees.Start(path, "3");
        await tracee.WaitForExitAsync();
        await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id));
        await agent.Agent.StopAsync(); // builds the last window and sends what is buffered

        using var channel = RpcChannel.Create(address, new RpcChannelOptions { Insecure = true });
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        var cpu = types.Types_.Single(t => t.Name == "parca_agent_cpu" && t.SampleType == "samples");
        var type = $"{cpu.Name}:{cpu.SampleType}:{cpu.SampleUnit}:{cpu.PeriodType}:{cpu.PeriodUnit}{(cpu.Delta ? ":delta" : "")}";
        Assert.Equal("parca_agent_cpu:samples:count:cpu:nanoseconds:delta", type);

        var values = await channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest { LabelName = "pid", Match = { type + "{comm=\"chain\"}" }, Start = Timestamp.FromDateTimeOffset(start), End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)) });
        Assert.Contains(tracee.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), values.LabelValues);

        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile
            {
                Query = $"{type}{{comm=\"chain\", pid=\"{tracee.Id}\", node=\"test-node\"}}",
                Start = Timestamp.FromDateTimeOffset(start),
                End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
            },
            ReportType = QueryRequest.Types.ReportType.Pprof,
        });
        var file = Path.Combine(Path.GetTempPath(), $"parca-server-e2e-{Guid.NewGuid():N}.pb.gz");
        await File.WriteAllBytesAsync(file, response.Pprof.ToByteArray());
        var traces = GoPprof.Traces(file);
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Where(t => t.Frames.Length >= 5 && t.Frames[..5].SequenceEqual(["burn", "c", "b", "a", "main"])).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * 0.9, $"burn<-c<-b<-a<-main holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    [Fact]
    public async Task The_agent_ships_over_mtls_to_a_server_that_verifies_clients()
    {
        using var certs = TestCertificates.Create();
        await using var server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            ConfigPath = "/nonexistent/parca.yaml",
            LogLevel = "warn",
            StorageRetention = TimeSpan.Zero,
            HttpTlsCertFile = certs.ServerCert,
            HttpTlsKeyFile = certs.ServerKey,
            HttpTlsClientCaFile = certs.CaCert,
        });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";

        var path = Tracees.Build("chain");
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        await using var agent = await AgentHarness.StartAsync(
            "relabel_configs:\n- source_labels: [comm]\n  regex: chain\n  action: keep\n- source_labels: [__meta_process_pid]\n  target_label: pid\n",
            windowSeconds: 1,
            configure: o =>
            {
                o.RemoteStoreAddress = address; // no --remote-store-insecure: TLS, trusting only the test CA
                o.RemoteStoreTlsCaFile = certs.CaCert;
                o.RemoteStoreTlsCertFile = certs.ClientCert;
                o.RemoteStoreTlsKeyFile = certs.ClientKey;
                o.RemoteStoreBatchWriteInterval = TimeSpan.FromSeconds(1);
            });
        using var tracee = Tracees.Start(path, "2");
        await tracee.WaitForExitAsync();
        await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id));
        Assert.Contains("parca_agent_remote_store_failures_total 0\n", agent.Agent.Metrics.Render(), StringComparison.Ordinal); // no refused handshake
        await agent.Agent.StopAsync(); // sends what is buffered
        using var channel = RpcChannel.Create(address, new RpcChannelOptions { TlsCaFile = certs.CaCert, TlsCertFile = certs.ClientCert, TlsKeyFile = certs.ClientKey });
        var values = await channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest
        {
            LabelName = "pid",
            Match = { "parca_agent_cpu:samples:count:cpu:nanoseconds:delta{comm=\"chain\"}" },
            Start = Timestamp.FromDateTimeOffset(start),
            End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
        });
        Assert.Contains(tracee.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), values.LabelValues);
    }
}
