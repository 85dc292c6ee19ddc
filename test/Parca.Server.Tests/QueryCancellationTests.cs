using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// A long query cancelled mid-way, by a client that disconnects and by a gRPC deadline, on a real server: the server
/// stops scanning (parca_query_series_examined_total stops short of the series there are and stays put), counts the
/// call in parca_query_cancelled_total, and keeps answering. The query is slow by construction: a regex whose DFA
/// has about 2^20 states over 20,000 label values of 2,000 characters, so the linear-time engine runs in its NFA
/// mode, tens of seconds of work in all.
/// </summary>
public sealed class QueryCancellationTests : IAsyncLifetime
{
    private const int Series = 20_000;
    private const string SlowQuery = "process_cpu:samples:count:cpu:nanoseconds{v=~\".*a.{20}\"}";
    private ParcaServer _server = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            StorageRetention = TimeSpan.Zero,
            ConfigPath = "/nonexistent/parca.yaml",
        });
        await _server.StartAsync();

        var pprof = ByteString.CopyFrom(Tiny());
        var random = new Random(7);
        using var channel = Channel();
        var store = new ProfileStoreService.ProfileStoreServiceClient(channel);
        var request = new WriteRawRequest();
        var value = new char[2000];
        for (var i = 0; i < Series; i++)
        {
            if (request.Series.Count == 5_000) // 10 MB a request: under Kestrel's body limit
            {
                await store.WriteRawAsync(request);
                request = new WriteRawRequest();
            }

            for (var c = 0; c < value.Length; c++)
            {
                value[c] = random.Next(2) == 0 ? 'a' : 'b';
            }

            var series = new RawProfileSeries { Labels = new LabelSet() };
            series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
            series.Labels.Labels.Add(new Label { Name = "v", Value = new string(value) + "c" }); // ends in c: no value matches
            series.Samples.Add(new RawSample { RawProfile = pprof });
            request.Series.Add(series);
        }

        await store.WriteRawAsync(request);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Grpc.Net.Client.GrpcChannel Channel() =>
        GrpcChannels.Create($"127.0.0.1:{_server.BaseAddress.Port}", new RpcChannelOptions { Insecure = true, MaxAttempts = 1 });

    private static byte[] Tiny()
    {
        var p = new Pprof.Profile { PeriodType = new Pprof.PprofValueType("cpu", "nanoseconds"), Period = 1, TimeNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000 };
        p.SampleTypes.Add(new Pprof.PprofValueType("samples", "count"));
        p.Mappings.Add(new Pprof.Mapping { Id = 1, MemoryStart = 0x1000, MemoryLimit = 0x2000, Filename = "/bin/x" });
        p.Functions.Add(new Pprof.Function { Id = 1, Name = "f", SystemName = "f" });
        var loc = new Pprof.Location { Id = 1, MappingId = 1, Address = 0x1100 };
        loc.Lines.Add(new Pprof.Line(1, 1));
        p.Locations.Add(loc);
        p.Samples.Add(new Pprof.Sample { LocationIds = [1], Values = [1] });
        return Pprof.PprofEncoder.Encode(p);
    }

    private static QueryRangeRequest Slow() => new()
    {
        Query = SlowQuery,
        Start = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
        End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
        Step = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
    };

    private async Task<long> MetricAsync(string name)
    {
        var text = await _http.GetStringAsync(_server.BaseAddress + "metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return (long)double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Waits until the in-flight gauge is back to zero (the server's call has ended).</summary>
    private async Task WaitIdleAsync()
    {
        for (var i = 0; i < 600 && await MetricAsync("parca_query_in_flight") != 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0, await MetricAsync("parca_query_in_flight"));
    }

    [Fact]
    public async Task A_query_cancelled_by_disconnect_or_deadline_stops_scanning_and_the_server_keeps_answering()
    {
        using var channel = Channel();
        var query = new QueryService.QueryServiceClient(channel);

        // 1. The client disconnects once the server has started scanning.
        using (var disconnect = new CancellationTokenSource())
        {
            var call = query.QueryRangeAsync(Slow(), cancellationToken: disconnect.Token);
            while (await MetricAsync("parca_query_series_examined_total") == 0)
            {
                await Task.Delay(20);
            }

            disconnect.Cancel();
            var e = await Assert.ThrowsAsync<RpcException>(async () => await call);
            Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        }

        await WaitIdleAsync();
        var examined = await MetricAsync("parca_query_series_examined_total");
        Assert.InRange(examined, 1, Series - 1); // stopped mid-way
        Assert.Equal(1, await MetricAsync("parca_query_cancelled_total"));

        // 2. A gRPC deadline ends the next one the same way (DEADLINE_EXCEEDED).
        var late = await Assert.ThrowsAsync<RpcException>(async () => await query.QueryRangeAsync(Slow(), deadline: DateTime.UtcNow.AddMilliseconds(500)));
        Assert.Equal(StatusCode.DeadlineExceeded, late.StatusCode);
        await WaitIdleAsync();
        Assert.Equal(2, await MetricAsync("parca_query_cancelled_total"));
        var afterDeadline = await MetricAsync("parca_query_series_examined_total");
        Assert.InRange(afterDeadline - examined, 0, Series - 1);

        // Nothing keeps scanning in the background, and the server answers the next query in full.
        await Task.Delay(500);
        Assert.Equal(afterDeadline, await MetricAsync("parca_query_series_examined_total"));
        var types = await query.ProfileTypesAsync(new ProfileTypesRequest());
        Assert.Equal(["process_cpu"], types.Types_.Select(t => t.Name).Distinct());
        Assert.Equal("ok\n", await _http.GetStringAsync(_server.BaseAddress + "healthz"));
    }
}
