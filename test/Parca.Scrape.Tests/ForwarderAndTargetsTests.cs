using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Parca.Pprof;
using Parca.Protocol.Scrape.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Scrape.Forwarding;

namespace Parca.Scrape.Tests;

public sealed class ForwarderAndTargetsTests(GoTargetFixture go) : IClassFixture<GoTargetFixture>
{
    private static readonly TimeSpan s_guard = TimeSpan.FromMinutes(1);

    /// <summary>A loopback port with nothing listening on it (the store "down" until a test starts it there).</summary>
    private static int ClosedLoopbackPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>A server in --mode=scraper-only scraping the Go target and forwarding to 127.0.0.1:storePort through <paramref name="ledger"/>.</summary>
    private Task<TestServer> StartScraperOnlyAsync(int storePort, ForwardLedger ledger, Action<Parca.Server.ParcaServerOptions>? configure = null, Action<IServiceCollection>? services = null) =>
        TestServer.StartAsync(TestServer.Config(go.GoroutineJob()), o =>
        {
            o.Mode = "scraper-only";
            o.StoreAddress = $"127.0.0.1:{storePort}";
            o.Insecure = true;
            configure?.Invoke(o);
        }, services: s =>
        {
            services?.Invoke(s);
            s.AddSingleton(sp => ledger.Wrap(sp.GetRequiredService<ForwardingProfileWriter>()));
        });

