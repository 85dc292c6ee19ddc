using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;

namespace Parca.Query.Tests.EndToEnd;

/// <summary>
/// REPORT_TYPE_FLAMECHART on a real server: three 10 s CPU profiles of two threads become one labels-only row per
/// (thread, profile time) with Parca's timestamp column set, each over that profile's own stacks, read back with
/// apache-arrow.
/// </summary>
public sealed class FlamechartTests : IAsyncLifetime
{
    private const long T0 = 1_700_000_000_000_000_000;
    private const long Second = 1_000_000_000;
    private ParcaServer _server = null!;
    private RpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", StorageRetention = TimeSpan.Zero });
        await _server.StartAsync();
        _channel = RpcChannel.Create(_server.BaseAddress.ToString().TrimEnd('/'));
        await Write("a", T0, ("main;work", 3));
        await Write("b", T0, ("main;io", 1));
        await Write("a", T0 + (10 * Second), ("main;work", 2), ("main;gc", 2));
        await Write("b", T0 + (20 * Second), ("main;io", 5));
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Every_profile_of_every_thread_is_its_own_timestamped_row()
    {
        var request = new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            ReportType = QueryRequest.Types.ReportType.Flamechart,
            Merge = new MergeProfile
            {
                Query = "cpu:samples:count:cpu:nanoseconds:delta{job=\"chart\"}",
                Start = new Timestamp { Seconds = (T0 / Second) - 60 },
                End = new Timestamp { Seconds = (T0 / Second) + 60 },
            },
            GroupBy = new GroupBy { Fields = { "function_name", "labels.thread" } },
        };
        var response = await _channel.UnaryAsync(ParcaApi.QueryService.Query, request);
        var rows = ArrowReader.Read(response.FlamegraphArrow.Record.ToByteArray()).GetProperty("rows").EnumerateArray().ToArray();

        var paths = new Dictionary<string, long>();
        for (var i = 1; i < rows.Length; i++)
        {
            var names = new List<string>();
            for (var n = i; n > 0; n = rows[n].GetProperty("parent").GetInt32())
            {
                var row = rows[n];
                names.Add(row.GetProperty("labels_only").GetBoolean()
                    ? $"{row.GetProperty("labels.thread").GetString()}@{(long.Parse(row.GetProperty("timestamp").ToString(), CultureInfo.InvariantCulture) - T0) / Second}s"
                    : row.GetProperty("function_name").GetString()!);
            }

            names.Reverse();
            paths[string.Join(";", names)] = long.Parse(rows[i].GetProperty("cumulative").ToString(), CultureInfo.InvariantCulture);
        }

        const long ms10 = 10_000_000; // one sample of the 100 Hz profiles, in nanoseconds
        Assert.Equal(new Dictionary<string, long>
        {
            ["a@0s"] = 3 * ms10,
            ["a@0s;main"] = 3 * ms10,
            ["a@0s;main;work"] = 3 * ms10,
            ["b@0s"] = 1 * ms10,
            ["b@0s;main"] = 1 * ms10,
            ["b@0s;main;io"] = 1 * ms10,
            ["a@10s"] = 4 * ms10,
            ["a@10s;main"] = 4 * ms10,
            ["a@10s;main;work"] = 2 * ms10,
            ["a@10s;main;gc"] = 2 * ms10,
            ["b@20s"] = 5 * ms10,
            ["b@20s;main"] = 5 * ms10,
            ["b@20s;main;io"] = 5 * ms10,
        }, paths);
        // Stack rows carry no timestamp (it belongs to the profile's row), as the group rows' labels do.
        Assert.All(rows.Where(r => !r.GetProperty("labels_only").GetBoolean()), r => Assert.Equal(JsonValueKind.Null, r.GetProperty("timestamp").ValueKind));

        // The same selection as a flame graph merges the profiles (no timestamps).
        request.ReportType = QueryRequest.Types.ReportType.FlamegraphArrow;
        request.GroupBy = new GroupBy { Fields = { "function_name" } };
        var merged = await _channel.UnaryAsync(ParcaApi.QueryService.Query, request);
        var mergedRows = ArrowReader.Read(merged.FlamegraphArrow.Record.ToByteArray()).GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(5, mergedRows.Length); // root, main, work, io, gc
        Assert.Equal(13 * ms10, long.Parse(mergedRows[0].GetProperty("cumulative").ToString(), CultureInfo.InvariantCulture));
    }

    private Task<WriteRawResponse> Write(string thread, long time, params (string Stack, long Samples)[] samples)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "cpu" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = "chart" });
        series.Labels.Labels.Add(new Label { Name = "thread", Value = thread });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(PprofBuilder.Cpu(time, samples)) });
        return _channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, new WriteRawRequest { Series = { series } });
    }
}
