using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;

namespace Parca.Agent.Tests;

/// <summary>A real parca server on 127.0.0.1:0 with the agent shipping to it; stacks come back through the query API.</summary>
internal sealed class ServerReadback : IAsyncDisposable
{
    private const string CpuType = "parca_agent_cpu:samples:count:cpu:nanoseconds:delta";
    private readonly ParcaServer _server;
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow.AddMinutes(-1);

    private ServerReadback(ParcaServer server, AgentHarness agent)
    {
        _server = server;
        Agent = agent;
    }

    public AgentHarness Agent { get; }

    /// <param name="extraRelabel">More relabel rules (YAML list items) after the comm filter and the pid label, e.g. to keep the thread name as a label.</param>
    public static async Task<ServerReadback> StartAsync(string comm, Action<ParcaAgentOptions>? configure = null, string extraRelabel = "")
    {
        var dataDir = Directory.CreateTempSubdirectory("parca-server-data-").FullName;
        var config = Path.Combine(dataDir, "parca.yaml");
        await File.WriteAllTextAsync(config, $"object_storage:\n  bucket:\n    type: \"FILESYSTEM\"\n    config:\n      directory: \"{dataDir}\"\nscrape_configs: []\n");
        var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", ConfigPath = config, LogLevel = "warn" });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";
        var agent = await AgentHarness.StartAsync(
            $"relabel_configs:\n- source_labels: [comm]\n  regex: '{comm}'\n  action: keep\n- source_labels: [__meta_process_pid]\n  target_label: pid\n{extraRelabel}",
            windowSeconds: 1,
            configure: o =>
            {
                o.RemoteStoreAddress = address;
                o.RemoteStoreInsecure = true;
                o.RemoteStoreBatchWriteInterval = TimeSpan.FromSeconds(1);
                configure?.Invoke(o);
            });
        return new ServerReadback(server, agent);
    }

    /// <summary>Stops the agent (last window sent) and returns the merged profile of <paramref name="pid"/> as go tool pprof traces.</summary>
    public async Task<(List<PprofTrace> Traces, string File)> StopAndQueryAsync(int pid, DateTimeOffset? from = null, string extraMatchers = "")
    {
        await Agent.WaitForProfileAsync(p => p.Pids.Contains(pid));
        await Agent.Agent.StopAsync();
        return await QueryAsync(pid, from, extraMatchers);
    }

    /// <summary>The merged profile of <paramref name="pid"/> stored so far (a second query after <see cref="StopAndQueryAsync"/>).</summary>
    public async Task<(List<PprofTrace> Traces, string File)> QueryAsync(int pid, DateTimeOffset? from = null, string extraMatchers = "")
    {
        var file = await QueryFileAsync($"pid=\"{pid}\"{extraMatchers}", from);
        return (GoPprof.Traces(file), file);
    }

    /// <summary>The merged profile of the series matching <paramref name="selector"/> (label matchers) as a pprof file.</summary>
    public async Task<string> QueryFileAsync(string selector, DateTimeOffset? from = null)
    {
        using var channel = RpcChannel.Create($"127.0.0.1:{_server.BaseAddress.Port}", new RpcChannelOptions { Insecure = true });
        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile
            {
                Query = $"{CpuType}{{{selector}}}",
                Start = Timestamp.FromDateTimeOffset(from ?? _start),
                End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
            },
            ReportType = QueryRequest.Types.ReportType.Pprof,
        });
        var file = Path.Combine(Path.GetTempPath(), $"parca-readback-{Guid.NewGuid():N}.pb.gz");
        await File.WriteAllBytesAsync(file, response.Pprof.ToByteArray());
        return file;
    }

    /// <summary>
    /// Waits until the unwinder has loaded <paramref name="pid"/>'s tables and one more window has begun; returns
    /// that time. Samples before it were taken while the process was new to the agent (frame pointers only), which
    /// on a loaded machine can be a large share of a short run.
    /// </summary>
    public async Task<DateTimeOffset> WaitForTablesAsync(int pid)
    {
        var unwinder = Agent.Agent.Unwinder ?? throw new InvalidOperationException("the agent runs without unwind tables");
        for (var i = 0; i < 600 && !unwinder.HasProcess(pid); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(unwinder.HasProcess(pid), $"the unwinder never loaded the tables of pid {pid}");
        await Task.Delay(Agent.Agent.Options.ProfilingDuration);
        return DateTimeOffset.UtcNow;
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await _server.DisposeAsync();
    }
}
