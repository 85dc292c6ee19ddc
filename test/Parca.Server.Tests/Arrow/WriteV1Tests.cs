using Microsoft.Extensions.DependencyInjection;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Server.Tests.Arrow;

/// <summary>
/// The v1 Write exchange with @grpc/grpc-js: sample record → the server answers (read with @uwdata/flechette) with
/// the stack ids it needs → locations record → stored; and the exchange's time limit.
/// </summary>
public sealed class WriteV1Tests
{
    private static readonly long s_now = WriteArrowTests.Now;

    private static ArrowSample[] Rows() =>
    [
        TestRows.Of("main;work;leaf", 3, s_now, ("comm", "app"), ("pid", "1")),
        TestRows.Of("main;work", 2, s_now + 1_000, ("comm", "app"), ("pid", "1")),
        TestRows.Of("main;work;leaf", 5, s_now + 2_000, ("comm", "app"), ("pid", "2")),
        new([new Frame(0x4010, "native", "/usr/lib/libc.so.6", "abc123"), TestRows.Symbolized("main", 0x11)], 4,
            new Dictionary<string, string?> { ["comm"] = "app", ["pid"] = "1", ["thread"] = null }, s_now + 3_000),
        TestRows.Of("main;alloc", 4096, s_now + 4_000, ("comm", "app"), ("pid", "1")) with
        {
            Producer = "memory", SampleType = "inuse_space", SampleUnit = "bytes", PeriodType = "space", PeriodUnit = "bytes",
            Period = 524288, Duration = 0, Temporality = null,
        },
    ];

    [Fact]
    public async Task V1_exchange_asks_for_every_stack_and_stores_exact_stacks()
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0" });
        await server.StartAsync();
        server.Services.GetRequiredService<Parca.Ingest.Arrow.ArrowIngest>().WriteExchangeLimit = TimeSpan.FromSeconds(2);
        var rows = Rows();
        var ids = rows.Select(s => Convert.ToHexString(V1RecordWriter.StackId(s)).ToLowerInvariant()).Distinct().ToList();

        var r = await ArrowPeers.GrpcJsWriteAsync(server,
            new WriteStep("write", "Write", [V1RecordWriter.SampleRecord(rows), V1RecordWriter.LocationsRecord(rows, ids)]),
            new WriteStep("stalled", "Write", [V1RecordWriter.SampleRecord(rows)]),
            new WriteStep("v2OverWrite", "Write", [V2RecordWriter.Write([rows])]));

        var write = r.GetProperty("write");
        ArrowPeers.AssertOk(r, "write");
        Assert.Equal("v1", write.GetProperty("schemaVersion").GetString());
        Assert.Equal(ids, write.GetProperty("requestedIds").EnumerateArray().Select(e => e.GetString()));

        var stalled = r.GetProperty("stalled");
        Assert.Equal(ids.Count, stalled.GetProperty("requestedIds").GetArrayLength());
        Assert.Equal(4, stalled.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("Write: the exchange did not finish within 2 s", stalled.GetProperty("error").GetProperty("details").GetString());
        Assert.Equal(3, r.GetProperty("v2OverWrite").GetProperty("error").GetProperty("code").GetInt32());

        Assert.Equal(["memory:inuse_space:bytes:space:bytes", "parca_agent:samples:count:cpu:nanoseconds:delta"], await ArrowPeers.ProfileTypesAsync(server));
        Assert.Equal(new Dictionary<string, long>
        {
            ["main;work;leaf"] = 8 * WriteArrowTests.CpuPeriod,
            ["main;work"] = 2 * WriteArrowTests.CpuPeriod,
            ["main;0x4010@/usr/lib/libc.so.6[abc123]"] = 4 * WriteArrowTests.CpuPeriod,
        }, await ArrowPeers.StacksAsync(server, "parca_agent:samples:count:cpu:nanoseconds:delta{comm=\"app\"}"));
        Assert.Equal(new Dictionary<string, long> { ["main;work;leaf"] = 5 * WriteArrowTests.CpuPeriod }, await ArrowPeers.StacksAsync(server, "parca_agent:samples:count:cpu:nanoseconds:delta{pid=\"2\"}"));
        Assert.Equal(new Dictionary<string, long> { ["main;alloc"] = 4096 }, await ArrowPeers.StacksAsync(server, "memory:inuse_space:bytes:space:bytes"));
    }
}
