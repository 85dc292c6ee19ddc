using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;
using Parca.Server;

namespace Parca.Rpc.Tests;

/// <summary>Connect unary, REST/JSON, gRPC-Web and CORS on the shared port, driven by curl and HttpClient.</summary>
[Collection(RpcServerCollection.Name)]
public sealed class HttpProtocolTests(RpcServerFixture server)
{
    private const string ProfileTypesPath = "/parca.query.v1alpha1.QueryService/ProfileTypes";

    [Theory]
    [InlineData("--http1.1", "1.1")]
    [InlineData("--http2-prior-knowledge", "2")]
    public async Task ConnectJson_CurlProfileTypes_ReturnsProtoJson(string httpFlag, string version)
    {
        var r = await Curl.RunAsync(httpFlag, "-d", "{}", "-H", "content-type: application/json", server.Http + ProfileTypesPath);

        Assert.Equal(200, r.Status);
        Assert.Equal(version, r.Version);
        var types = JsonDocument.Parse(r.Body).RootElement.GetProperty("types");
        Assert.Equal("process_cpu", types[0].GetProperty("name").GetString());
        Assert.Equal("nanoseconds", types[0].GetProperty("sampleUnit").GetString());
        Assert.True(types[0].GetProperty("delta").GetBoolean());
    }

