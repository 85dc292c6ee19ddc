using System.Text.Json;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Server.Tests.Arrow;

/// <summary>
/// @uwdata/flechette, an Arrow implementation independent of Apache.Arrow, checks both directions: it reads the v2
/// records our writer produces (so the tests' records are real Arrow), and it writes v1 records that our server
/// then ingests through the Write exchange.
/// </summary>
public sealed class FlechetteTests
{
    private static readonly long s_now = WriteArrowTests.Now;

    [Fact]
    public async Task Flechette_reads_our_v2_record_with_overlapping_stacks_and_nulls()
    {
        var rows = new[]
        {
            TestRows.Of("main;work;leaf", 3, s_now, ("comm", "app")),
            TestRows.Of("main;work", 2, s_now + 1_000, ("comm", "app")),
            new ArrowSample(null, 7, new Dictionary<string, string?> { ["comm"] = null }, s_now + 2_000),
            new ArrowSample([new Frame(0x4010, "native", "/usr/lib/libc.so.6", "abc123")], 4, new Dictionary<string, string?> { ["comm"] = "app" }, s_now + 3_000) with { Duration = 0, Temporality = null },
        };
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, V2RecordWriter.Write([rows], overlap: true));
            var t = JsonDocument.Parse(await ArrowPeers.NodeAsync("arrow-flechette.mjs", "read", file)).RootElement;

            Assert.Equal("v2", t.GetProperty("metadata").GetProperty("parca_write_schema_version").GetString());
            Assert.Equal(["labels", "stacktrace", "stacktrace_id", "value", "producer", "sample_type", "sample_unit", "period_type", "period_unit", "temporality", "period", "duration", "timestamp"],
                t.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
            var r = t.GetProperty("rows");
            string[] Functions(JsonElement row) => [.. row.GetProperty("stacktrace").EnumerateArray().Select(l => l.GetProperty("lines")[0].GetProperty("function").GetProperty("system_name").GetString()!)];
            Assert.Equal(["leaf", "work", "main"], Functions(r[0]));
            Assert.Equal(["work", "main"], Functions(r[1])); // a view into row 0's locations
            Assert.Equal(JsonValueKind.Null, r[2].GetProperty("stacktrace").ValueKind);
            Assert.Equal(JsonValueKind.Null, r[2].GetProperty("labels").GetProperty("comm").ValueKind);
            var native = r[3].GetProperty("stacktrace")[0];
            Assert.Equal("16400", native.GetProperty("address").GetString());
            Assert.Equal("/usr/lib/libc.so.6", native.GetProperty("mapping_file").GetString());
            Assert.Equal("abc123", native.GetProperty("mapping_build_id").GetString());
            Assert.Equal(JsonValueKind.Null, native.GetProperty("lines").ValueKind);
            Assert.Equal(["3", "2", "7", "4"], r.EnumerateArray().Select(x => x.GetProperty("value").GetString()));
            Assert.Equal(["parca_agent", "parca_agent", "parca_agent", "parca_agent"], r.EnumerateArray().Select(x => x.GetProperty("producer").GetString()));
            Assert.Equal(["1000000000", "1000000000", "1000000000", "0"], r.EnumerateArray().Select(x => x.GetProperty("duration").GetString()));
            Assert.Equal("app", r[0].GetProperty("labels").GetProperty("comm").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Flechette_written_v1_records_are_ingested_through_Write()
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0" });
        await server.StartAsync();
        object Sample(object[] stack, long value, string pid, long time) => new
        {
            labels = new Dictionary<string, string> { ["comm"] = "flechette", ["pid"] = pid },
            stack,
            value,
            producer = "parca_agent",
            sample_type = "samples",
            sample_unit = "count",
            period_type = "cpu",
            period_unit = "nanoseconds",
            period = 1,
            duration = 1_000_000_000,
            time,
        };
        object Fn(string name, long address) => new { address, mapping_file = "/bin/app", build_id = "f1ec", functions = new[] { name } };
        var spec = new[]
        {
            Sample([Fn("leaf", 3), Fn("work", 2), Fn("main", 1)], 3, "1", s_now),
            Sample([Fn("work", 2), Fn("main", 1)], 2, "1", s_now + 1_000),
            Sample([Fn("leaf", 3), Fn("work", 2), Fn("main", 1)], 5, "2", s_now + 2_000),
            Sample([new { address = 0x4010L, mapping_file = "/usr/lib/libc.so.6", build_id = "abc123", functions = Array.Empty<string>() }, Fn("main", 1)], 4, "1", s_now + 3_000),
        };
        var dir = Directory.CreateTempSubdirectory("parca-flechette-");
        try
        {
            var specFile = Path.Combine(dir.FullName, "spec.json");
            await File.WriteAllTextAsync(specFile, JsonSerializer.Serialize(spec));
            await ArrowPeers.NodeAsync("arrow-flechette.mjs", "v1", specFile, dir.FullName);
            var r = await ArrowPeers.GrpcJsWriteAsync(server, new WriteStep("write", "Write",
                [await File.ReadAllBytesAsync(Path.Combine(dir.FullName, "sample.arrow")), await File.ReadAllBytesAsync(Path.Combine(dir.FullName, "locations.arrow"))]));

            ArrowPeers.AssertOk(r, "write");
            Assert.Equal(3, r.GetProperty("write").GetProperty("requestedIds").GetArrayLength());
            Assert.Equal(new Dictionary<string, long>
            {
                ["main;work;leaf"] = 8,
                ["main;work"] = 2,
                ["main;0x4010@/usr/lib/libc.so.6[abc123]"] = 4,
            }, await ArrowPeers.StacksAsync(server, "parca_agent:samples:count:cpu:nanoseconds:delta{comm=\"flechette\"}"));
            Assert.Equal(new Dictionary<string, long> { ["main;work;leaf"] = 5 }, await ArrowPeers.StacksAsync(server, "parca_agent:samples:count:cpu:nanoseconds:delta{pid=\"2\"}"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
