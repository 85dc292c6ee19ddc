using Parca.Agent.Shipping.Arrow;

namespace Parca.Server.Tests.Arrow;

/// <summary>
/// v2 records as parca-agent writes them, sent by @grpc/grpc-js over h2c to a real server, read back through the
/// query API: exact stacks, values, labels and profile types.
/// </summary>
public sealed class WriteArrowTests
{
    internal static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10 * 1_000_000_000;

    private static ArrowSample[] CpuBatch(string job) =>
    [
        TestRows.Of("main;work;leaf", 3, Now, ("job", job), ("comm", "app"), ("pid", "1")),
        TestRows.Of("main;work", 2, Now + 1_000, ("job", job), ("comm", "app"), ("pid", "1")), // a run inside the stack above
        TestRows.Of("main;work;leaf", 5, Now + 2_000, ("job", job), ("comm", "app"), ("pid", "2")),
        // A null stack is accepted and stored at the root, as WriteRaw stores a pprof sample without locations;
        // merge reports leave the root's own value out, so it shows in neither the stacks nor the total.
        new(null, 7, new Dictionary<string, string?> { ["job"] = job, ["comm"] = "app", ["pid"] = "1" }, Now + 3_000),
        new([new Frame(0x4010, "native", "/usr/lib/libc.so.6", "abc123"), TestRows.Symbolized("main", 0x11)], 4,
            new Dictionary<string, string?> { ["job"] = job, ["comm"] = "app", ["pid"] = "1", ["thread"] = null }, Now + 4_000),
    ];

    private static ArrowSample[] OtherTypesBatch(string job) =>
    [
        TestRows.Of("main;sleep", 1_000_000, Now + 5_000, ("job", job), ("comm", "app"), ("pid", "1")) with
        {
            SampleType = "wallclock", SampleUnit = "nanoseconds", PeriodType = "samples", PeriodUnit = "count", Period = 0,
        },
        TestRows.Of("main;alloc", 4096, Now + 6_000, ("job", job), ("comm", "app"), ("pid", "1")) with
        {
            Producer = "memory", SampleType = "inuse_space", SampleUnit = "bytes", PeriodType = "space", PeriodUnit = "bytes",
            Period = 524288, Duration = 0, Temporality = null,
        },
    ];

    /// <summary>CPU samples are counts; the query API reports them in the period's unit (count × period), as Parca.</summary>
    internal const long CpuPeriod = 52_631_578;

    private static readonly Dictionary<string, long> s_expectedCpu = new()
    {
        ["main;work;leaf"] = 8 * CpuPeriod,
        ["main;work"] = 2 * CpuPeriod,
        ["main;0x4010@/usr/lib/libc.so.6[abc123]"] = 4 * CpuPeriod,
    };

    [Fact]
    public async Task V2_plain_and_lz4_several_batches_are_stored_with_exact_stacks_labels_and_types()
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0" });
        await server.StartAsync();
        var plain = V2RecordWriter.Write([CpuBatch("plain"), OtherTypesBatch("plain")], overlap: true);
        var lz4 = V2RecordWriter.Write([CpuBatch("lz4"), OtherTypesBatch("lz4")], lz4: true, overlap: true);
        Assert.True(lz4.Length < plain.Length, $"LZ4 record ({lz4.Length} B) should be smaller than the plain one ({plain.Length} B)");

        var r = await ArrowPeers.GrpcJsWriteAsync(server,
            new WriteStep("plain", "WriteArrow", [plain]),
            new WriteStep("lz4", "WriteArrow", [lz4]));

        ArrowPeers.AssertOk(r, "plain");
        ArrowPeers.AssertOk(r, "lz4");
        Assert.Equal(
            ["memory:inuse_space:bytes:space:bytes", "parca_agent:samples:count:cpu:nanoseconds:delta", "parca_agent:wallclock:nanoseconds:samples:count:delta"],
            await ArrowPeers.ProfileTypesAsync(server));
        foreach (var job in new[] { "plain", "lz4" })
        {
            Assert.Equal(s_expectedCpu, await ArrowPeers.StacksAsync(server, $"parca_agent:samples:count:cpu:nanoseconds:delta{{job=\"{job}\"}}"));
            Assert.Equal(new Dictionary<string, long> { ["main;work;leaf"] = 5 * CpuPeriod }, await ArrowPeers.StacksAsync(server, $"parca_agent:samples:count:cpu:nanoseconds:delta{{job=\"{job}\",pid=\"2\"}}"));
            Assert.Equal(new Dictionary<string, long> { ["main;sleep"] = 1_000_000 }, await ArrowPeers.StacksAsync(server, $"parca_agent:wallclock:nanoseconds:samples:count:delta{{job=\"{job}\"}}"));
            Assert.Equal(new Dictionary<string, long> { ["main;alloc"] = 4096 }, await ArrowPeers.StacksAsync(server, $"memory:inuse_space:bytes:space:bytes{{job=\"{job}\",comm=\"app\"}}"));
        }
    }
}