    [Fact]
    public async Task ConnectJson_BadField_IsInvalidArgument400_UnknownMethod404()
    {
        var bad = await Curl.RunAsync("-d", "{\"nope\": 1}", "-H", "content-type: application/json", server.Http + ProfileTypesPath);
        Assert.Equal(400, bad.Status);
        var error = JsonDocument.Parse(bad.Body).RootElement;
        Assert.Equal("invalid_argument", error.GetProperty("code").GetString());
        Assert.Contains("parca.query.v1alpha1.ProfileTypesRequest", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        var handlerError = await Curl.RunAsync("-d", "{\"labelName\": \"nope\"}", "-H", "content-type: application/json", server.Http + "/parca.query.v1alpha1.QueryService/Values");
        Assert.Equal(404, handlerError.Status);
        Assert.Equal("not_found", JsonDocument.Parse(handlerError.Body).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ConnectProto_BinaryBody_RoundTrips()
    {
        using var http = new HttpClient();
        using var content = new ByteArrayContent(new ValuesRequest { LabelName = "job" }.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await http.PostAsync(server.Http + "/parca.query.v1alpha1.QueryService/Values", content);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/proto", response.Content.Headers.ContentType?.MediaType);
        var values = ValuesResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(["api", "parca"], values.LabelValues);
    }

    [Fact]
    public async Task Rest_GetProfileTypes_EmitsDefaults()
    {
        var r = await Curl.RunAsync(server.Http + "/api/profiles/types");

        Assert.Equal(200, r.Status);
        var types = JsonDocument.Parse(r.Body).RootElement.GetProperty("types");
        Assert.Equal("memory", types[1].GetProperty("name").GetString());
        Assert.False(types[1].GetProperty("delta").GetBoolean());
    }

    [Fact]
    public async Task Rest_LabelValues_PathParameterAndRepeatedQuery()
    {
        var r = await Curl.RunAsync(server.Http + "/api/profiles/labels/job/values?match=a&match=b&profile_type=memory");
        Assert.Equal(200, r.Status);
        Assert.Equal(["api", "parca"], JsonDocument.Parse(r.Body).RootElement.GetProperty("labelValues").EnumerateArray().Select(e => e.GetString()));

        var missing = await Curl.RunAsync(server.Http + "/api/profiles/labels/nope/values");
        Assert.Equal(404, missing.Status);
        var error = JsonDocument.Parse(missing.Body).RootElement;
        Assert.Equal(5, error.GetProperty("code").GetInt32());
        Assert.Equal("no label named 'nope'", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Rest_Query_NestedTimestampAndEnumParameters()
    {
        var r = await Curl.RunAsync(server.Http + "/api/profiles/query?mode=MODE_MERGE&merge.query=cpu%7Bjob%3D%22a%22%7D"
            + "&merge.start=2024-01-02T03:04:05Z&merge.end=2024-01-02T04:04:05Z&reportType=REPORT_TYPE_TOP&invert_call_stack=true");

        Assert.Equal(200, r.Status);
        var body = JsonDocument.Parse(r.Body).RootElement;
        Assert.Equal("1234", body.GetProperty("total").GetString());
        Assert.Equal("cpu{job=\"a\"}", body.GetProperty("top").GetProperty("list")[0].GetProperty("meta").GetProperty("function").GetProperty("name").GetString());

        var seen = server.Query.LastQuery!;
        Assert.Equal(QueryRequest.Types.Mode.Merge, seen.Mode);
        Assert.Equal(new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc), seen.Merge.Start.ToDateTime());
        Assert.Equal(QueryRequest.Types.ReportType.Top, seen.ReportType);
        Assert.True(seen.InvertCallStack);

        var bad = await Curl.RunAsync(server.Http + "/api/profiles/query?merge.start=yesterday");
        Assert.Equal(400, bad.Status);
        Assert.Equal(3, JsonDocument.Parse(bad.Body).RootElement.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Rest_WriteRaw_PostsJsonBody_ValidatesInHandler()
    {
        var ok = await Curl.RunAsync("-X", "POST", "-H", "content-type: application/json", "-d",
            "{\"series\":[{\"labels\":{\"labels\":[{\"name\":\"__name__\",\"value\":\"process_cpu\"}]},\"samples\":[{\"rawProfile\":\"H4sIAA==\"}]}]}",
            server.Http + "/api/profiles/writeraw");
        Assert.Equal(200, ok.Status);
        Assert.Equal("{ }", ok.Body);
        Assert.Equal(new byte[] { 0x1f, 0x8b, 0x08, 0x00 }, server.ProfileStore.LastWriteRaw!.Series[0].Samples[0].RawProfile.ToByteArray());

        var bad = await Curl.RunAsync("-X", "POST", "-H", "content-type: application/json", "-d",
            "{\"series\":[{\"labels\":{\"labels\":[{\"name\":\"job\",\"value\":\"x\"}]}}]}", server.Http + "/api/profiles/writeraw");
        Assert.Equal(400, bad.Status);
        Assert.Equal("series[0]: missing __name__ label", JsonDocument.Parse(bad.Body).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task GrpcWebText_FromHttpClient_ReturnsBase64FramesAndTrailer()
    {
        using var http = new HttpClient();
        var frame = new byte[5];
        using var content = new StringContent(Convert.ToBase64String(frame));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web-text");
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Http + "/api" + ProfileTypesPath) { Content = content };
        // As browser clients do: Grpc.AspNetCore.Web picks the response encoding from Accept.
        request.Headers.Accept.ParseAdd("application/grpc-web-text");
        using var response = await http.SendAsync(request);

        // gRPC-Web text encodes each write on its own (padding included), as the protocol allows: 4-character
        // groups decode independently, so decoding group by group reads any such stream.
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/grpc-web-text", response.Content.Headers.ContentType?.MediaType);
        Assert.True(text.Length % 4 == 0, text);
        var body = Enumerable.Range(0, text.Length / 4).SelectMany(i => Convert.FromBase64String(text.Substring(i * 4, 4))).ToArray();
        var length = (body[1] << 24) | (body[2] << 16) | (body[3] << 8) | body[4];
        var message = ProfileTypesResponse.Parser.ParseFrom(body.AsSpan(5, length));
        Assert.Equal(2, message.Types_.Count);
        var trailer = System.Text.Encoding.ASCII.GetString(body, 10 + length, body.Length - 10 - length);
        Assert.Equal(0x80, body[5 + length]);
        Assert.Equal("grpc-status: 0\r\n", trailer);
    }

    [Fact]
    public async Task PathPrefix_ServesRestAndGrpcWebUnderIt_NativeGrpcAtTheRoot()
    {
        await using var prefixed = await server.StartAsync(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", PathPrefix = "/parca" });
        var root = $"http://{prefixed.BaseAddress.Host}:{prefixed.BaseAddress.Port}";

        var rest = await Curl.RunAsync(root + "/parca/api/profiles/types");
        Assert.Equal(200, rest.Status);

        var web = await ExternalProcess.NodeJsonAsync("parca-grpcweb.mjs", root + "/parca/api");
        Assert.Equal("process_cpu", web.GetProperty("binary")[0].GetProperty("name").GetString());

        using var channel = RpcChannel.Create(root, new RpcChannelOptions());
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        Assert.Equal(2, types.Types_.Count);
    }
}
