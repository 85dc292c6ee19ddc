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
            // Warm-up: after 30 calls the runtime recompiles the service at tier 1; until then its loop runs as
            // on-stack-replacement code, whose caller the unwinder finds only when the OSR frame matches its tier-0
            // version (docs/agent.md ".NET stacks"). The assertion is about the app under steady load.
            for (var i = 0; i < 60; i++)
            {
                await http.GetStringAsync("/primes?limit=20000");
            }

            var from = await DotnetRuntimeTests.WaitForPerfMapAsync(run, app.Id);

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
