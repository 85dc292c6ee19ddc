
namespace Parca.Scrape.Tests;

/// <summary>The scraper against a real Go program serving net/http/pprof.</summary>
public sealed class ScrapeGoTargetTests(GoTargetFixture go) : IClassFixture<GoTargetFixture>
{
    private static readonly TimeSpan s_guard = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Every_go_profile_is_scraped_with_target_labels_and_the_hot_functions_on_top()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config($"""
              - job_name: go
                scrape_interval: 2s
                static_configs:
                  - targets: ['{go.Address}']
                    labels:
                      env: test
                profiling_config:
                  pprof_config:
                    heap:
                      path: /debug/pprof/heap
            """));

        var expectedLabels = new Dictionary<string, string> { ["env"] = "test", ["instance"] = go.Address, ["job"] = "go" };
        async Task<WrittenProfile> Profile(string name)
        {
            var written = await test.Writer.WaitForAsync(p => p.Name == name, s_guard);
            Assert.Equal(expectedLabels.Append(new("__name__", name)).OrderBy(l => l.Key), written.Labels.OrderBy(l => l.Key));
            return written;
        }

        var cpu = await Profile("process_cpu");
        // Ranked among the program's own functions: on a loaded machine the runtime's memclr/asyncPreempt can come first.
        var (cpuCum, cpuFlat) = GoPprof.ByFunction(cpu.Pprof, "cpu");
        Assert.Equal("main.cpuHeavy", cpuFlat.Where(kv => kv.Key.StartsWith("main.", StringComparison.Ordinal)).MaxBy(kv => kv.Value).Key);
        Assert.True(cpuCum["main.cpuHeavy"] > 3 * cpuCum.GetValueOrDefault("main.cpuLight"), "cpuHeavy does 10x the work of cpuLight");
        Assert.Contains("Duration: 2", GoPprof.Raw(cpu.Pprof), StringComparison.Ordinal);

        var memory = await Profile("memory");
        Assert.Equal("main.allocHeavy", GoPprof.TopFlat(memory.Pprof, "alloc_space"));

        var heap = await Profile("heap");
        Assert.Equal("main.allocHeavy", GoPprof.TopFlat(heap.Pprof, "inuse_space"));

        var goroutine = await Profile("goroutine");
        Assert.Equal(50, GoPprof.CumulativeByFunction(goroutine.Pprof)["main.parkedGoroutine"]);

        var block = await test.Writer.WaitForAsync(p => p.Name == "block" && GoPprof.CumulativeByFunction(p.Pprof, "delay").ContainsKey("main.blockOnChannel"), s_guard);
        Assert.True(GoPprof.CumulativeByFunction(block.Pprof, "delay")["main.blockOnChannel"] > 0);

        var mutex = await test.Writer.WaitForAsync(p => p.Name == "mutex" && GoPprof.CumulativeByFunction(p.Pprof, "delay").ContainsKey("main.contendMutex"), s_guard);
        var mutexMain = GoPprof.CumulativeByFunction(mutex.Pprof, "delay").Where(kv => kv.Key.StartsWith("main.", StringComparison.Ordinal));
        Assert.Equal("main.contendMutex", mutexMain.MaxBy(kv => kv.Value).Key);

        var targets = test.Scraper.ActiveTargets()["go"];
        Assert.Equal(6, targets.Count);
        var cpuTarget = Assert.Single(targets, t => t.ProfileName == "process_cpu");
        Assert.Equal($"http://{go.Address}/debug/pprof/profile?seconds=2", cpuTarget.Url.ToString());
        var (health, lastError, lastScrape, duration) = cpuTarget.State();
        Assert.Equal(TargetHealth.Good, health);
        Assert.Equal("", lastError);
        Assert.NotEqual(default, lastScrape);
        Assert.True(duration >= TimeSpan.FromSeconds(2), $"a 2s CPU profile took {duration}");
    }

    [Fact]
    public async Task Keep_sample_type_leaves_only_the_listed_types()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config($$"""
              - job_name: go
                scrape_interval: 1s
                static_configs:
                  - targets: ['{{go.Address}}']
                profiling_config:
                  pprof_config:
                    memory:
                      keep_sample_type:
                        - type: alloc_space
                          unit: bytes
                    block: { enabled: false }
                    mutex: { enabled: false }
                    goroutine: { enabled: false }
                    process_cpu: { enabled: false }
            """));

        var memory = await test.Writer.WaitForAsync(p => p.Name == "memory", s_guard);
        var raw = GoPprof.Raw(memory.Pprof);
        var header = raw.Split('\n').SkipWhile(l => l != "Samples:").Skip(1).First();
        Assert.Equal("alloc_space/bytes", header.Trim().Replace("[dflt]", "", StringComparison.Ordinal));
        Assert.Equal("main.allocHeavy", GoPprof.TopFlat(memory.Pprof));
        Assert.Single(test.Scraper.ActiveTargets()["go"]);
    }

    [Fact]
    public async Task Http_errors_and_non_pprof_responses_mark_the_target_down_with_the_reason()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config($$"""
              - job_name: broken
                scrape_interval: 1s
                static_configs:
                  - targets: ['{{go.Address}}']
                profiling_config:
                  pprof_config:
                    missing: { path: /debug/pprof/does-not-exist }
                    text: { path: /debug/pprof/cmdline }
                    block: { enabled: false }
                    mutex: { enabled: false }
                    goroutine: { enabled: false }
                    memory: { enabled: false }
                    process_cpu: { enabled: false }
            """));

        var targets = test.Scraper.ActiveTargets()["broken"];
        Assert.Equal(2, targets.Count);
        var missing = targets.Single(t => t.ProfileName == "missing");
        var text = targets.Single(t => t.ProfileName == "text");
        await WaitUntil(() => missing.Health == TargetHealth.Bad && text.Health == TargetHealth.Bad);

        Assert.Equal("server returned HTTP status 404 Not Found", missing.State().LastError);
        Assert.StartsWith("invalid pprof:", text.State().LastError, StringComparison.Ordinal);
        Assert.Empty(test.Writer.Written);
    }

    [Fact]
    public async Task An_unreachable_target_is_down_and_the_others_keep_working()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var deadAddress = $"127.0.0.1:{((System.Net.IPEndPoint)closed.LocalEndpoint).Port}";
        closed.Stop();

        await using var test = await TestServer.StartAsync(TestServer.Config($$"""
              - job_name: mixed
                scrape_interval: 1s
                static_configs:
                  - targets: ['{{deadAddress}}', '{{go.Address}}']
                profiling_config:
                  pprof_config:
                    block: { enabled: false }
                    mutex: { enabled: false }
                    memory: { enabled: false }
                    process_cpu: { enabled: false }
            """));

        var dead = test.Scraper.ActiveTargets()["mixed"].Single(t => t.Labels.Any(l => l is { Key: "instance" } && l.Value == deadAddress));
        await WaitUntil(() => dead.Health == TargetHealth.Bad);
        Assert.Contains("Connection refused", dead.State().LastError, StringComparison.OrdinalIgnoreCase);
        await test.Writer.WaitForAsync(p => p.Labels["instance"] == go.Address, s_guard);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(s_guard);
        while (!condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
