namespace Parca.Server.Tests.Arrow;

/// <summary>
/// A <c>--mode=forwarder</c> server passes agents' v2 WriteArrow requests on to its store: records sent by
/// @grpc/grpc-js to the forwarder are read back from the store with exact stacks; a record the store refuses comes
/// back to the agent with the store's INVALID_ARGUMENT and message.
/// </summary>
public sealed class ForwardArrowTests
{
    [Fact]
    public async Task Forwarder_passes_v2_records_to_the_store_and_its_refusals_back()
    {
        await using var store = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error" });
        await store.StartAsync();
        await using var forwarder = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            Mode = "forwarder",
            StoreAddress = store.BaseAddress.Authority,
            Insecure = true,
            ConfigPath = "/nonexistent/parca.yaml",
        });
        await forwarder.StartAsync();

        var now = WriteArrowTests.Now;
        var record = V2RecordWriterFor([TestRows.Of("main;work;leaf", 3, now, ("job", "fwd")), TestRows.Of("main;work", 2, now + 1, ("job", "fwd"))]);
        var bad = Parca.Agent.Shipping.Arrow.V2RecordWriter.Write([[TestRows.Of("main", 1, now, ("job", "bad"))]], editSchema: s => new Apache.Arrow.Schema([.. s.FieldsList], null));

        var r = await ArrowPeers.GrpcJsWriteAsync(forwarder, new WriteStep("ok", "WriteArrow", [record]), new WriteStep("bad", "WriteArrow", [bad]));

        ArrowPeers.AssertOk(r, "ok");
        Assert.Equal(
            new Dictionary<string, long> { ["main;work;leaf"] = 3 * WriteArrowTests.CpuPeriod, ["main;work"] = 2 * WriteArrowTests.CpuPeriod },
            await ArrowPeers.StacksAsync(store, "parca_agent:samples:count:cpu:nanoseconds:delta{job=\"fwd\"}"));
        var error = r.GetProperty("bad").GetProperty("error");
        Assert.Equal(3, error.GetProperty("code").GetInt32());
        Assert.Equal("--store-address: ipc_buffer: record batch 0: the schema has no 'parca_write_schema_version' metadata (v1 or v2 expected)", error.GetProperty("details").GetString());
    }

    private static byte[] V2RecordWriterFor(Parca.Agent.Shipping.Arrow.ArrowSample[] rows) => Parca.Agent.Shipping.Arrow.V2RecordWriter.Write([rows], lz4: true);
}
