using Parca.Server.Tests.Arrow;

namespace Parca.Server.Tests.Otlp;

/// <summary>
/// OTLP profiles (opentelemetry-proto v1.10.0) sent to a real server by the interop peer (protobufjs-encoded, over
/// @grpc/grpc-js and over HTTP/protobuf), read back through the query API: exact stacks, values, labels, types.
/// </summary>
public sealed class OtlpExportTests
{
    internal const string CpuType = "go_opentelemetry_io_ebpf_profiler:samples:count:cpu:nanoseconds:delta";
    internal const long Period = 50_000_000; // 20 Hz, as the OpenTelemetry eBPF profiler samples
    private static readonly ulong s_t0 = (ulong)WriteArrowTests.Now;

    internal static OtlpFrame F(string function) => new(function, (ulong)function.Length * 16);

    private static readonly OtlpFrame s_libc = new(null, 0x4010, "/usr/lib/libc.so.6", "abc123");

    /// <summary>A CPU profile as the eBPF profiler sends it: timestamps per event, some aggregated values.</summary>
    internal static OtlpRequest CpuRequest(string service) => new OtlpRequest().Resource(
        [("service.name", service), ("env", "prod"), ("process.pid", 42L), ("host.name", "  node-1  ")],
        "go.opentelemetry.io/ebpf-profiler",
        new OtlpProfile("samples", "count", "cpu", "nanoseconds", Period, s_t0, 10_000_000_000,
        [
            new([F("main"), F("work"), F("leaf")], [], [s_t0 + 1_000, s_t0 + 2_000, s_t0 + 3_000], [("thread.name", "worker")]),
            new([F("main"), F("work")], [2], [], [("thread.name", "worker")]),
            // The resource's env wins over the sample's; an int attribute is no label (as Parca).
            new([F("main"), s_libc], [4], [], [("thread.name", "io"), ("env", "dev")]),
            new([F("main"), F("work"), F("leaf")], [5, 0], [s_t0 + 4_000, s_t0 + 5_000], [("thread.name", "worker"), ("cpu", 3L)]),
        ]));

    private static readonly Dictionary<string, long> s_expectedCpu = new()
    {
        ["main;work;leaf"] = 8 * Period,
        ["main;work"] = 2 * Period,
        ["main;0x4010@/usr/lib/libc.so.6[abc123]"] = 4 * Period,
    };

    [Fact]
    public async Task Export_over_grpc_and_http_is_stored_with_exact_stacks_labels_and_types()
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0" });
        await server.StartAsync();
        var memory = new OtlpRequest().Resource([("service.name", "heap")], "",
            new OtlpProfile("inuse_space", "bytes", "space", "bytes", 524288, s_t0, 0, [new([F("main"), F("alloc")], [4096], [], [])]));

        var r = await OtlpPeer.ExportAsync(server,
            new OtlpStep("grpc", "grpc", CpuRequest("grpc").Build()),
            new OtlpStep("http-gzip", "http", CpuRequest("http").Build(), Gzip: true),
            new OtlpStep("http-unknown-scope", "http", memory.Build()));

        OtlpPeer.AssertOk(r, "grpc");
        OtlpPeer.AssertOk(r, "http-gzip");
        OtlpPeer.AssertOk(r, "http-unknown-scope");
        Assert.Equal("application/x-protobuf", r.GetProperty("http-gzip").GetProperty("contentType").GetString());
        Assert.Equal([CpuType, "unknown:inuse_space:bytes:space:bytes"], await ArrowPeers.ProfileTypesAsync(server));
        foreach (var service in new[] { "grpc", "http" })
        {
            Assert.Equal(s_expectedCpu, await ArrowPeers.StacksAsync(server, $"{CpuType}{{service_name=\"{service}\"}}"));
            Assert.Equal(new Dictionary<string, long> { ["main;0x4010@/usr/lib/libc.so.6[abc123]"] = 4 * Period },
                await ArrowPeers.StacksAsync(server, $"{CpuType}{{service_name=\"{service}\",thread_name=\"io\",env=\"prod\",host_name=\"node-1\"}}"));
        }

        Assert.Equal(new Dictionary<string, long> { ["main;alloc"] = 4096 }, await ArrowPeers.StacksAsync(server, "unknown:inuse_space:bytes:space:bytes{service_name=\"heap\"}"));
        Assert.Equal(["env", "host_name", "service_name", "thread_name"], await OtlpQueries.LabelNamesAsync(server));
    }
}
