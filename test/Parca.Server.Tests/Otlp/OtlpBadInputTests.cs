using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Parca.Server.Tests.Otlp;

/// <summary>
/// Bad OTLP input: INVALID_ARGUMENT over gRPC, HTTP 400 with a google.rpc.Status over HTTP, the message naming the
/// field; nothing of the request is stored and the server carries on.
/// </summary>
public sealed class OtlpBadInputTests
{
    private const string Profile0 = "resource_profiles[0].scope_profiles[0].profiles[0]";

    public static TheoryData<string, string> Cases() => new()
    {
        { "string0", "dictionary.string_table[0]: must be the empty string, got 'x'" },
        { "no-dictionary", "dictionary: missing" },
        { "mapping-index", "dictionary.location_table[2].mapping_index: 99 is out of range (mapping_table has 2 entries)" },
        { "function-index", "dictionary.location_table[1].lines[0].function_index: -1 is out of range (function_table has" },
        { "stack-location", "dictionary.stack_table[1].location_indices[0]: 0 is not a location" },
        { "stack-index", Profile0 + ".samples[0].stack_index: 99 is out of range (stack_table has" },
        { "attribute-index", Profile0 + ".samples[0].attribute_indices[0]: 500 is out of range (attribute_table has" },
        { "type", Profile0 + ".sample_type.type_strindex: 'cpu time' is not valid in a profile type" },
        { "no-type", Profile0 + ".sample_type: missing" },
        { "timestamp", Profile0 + ".samples[0].timestamps_unix_nano[0]: 1 is outside the profile's time range" },
        { "values-vs-timestamps", Profile0 + ".samples[0]: 2 values for 3 timestamps" },
        { "two-values", Profile0 + ".samples[1].values: 2 values without timestamps" },
        { "empty-sample", Profile0 + ".samples[1]: neither values nor timestamps" },
        { "resource-key", "resource_profiles[0].resource.attributes[4].key: 'env' appears twice" },
        { "link", "dictionary.link_table[1]: trace_id must be 16 bytes and span_id 8, got 3 and 8" },
        { "second-resource", "resource_profiles[1].scope_profiles[0].profiles[0].sample_type.type_strindex: 'cpu time'" },
    };

    private static JsonNode Bad(string name)
    {
        var request = OtlpExportTests.CpuRequest("bad");
        var cpuTime = request.String("cpu time");
        return request.Build(r =>
        {
            var d = r["dictionary"]!;
            var p0 = r["resource_profiles"]![0]!["scope_profiles"]![0]!["profiles"]![0]!;
            var s0 = p0["samples"]![0]!;
            switch (name)
            {
                case "string0": d["string_table"]![0] = "x"; break;
                case "no-dictionary": r.AsObject().Remove("dictionary"); break;
                case "mapping-index": d["location_table"]![2]!["mapping_index"] = 99; break;
                case "function-index": d["location_table"]![1]!["lines"]![0]!["function_index"] = -1; break;
                case "stack-location": d["stack_table"]![1]!["location_indices"]![0] = 0; break;
                case "stack-index": s0["stack_index"] = 99; break;
                case "attribute-index": s0["attribute_indices"]![0] = 500; break;
                case "type": p0["sample_type"]!["type_strindex"] = cpuTime; break;
                case "no-type": p0.AsObject().Remove("sample_type"); break;
                case "timestamp": s0["timestamps_unix_nano"]![0] = "1"; break;
                case "values-vs-timestamps": s0["values"] = new JsonArray("1", "2"); break;
                case "two-values": p0["samples"]![1]!["values"] = new JsonArray("1", "2"); break;
                case "empty-sample": p0["samples"]![1]!["values"] = new JsonArray(); break;
                case "resource-key": r["resource_profiles"]![0]!["resource"]!["attributes"]!.AsArray().Add(new JsonObject { ["key"] = "env", ["value"] = new JsonObject { ["string_value"] = "x" } }); break;
                case "link": d["link_table"]!.AsArray().Add(new JsonObject { ["trace_id"] = "AAAA", ["span_id"] = "AAAAAAAAAAA=" }); break;
                case "second-resource":
                    // The first resource is fine: nothing of it may be stored either.
                    var copy = JsonNode.Parse(r["resource_profiles"]![0]!.ToJsonString())!;
                    copy["scope_profiles"]![0]!["profiles"]![0]!["sample_type"]!["type_strindex"] = cpuTime;
                    r["resource_profiles"]!.AsArray().Add(copy);
                    break;
                default: throw new ArgumentException(name);
            }
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_request_is_invalid_argument_naming_the_field_and_stores_nothing(string name, string expected)
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0" });
        await server.StartAsync();

        var r = await OtlpPeer.ExportAsync(server,
            new OtlpStep("grpc", "grpc", Bad(name)),
            new OtlpStep("http", "http", Bad(name)),
            new OtlpStep("after", "grpc", OtlpExportTests.CpuRequest("after").Build()));

        var grpc = r.GetProperty("grpc").GetProperty("error");
        Assert.Equal(3, grpc.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        Assert.Contains(expected, grpc.GetProperty("details").GetString(), StringComparison.Ordinal);
        var http = r.GetProperty("http");
        Assert.Equal(400, http.GetProperty("http").GetInt32());
        Assert.Equal(3, http.GetProperty("code").GetInt32());
        Assert.Contains(expected, http.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Nothing of the bad request was stored; the server took the next one.
        OtlpPeer.AssertOk(r, "after");
        Assert.Equal(["after"], await OtlpQueries.ValuesAsync(server, "service_name"));
    }

    [Fact]
    public async Task Http_refuses_json_and_a_gzip_bomb_before_inflating_past_the_message_limit()
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", MaxMessageSize = 1 << 20 });
        await server.StartAsync();
        var r = await OtlpPeer.ExportAsync(server, new OtlpStep("json", "http", OtlpExportTests.CpuRequest("x").Build(), ContentType: "application/json"));
        Assert.Equal(415, r.GetProperty("json").GetProperty("http").GetInt32());
        Assert.Contains("send application/x-protobuf", r.GetProperty("json").GetProperty("message").GetString(), StringComparison.Ordinal);

        // 64 MiB of zeros gzip to ~64 KiB: refused once 1 MiB is inflated.
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }

        using var http = new HttpClient();
        using var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await http.PostAsync(new Uri(server.BaseAddress, "v1development/profiles"), content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var (code, message) = OtlpQueries.ParseStatus(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(8, code); // RESOURCE_EXHAUSTED
        Assert.Equal("body: more than the limit of 1048576 bytes (--grpc-max-message-size)", message);
    }
}
