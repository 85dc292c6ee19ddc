using System.Net;

namespace Parca.Agent.Tests;

/// <summary>The agent's HTTP server: health, readiness, metrics, status page and profile downloads.</summary>
[Collection(KernelCollection.Name)]
public sealed class HttpEndpointTests
{
    [Fact]
    public async Task Health_metrics_status_page_and_download_work()
    {
        var path = Tracees.Build("chain");
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 1);
        using var http = new HttpClient { BaseAddress = agent.Agent.BaseAddress };
        Assert.Equal("ok\n", await http.GetStringAsync("healthy"));
        Assert.Equal("ok\n", await http.GetStringAsync("ready"));

        using var tracee = Tracees.Start(path, "2");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id));

        var metrics = await http.GetStringAsync("metrics");
        Assert.Contains("# TYPE parca_agent_bpf_samples_dropped_total counter\nparca_agent_bpf_samples_dropped_total 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("parca_agent_bpf_samples_skipped_total{reason=\"idle\"}", metrics, StringComparison.Ordinal);

        // The BPF counters add up: every run is skipped (idle, kernel thread), sent or dropped. A run still in
        // progress on some CPU while the counters are read has counted itself but not its outcome yet.
        var runs = Metric(metrics, "parca_agent_bpf_program_runs_total");
        var sent = Metric(metrics, "parca_agent_bpf_samples_sent_total");
        var accounted = Metric(metrics, "parca_agent_bpf_samples_skipped_total{reason=\"idle\"}")
            + Metric(metrics, "parca_agent_bpf_samples_skipped_total{reason=\"kernel_thread\"}")
            + sent + Metric(metrics, "parca_agent_bpf_samples_dropped_total");
        Assert.True(sent > 0, metrics);
        Assert.InRange(runs - accounted, 0, Environment.ProcessorCount);
        Assert.True(Metric(metrics, "parca_agent_samples_received_total") > 0, metrics);

        var page = await http.GetStringAsync("");
        Assert.Contains("comm=&quot;chain&quot;", page, StringComparison.Ordinal);
        var id = ParcaAgent.ProfileId(series);
        Assert.Contains($"/profiles/{id}", page, StringComparison.Ordinal);
        var download = await http.GetByteArrayAsync($"profiles/{id}");
        Assert.Equal(0x1f, download[0]);
        var file = Path.Combine(Path.GetTempPath(), $"parca-download-{Guid.NewGuid():N}.pb.gz");
        await File.WriteAllBytesAsync(file, download);
        Assert.Contains(GoPprof.Traces(file), t => t.Frames[0] == "burn");

        var missing = await http.GetAsync("profiles/0000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no current profile", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await agent.Agent.StopAsync();
    }

    private static double Metric(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(series.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"{series} is not in /metrics:\n{exposition}");
    }

    [Fact]
    public async Task Own_pprof_endpoint_serves_the_agent_s_cpu_profile()
    {
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 1, frequency: 999);
        using var http = new HttpClient { BaseAddress = agent.Agent.BaseAddress };
        HttpResponseMessage? response = null;
        for (var i = 0; i < 50; i++)
        {
            // Requests make the agent itself busy enough to be sampled.
            response = await http.GetAsync("debug/pprof/profile");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var file = Path.Combine(Path.GetTempPath(), $"parca-self-{Guid.NewGuid():N}.pb.gz");
        await File.WriteAllBytesAsync(file, bytes);
        Assert.NotEmpty(GoPprof.Traces(file));
    }
}
