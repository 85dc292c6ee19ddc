using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Scrape.Tests;

/// <summary>Scrape a real Go program into the server's real storage and read it back through the query API.</summary>
public sealed class ScrapeToQueryTests(GoTargetFixture go) : IClassFixture<GoTargetFixture>
{
    [Fact]
    public async Task Scraped_go_profiles_are_queryable_with_their_labels_and_hot_functions_on_top()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config($$"""
              - job_name: go
                scrape_interval: 2s
                static_configs:
                  - targets: ['{{go.Address}}']
                    labels: { env: test }
            """), realStorage: true);
        using var channel = RpcChannel.Create(test.Server.BaseAddress.GetLeftPart(UriPartial.Authority), new RpcChannelOptions { Insecure = true });
        var selector = $$"""{job="go",instance="{{go.Address}}",env="test"}""";

        async Task<byte[]> Merged(string type, Func<Dictionary<string, long>, bool> ready)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            while (true)
            {
                try
                {
                    var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
                    {
                        Mode = QueryRequest.Types.Mode.Merge,
                        Merge = new MergeProfile { Query = type + selector, Start = new Timestamp(), End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(5)) },
                        ReportType = QueryRequest.Types.ReportType.Pprof,
                    });
                    var pprof = response.Pprof.ToByteArray();
                    if (response.Total > 0 && ready(GoPprof.CumulativeByFunction(pprof)))
                    {
                        return pprof;
                    }
                }
                catch (RpcException) when (!cts.IsCancellationRequested)
                {
                    // not ingested yet
                }

                await Task.Delay(200, cts.Token);
            }
        }

        var cpu = await Merged("process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta", f => f.ContainsKey("main.cpuHeavy"));
        var (cpuCum, cpuFlat) = GoPprof.ByFunction(cpu);
        Assert.Equal("main.cpuHeavy", cpuFlat.Where(kv => kv.Key.StartsWith("main.", StringComparison.Ordinal)).MaxBy(kv => kv.Value).Key);
        Assert.True(cpuCum["main.cpuHeavy"] > 3 * cpuCum.GetValueOrDefault("main.cpuLight"));

        var allocs = await Merged("memory:alloc_space:bytes:space:bytes", f => f.ContainsKey("main.allocHeavy"));
        Assert.Equal("main.allocHeavy", GoPprof.TopFlat(allocs));

        var goroutines = await Merged("goroutine:goroutine:count:goroutine:count", f => f.ContainsKey("main.parkedGoroutine"));
        var parked = GoPprof.CumulativeByFunction(goroutines)["main.parkedGoroutine"];
        Assert.True(parked > 0 && parked % 50 == 0, $"50 parked goroutines per snapshot, got {parked}");

        var block = await Merged("block:delay:nanoseconds:contentions:count", f => f.ContainsKey("main.blockOnChannel"));
        Assert.True(GoPprof.CumulativeByFunction(block)["main.blockOnChannel"] > 0);

        var mutex = await Merged("mutex:delay:nanoseconds:contentions:count", f => f.ContainsKey("main.contendMutex"));
        Assert.Equal("main.contendMutex", GoPprof.CumulativeByFunction(mutex).Where(kv => kv.Key.StartsWith("main.", StringComparison.Ordinal)).MaxBy(kv => kv.Value).Key);
    }
}