    [Fact]
    public async Task Targets_rpc_reports_health_url_labels_and_dropped_targets()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(go.GoroutineJob() + """

              - job_name: none
                static_configs:
                  - targets: ['10.1.1.1:6060']
                relabel_configs:
                  - source_labels: [__address__]
                    regex: 'nothing-matches'
                    action: keep
            """));
        await test.Writer.WaitForAsync(p => p.Name == "goroutine", s_guard);
        using var channel = RpcChannel.Create(test.Server.BaseAddress.GetLeftPart(UriPartial.Authority), new RpcChannelOptions { Insecure = true });

        var active = await channel.UnaryAsync(ParcaApi.Scrape.Targets, new TargetsRequest { State = TargetsRequest.Types.State.Active });

        var target = Assert.Single(active.Targets["go"].Targets_);
        Assert.Equal(Target.Types.Health.Good, target.Health);
        Assert.Equal($"http://{go.Address}/debug/pprof/goroutine", target.Url);
        Assert.Equal("", target.LastError);
        Assert.True(target.LastScrape.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.True(target.LastScrapeDuration.ToTimeSpan() > TimeSpan.Zero);
        Assert.Equal([("instance", go.Address), ("job", "go")], target.Labels.Labels.Select(l => (l.Name, l.Value)));
        Assert.Contains(target.DiscoveredLabels.Labels, l => l.Name == "__address__" && l.Value == go.Address);
        Assert.Empty(active.Targets["none"].Targets_);

        var dropped = await channel.UnaryAsync(ParcaApi.Scrape.Targets, new TargetsRequest { State = TargetsRequest.Types.State.Dropped });
        Assert.Equal(5, dropped.Targets["none"].Targets_.Count);
        Assert.All(dropped.Targets["none"].Targets_, t => Assert.Equal("dropped by relabeling", t.LastError));
        Assert.Empty(dropped.Targets["go"].Targets_);
    }

    [Fact]
    public async Task Scraper_only_mode_forwards_with_bearer_token_and_external_labels_and_delivers_every_profile_scraped_during_outages_exactly_once()
    {
        // The store is down at first: choose a free port and leave it closed.
        var port = ClosedLoopbackPort();

        var ledger = new ForwardLedger();
        var test = await StartScraperOnlyAsync(port, ledger, o =>
        {
            o.BearerToken = "s3cret";
            o.ExternalLabels = new Dictionary<string, string> { ["cluster"] = "eu-1", ["job"] = "not-overridden" };
        });
        var stores = new List<RecordingProfileStore>();
        try
        {
            using var http = new HttpClient { BaseAddress = test.Server.BaseAddress };

            // Outage 1, the store was never up: scrapes succeed and are queued; sends fail and are retried.
            await ledger.WaitForCountAsync(3, s_guard);
            await WaitUntilAsync(async () => await MetricAsync(http, "parca_forward_failures_total") >= 1);
            var outage1 = ledger.Snapshot();
            stores.Add(await RecordingProfileStore.StartAsync(port));
            await WaitUntilAsync(() => Task.FromResult(Delivered(stores).IsSupersetOf(outage1.Select(p => p.TimeNanos))));

            var (series, token) = stores[0].Requests.First();
            Assert.Equal("s3cret", token);
            Assert.Equal(
                [("__name__", "goroutine"), ("cluster", "eu-1"), ("instance", go.Address), ("job", "go")],
                series.Labels.Labels.Select(l => (l.Name, l.Value)).OrderBy(l => l.Name, StringComparer.Ordinal));
            var raw = Assert.Single(series.Samples).RawProfile.ToByteArray();
            Assert.Equal(50, GoPprof.CumulativeByFunction(raw)["main.parkedGoroutine"]);

            // Outage 2, the store goes away while the forwarder is connected, then comes back on the same address.
            await stores[0].DisposeAsync();
            var failures = await MetricAsync(http, "parca_forward_failures_total");
            var before = ledger.Count;
            await ledger.WaitForCountAsync(before + 3, s_guard);
            await WaitUntilAsync(async () => await MetricAsync(http, "parca_forward_failures_total") > failures);
            var outage2 = ledger.Snapshot()[before..];
            stores.Add(await RecordingProfileStore.StartAsync(port));
            await WaitUntilAsync(() => Task.FromResult(Delivered(stores).IsSupersetOf(outage2.Select(p => p.TimeNanos))));

            // Shutdown stops scraping, then flushes the queue: every profile the forwarder accepted arrived, exactly once.
            await test.DisposeAsync();
            var accepted = ledger.Snapshot();
            var received = stores.SelectMany(s => s.Requests).SelectMany(r => r.Series.Samples)
                .Select(sample => PprofDecoder.DecodeProfile(sample.RawProfile.Span).TimeNanos)
                .Order().ToArray();
            Assert.Equal(accepted.Select(p => p.TimeNanos).Order().ToArray(), received);
            Assert.Equal(accepted.Length, accepted.Select(p => p.TimeNanos).Distinct().Count()); // each scrape is a distinct profile
            Assert.All(stores.SelectMany(s => s.Requests), r => Assert.Equal("s3cret", r.BearerToken));
            Assert.Empty(test.Writer.Written);
        }
        finally
        {
            await test.DisposeAsync();
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Scraper_only_mode_flushes_the_queue_at_shutdown_while_a_send_is_in_flight()
    {
        // A store that holds every call until the test opens the gate.
        using var gate = new SemaphoreSlim(0);
        var calls = 0;
        var store = await RecordingProfileStore.StartAsync(beforeRecording: async (_, cancellationToken) =>
        {
            Interlocked.Increment(ref calls);
            await gate.WaitAsync(cancellationToken);
            gate.Release(); // stays open
        });
        var ledger = new ForwardLedger();
        var test = await StartScraperOnlyAsync(store.Port, ledger);
        try
        {
            // One batch is in flight (held by the store) and more profiles wait behind it when shutdown begins.
            await WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref calls) >= 1 && ledger.Count >= 3));
            var forwarder = test.Server.Services.GetRequiredService<ForwardingProfileWriter>();
            var disposing = test.DisposeAsync().AsTask();
            await WaitUntilAsync(() => Task.FromResult(forwarder.Closed));
            gate.Release();
            await disposing;

            var accepted = ledger.Snapshot().Select(p => p.TimeNanos).Order().ToArray();
            Assert.True(accepted.Length >= 3);
            Assert.Equal(accepted, Received([store]));
        }
        finally
        {
            gate.Release();
            await test.DisposeAsync();
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Scraper_only_mode_drops_only_the_profile_the_store_refuses_and_delivers_the_rest_of_its_batch()
    {
        var port = ClosedLoopbackPort();

        var ledger = new ForwardLedger();
        var test = await StartScraperOnlyAsync(port, ledger);
        RecordingProfileStore? store = null;
        try
        {
            using var http = new HttpClient { BaseAddress = test.Server.BaseAddress };
            await ledger.WaitForCountAsync(4, s_guard);
            await WaitUntilAsync(async () => await MetricAsync(http, "parca_forward_failures_total") >= 1);

            // The store refuses (INVALID_ARGUMENT, all or nothing, like Parca's) any request holding one chosen profile.
            var bad = ledger.Snapshot()[^2].TimeNanos;
            store = await RecordingProfileStore.StartAsync(port, (request, _) =>
                request.Series.SelectMany(s => s.Samples).Any(sample => PprofDecoder.DecodeProfile(sample.RawProfile.Span).TimeNanos == bad)
                    ? throw new RpcException(StatusCode.InvalidArgument, "profile refused by the test store")
                    : Task.CompletedTask);
            await WaitUntilAsync(async () => await MetricAsync(http, "parca_forward_rejected_total") >= 1);
            var before = ledger.Count;
            await ledger.WaitForCountAsync(before + 1, s_guard); // later profiles still flow
            await test.DisposeAsync();

            var accepted = ledger.Snapshot().Select(p => p.TimeNanos).Where(t => t != bad).Order().ToArray();
            Assert.Equal(accepted, Received([store]));
        }
        finally
        {
            await test.DisposeAsync();
            if (store is not null)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Scraper_only_mode_bounds_the_queue_by_dropping_the_oldest_waiting_profiles()
    {
        var port = ClosedLoopbackPort();

        var ledger = new ForwardLedger();
        var test = await StartScraperOnlyAsync(port, ledger, services: s =>
            s.AddSingleton(_ => new ForwarderOptions { StoreAddress = $"127.0.0.1:{port}", Insecure = true, MaxQueuedProfiles = 3 }));

        // Counts this server's drops as they happen (the forwarder's meter comes from the server's IMeterFactory).
        long dropped = 0;
        var meters = test.Server.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "parca_forward_dropped_total" && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();
        RecordingProfileStore? store = null;
        try
        {
            // The store stays down until the 3-profile queue overflowed twice.
            await WaitUntilAsync(() => Task.FromResult(Interlocked.Read(ref dropped) >= 2));
            store = await RecordingProfileStore.StartAsync(port);
            await WaitUntilAsync(() => Task.FromResult(Received([store]).Length + Interlocked.Read(ref dropped) >= ledger.Count));
            await test.DisposeAsync();

            var accepted = ledger.Snapshot().Select(p => p.TimeNanos).ToArray();
            var received = Received([store]);
            Assert.Equal(received.Length, received.Distinct().Count());
            var missing = accepted.Select((t, i) => (t, i)).Where(x => Array.BinarySearch(received, x.t) < 0).Select(x => x.i).ToArray();
            Assert.Equal(Interlocked.Read(ref dropped), missing.Length);
            Assert.Equal(accepted.Length - missing.Length, received.Length);
            Assert.True(missing.Length >= 2);
            Assert.DoesNotContain(0, missing); // the first profile was the batch being sent: kept and retried
            Assert.Equal(Enumerable.Range(missing[0], missing.Length), missing); // the oldest waiting ones, in a row
            Assert.True(missing[^1] + 3 < accepted.Length, "the newest profiles of the outage were kept");
        }
        finally
        {
            await test.DisposeAsync();
            if (store is not null)
            {
                await store.DisposeAsync();
            }
        }
    }

    private static long[] Received(IEnumerable<RecordingProfileStore> stores) =>
        [.. stores.SelectMany(s => s.Requests).SelectMany(r => r.Series.Samples).Select(sample => PprofDecoder.DecodeProfile(sample.RawProfile.Span).TimeNanos).Order()];

    private static HashSet<long> Delivered(List<RecordingProfileStore> stores) =>
        [.. stores.SelectMany(s => s.Requests).SelectMany(r => r.Series.Samples).Select(sample => PprofDecoder.DecodeProfile(sample.RawProfile.Span).TimeNanos)];

    /// <summary>The value of an unlabelled counter in the server's /metrics (0 while it has never been incremented).</summary>
    private static async Task<double> MetricAsync(HttpClient http, string name)
    {
        var text = await http.GetStringAsync("metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(name.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Polls a condition (the guard only stops a hang; nothing here measures speed).</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (!await condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
