using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Parca.Pprof;
using Parca.Scrape.Config;

namespace Parca.Scrape.Tests;

/// <summary>The server's own /debug/pprof endpoints, read back with go tool pprof. The server runs in this process,
/// so work done by the test's own threads shows up in its profiles under the test's method names.</summary>
[CollectionDefinition("self-profiling", DisableParallelization = true)]
public sealed class SelfProfilingCollection;

[Collection("self-profiling")]
public sealed class SelfProfilingTests
{
    private const string Self = "Parca.Scrape.Tests.SelfProfilingTests.";

    private static byte[] s_allocated = [];

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double BurnCpu(CancellationToken stop)
    {
        var x = 0.0;
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i < 100_000; i++)
            {
                x += Math.Sqrt(i);
            }
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long AllocateALot(CancellationToken stop)
    {
        long total = 0;
        while (!stop.IsCancellationRequested)
        {
            // Stored in a static so it escapes: .NET 10 would otherwise allocate it on the stack.
            s_allocated = new byte[4096];
            total += s_allocated.Length;
        }

        return total;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ParkedThread(ManualResetEventSlim release)
    {
        release.Wait();
        GC.KeepAlive(release); // keeps the call out of tail position, so this frame stays on the stack
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ContendLock(Lock gate, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            lock (gate)
            {
                Thread.Sleep(1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BlockOnWaitHandle(CancellationToken stop)
    {
        using var never = new ManualResetEvent(false);
        while (!stop.IsCancellationRequested)
        {
            never.WaitOne(20); // times out: 20 ms blocked each time
        }
    }

    private static async Task<byte[]> Get(TestServer test, string path)
    {
        using var http = new HttpClient { BaseAddress = test.Server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task<T> WhileRunning<T>(Action<CancellationToken> work, Func<Task<T>> measure)
    {
        using var stop = new CancellationTokenSource();
        var thread = new Thread(() => work(stop.Token)) { IsBackground = true };
        thread.Start();
        try
        {
            return await measure();
        }
        finally
        {
            await stop.CancelAsync();
            thread.Join();
        }
    }

    [Fact]
    public async Task Cpu_profile_has_managed_method_names_with_the_hot_method_on_top()
    {
        await using var test = await TestServer.StartAsync("");
        var profile = await WhileRunning(s => BurnCpu(s), () => Get(test, "debug/pprof/profile?seconds=2"));

        var (cumulative, flat) = GoPprof.ByFunction(profile, "cpu");
        // Idle thread-pool workers spin in LowLevelSpinWaiter/LowLevelLifoSemaphore before they sleep: real but
        // incidental CPU of this test process, left out of the ranking.
        var ranked = flat.Where(kv => !kv.Key.StartsWith("System.Threading.LowLevel", StringComparison.Ordinal));
        Assert.StartsWith(Self + "BurnCpu", ranked.MaxBy(kv => kv.Value).Key, StringComparison.Ordinal);
        var burn = cumulative.Single(kv => kv.Key.StartsWith(Self + "BurnCpu", StringComparison.Ordinal)).Value;
        Assert.InRange(burn, 500_000_000, 2_500_000_000); // one busy thread for ~2 s; samples are scaled by the achieved sampling rate
        Assert.Contains(cumulative.Keys, k => k.StartsWith(Self + "<>c", StringComparison.Ordinal) || k.Contains("ThreadStart", StringComparison.Ordinal) || k.Contains("StartCallback", StringComparison.Ordinal));
        var raw = GoPprof.Raw(profile);
        Assert.Contains("PeriodType: cpu nanoseconds", raw, StringComparison.Ordinal);
        Assert.Contains("samples/count cpu/nanoseconds", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Allocation_profile_attributes_bytes_to_the_allocating_method()
    {
        await using var test = await TestServer.StartAsync("");
        var profile = await WhileRunning(s => AllocateALot(s), () => Get(test, "debug/pprof/allocs?seconds=2"));

        var cumulative = GoPprof.CumulativeByFunction(profile, "alloc_space");
        var total = GoPprof.ByFunction(profile, "alloc_space").Flat.Values.Sum();
        var allocating = cumulative.Single(kv => kv.Key.StartsWith(Self + "AllocateALot", StringComparison.Ordinal)).Value;
        Assert.True(allocating > total / 2, $"AllocateALot has {allocating} of {total} bytes");
    }

    [Fact]
    public async Task Thread_stacks_show_a_parked_thread_and_contention_shows_the_contended_lock()
    {
        await using var test = await TestServer.StartAsync("", o => o.MutexProfileFraction = 1);
        using var release = new ManualResetEventSlim();
        var parked = new Thread(() => ParkedThread(release)) { IsBackground = true };
        parked.Start();
        try
        {
            var threads = await Get(test, "debug/pprof/goroutine");
            Assert.Equal(1, GoPprof.CumulativeByFunction(threads).Single(kv => kv.Key.StartsWith(Self + "ParkedThread", StringComparison.Ordinal)).Value);
        }
        finally
        {
            release.Set();
            parked.Join();
        }

        var gate = new Lock();
        var contention = await WhileRunning(s => ContendLock(gate, s), () => WhileRunning(s => ContendLock(gate, s), () => Get(test, "debug/pprof/mutex?seconds=2")));
        var contentions = GoPprof.CumulativeByFunction(contention, "contentions");
        var delay = GoPprof.CumulativeByFunction(contention, "delay");
        Assert.True(contentions.Single(kv => kv.Key.StartsWith(Self + "ContendLock", StringComparison.Ordinal)).Value >= 1);
        Assert.True(delay.Single(kv => kv.Key.StartsWith(Self + "ContendLock", StringComparison.Ordinal)).Value >= 500_000, "each wait lasts about as long as the 1 ms hold");
    }

    [Fact]
    public async Task Block_profile_shows_the_blocking_wait_with_its_managed_stack_when_the_rate_is_set()
    {
        // 10 ms: every 20 ms wait is longer than the rate, so each is kept as it is (count 1, its own delay).
        await using var test = await TestServer.StartAsync("", o => o.BlockProfileRate = 10_000_000);
        var profile = await WhileRunning(s => BlockOnWaitHandle(s), () => Get(test, "debug/pprof/block?seconds=2"));

        var decoded = PprofDecoder.DecodeProfile(profile); // validates: string indices, ids, one value per sample type
        Assert.Equal([new PprofValueType("contentions", "count"), new PprofValueType("delay", "nanoseconds")], decoded.SampleTypes);
        Assert.Equal(new PprofValueType("contentions", "count"), decoded.PeriodType);
        var contentions = GoPprof.CumulativeByFunction(profile, "contentions");
        var delay = GoPprof.CumulativeByFunction(profile, "delay");
        var waits = contentions.Single(kv => kv.Key.StartsWith(Self + "BlockOnWaitHandle", StringComparison.Ordinal)).Value;
        var blocked = delay.Single(kv => kv.Key.StartsWith(Self + "BlockOnWaitHandle", StringComparison.Ordinal)).Value;
        Assert.True(waits >= 1);
        Assert.True(blocked >= waits * 15_000_000, $"{waits} waits of 20 ms blocked only {blocked} ns");
        Assert.Contains(delay.Keys, k => k.StartsWith("System.Threading.WaitHandle.WaitOne", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Mutex_and_block_profiles_are_empty_while_their_rates_are_zero_as_in_go()
    {
        await using var test = await TestServer.StartAsync("");
        foreach (var path in new[] { "debug/pprof/mutex", "debug/pprof/block" })
        {
            var profile = await WhileRunning(s => BlockOnWaitHandle(s), () => Get(test, path));
            var decoded = PprofDecoder.DecodeProfile(profile);
            Assert.Equal([new PprofValueType("contentions", "count"), new PprofValueType("delay", "nanoseconds")], decoded.SampleTypes);
            Assert.Empty(decoded.Samples);
            Assert.Contains(decoded.Comments, c => c.Contains("profiling is off: start parca with --", StringComparison.Ordinal));
            Assert.Contains("contentions/count delay/nanoseconds", GoPprof.Raw(profile), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bad_requests_and_missing_profiles_get_4xx_with_a_reason()
    {
        await using var test = await TestServer.StartAsync("");
        using var http = new HttpClient { BaseAddress = test.Server.BaseAddress };

        var bad = await http.GetAsync("debug/pprof/profile?seconds=abc");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("invalid seconds parameter 'abc': must be an integer from 1 to 300\n", await bad.Content.ReadAsStringAsync());

        var heap = await http.GetAsync("debug/pprof/heap");
        Assert.Equal(HttpStatusCode.NotFound, heap.StatusCode);
        Assert.StartsWith("heap profile not available", await heap.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_config_makes_the_server_scrape_its_own_cpu_and_allocations()
    {
        await using var test = await TestServer.StartAsync("");
        var address = $"{test.Server.BaseAddress.Host}:{test.Server.BaseAddress.Port}";
        var yaml = (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "parca.yaml")))
            .Replace("127.0.0.1:7070", address, StringComparison.Ordinal)
            .Replace("scrape_interval: \"10s\"", "scrape_interval: \"2s\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(test.ConfigPath, yaml);
        Assert.True(await test.Server.Services.GetRequiredService<ConfigReloader>().ReloadAsync());

        var guard = TimeSpan.FromMinutes(2);
        var cpu = await test.Writer.WaitForAsync(p => p.Name == "process_cpu", guard);
        Assert.Equal(new Dictionary<string, string> { ["__name__"] = "process_cpu", ["instance"] = address, ["job"] = "parca" }, cpu.Labels);
        Assert.Contains("samples/count cpu/nanoseconds", GoPprof.Raw(cpu.Pprof), StringComparison.Ordinal);
        var memory = await test.Writer.WaitForAsync(p => p.Name == "memory", guard);
        Assert.Contains("alloc_space/bytes", GoPprof.Raw(memory.Pprof), StringComparison.Ordinal);
        await test.Writer.WaitForAsync(p => p.Name == "goroutine", guard);
        await test.Writer.WaitForAsync(p => p.Name == "mutex", guard);
        var targets = test.Scraper.ActiveTargets()["parca"];
        Assert.All(targets, t => Assert.Equal("", t.State().LastError));
    }
}
