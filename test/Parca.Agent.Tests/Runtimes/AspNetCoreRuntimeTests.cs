namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// An ASP.NET Core app started with no profiling environment, under HTTP load on loopback: its thread-pool threads'
/// stacks show the controller calling the service, named, read back from a real parca.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class AspNetCoreRuntimeTests
{
    private const string Service = "Tracee.Web.PrimeService::Count";
    private const string Controller = "Tracee.Web.PrimesController::Get";

    [Fact]
    public async Task Thread_pool_threads_under_http_load_show_controller_calling_service()
    {
        var dll = DotnetTracees.Build("aspnet");
        await using var run = await ServerReadback.StartAsync("dotnet", extraRelabel: DotnetRuntimeTests.ThreadLabel);
        using var app = DotnetTracees.Start(dll);
        try
        {
            var address = await ReadAddressAsync(app);
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            Assert.Equal("1229", await http.GetStringAsync("/primes?limit=10000"));
            // Warm-up to the steady state the assertion is about: the service's loop first runs as tier-0 code,
            // then as on-stack-replacement code, then instrumented (tiered PGO), and only after a second round of
            // calls and a background compile at tier 1. Code compiled since the agent last read the perf map has no
            // unwind rows until it reads the map again (docs/agent.md ".NET stacks"), so the load starts once the
            // tier-1 service is in the map and the agent has analysed it.
            for (var i = 0; i < 60; i++)
            {
                await http.GetStringAsync("/primes?limit=20000");
            }

            await DotnetRuntimeTests.WaitForPerfMapAsync(run, app.Id);
            var jit = run.Agent.Agent.JitUnwind!;
            Task Request() => http.GetStringAsync("/primes?limit=20000");
            // Requests keep coming while the test waits: tiering is driven by calls, and the agent reads the perf map
            // again when samples run code it has no rows for (within the window, JitCodeWatch). Both waits are
            // bounded in the agent's windows, not in requests (a count of requests can end in seconds on a fast
            // machine and take minutes on a loaded one).
            Assert.True(
                await run.Agent.WaitUntilAsync(() => TierOneCode(app.Id) != 0, maxWindows: 60, Request),
                $"{Service} never reached tier 1:\n{string.Join("\n", DotnetTracees.PerfMapEntries(app.Id).Where(e => e.Name.Contains(Service, StringComparison.Ordinal)))}");
            var tier1 = TierOneCode(app.Id);
            Assert.True(
                await run.Agent.WaitUntilAsync(() => DotnetTracees.Tier1WithRows(jit, app.Id, Service + "(int32)") != 0, maxWindows: 4, Request),
                $"the agent has no unwind rows for the tier-1 service at {tier1:x} after 4 windows ({run.Agent.Agent.Metrics.DotnetPerfMapRereads} perf map re-reads)");
            var from = DateTimeOffset.UtcNow;

            // Two concurrent clients for six seconds: requests run on thread-pool threads.
            var until = DateTime.UtcNow.AddSeconds(6);
            var requests = 0;
            async Task ClientAsync()
            {
                while (DateTime.UtcNow < until)
                {
                    await http.GetStringAsync("/primes?limit=60000");
                    Interlocked.Increment(ref requests);
                }
            }

            await Task.WhenAll(ClientAsync(), ClientAsync());
            Assert.True(requests > 0);
            // Thread-pool threads (".NET TP Worker") run the requests.
            var (traces, file) = await run.StopAndQueryAsync(app.Id, from, ",thread=\".NET TP Worker\"");

            var inService = traces.Where(t => t.Frames.Length > 0 && t.Frames[0] == Service).ToList();
            var total = inService.Sum(t => t.Seconds);
            Assert.True(total > 0, $"no sample has {Service} as its leaf:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
            var withController = inService.Where(t => t.Frames.Length > 1 && t.Frames[1] == Controller).Sum(t => t.Seconds);
            Assert.True(withController >= 0.9 * total, $"{Controller} -> {Service} holds {withController:F2}s of {total:F2}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
            DotnetRuntimeTests.AssertAtMostOneWarning(run.Agent, app.Id);
            AssertOsrCodePaired(jit.Methods(app.Id), app.Id);
        }
        finally
        {
            app.StandardInput.Close();
            if (!app.WaitForExit(10_000))
            {
                app.Kill();
            }
        }
    }

    /// <summary>The start of the service's tier-1 code once the perf map lists it, else 0.</summary>
    private static ulong TierOneCode(int pid) =>
        DotnetTracees.PerfMapEntries(pid).FirstOrDefault(e => e.Name.Contains(Service + "(int32)[OptimizedTier1]", StringComparison.Ordinal)).Start;

    /// <summary>
    /// Every on-stack-replacement version of the service got rows once a tier-0 version did: OSR code runs on its
    /// tier-0 frame and is unwound with that frame's shape, whatever order the perf map lists them in (the listing
    /// written when the map is turned on follows the code heap, not time).
    /// </summary>
    private static void AssertOsrCodePaired(List<(ulong Start, uint Size, bool HasRows)> analysed, int pid)
    {
        var entries = DotnetTracees.PerfMapEntries(pid).Where(e => e.Name.Contains(Service + "(int32)[", StringComparison.Ordinal)).ToList();
        var tier0WithRows = entries.Any(e => !e.Name.EndsWith("OSR]", StringComparison.Ordinal) && !e.Name.EndsWith("[OptimizedTier1]", StringComparison.Ordinal)
            && analysed.Any(m => m.Start == e.Start && m.HasRows));
        Assert.True(tier0WithRows, "no tier-0 version of the service was analysed:\n" + string.Join("\n", entries));
        foreach (var osr in entries.Where(e => e.Name.EndsWith("OSR]", StringComparison.Ordinal)))
        {
            Assert.True(analysed.Any(m => m.Start == osr.Start && m.HasRows), $"the OSR code at {osr.Start:x} has no unwind rows:\n{string.Join("\n", entries)}");
        }
    }

    private static async Task<string> ReadAddressAsync(System.Diagnostics.Process app)
    {
        while (await app.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                return line["listening ".Length..];
            }
        }

        throw new InvalidOperationException("the app exited before it printed its address");
    }
}
