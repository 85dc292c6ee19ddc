using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;
using Parca.Rpc.Server;
using Parca.Server;

namespace Parca.Rpc.Tests;

/// <summary>
/// <see cref="RpcServiceBuilder.MapUnaryEncoded{TRequest, TResponse}"/>: a handler's pre-encoded bytes reach binary
/// callers (gRPC, gRPC-Web, Connect proto) unchanged and JSON callers (Connect JSON, REST) as the message they encode;
/// a handler's answer given as a message (<see cref="EncodedMessage{TMessage}.Of"/>) reaches every caller as that message.
/// </summary>
public sealed class EncodedResponseTests : IAsyncLifetime
{
    private static readonly QueryRangeResponse s_expected = new()
    {
        Series =
        {
            new MetricsSeries
            {
                Labelset = new LabelSet { Labels = { new Label { Name = "job", Value = "a" } } },
                Samples =
                {
                    new MetricsSample { Timestamp = new Timestamp { Seconds = 10 }, Value = 5, ValuePerSecond = 0.5, Duration = 10_000_000_000, Count = 1 },
                    new MetricsSample { Timestamp = new Timestamp { Seconds = 20, Nanos = 7 }, Value = -3, Count = 2 },
                },
                SampleType = new Protocol.Query.V1Alpha1.ValueType { Type = "samples", Unit = "count" },
            },
            new MetricsSeries { Labelset = new LabelSet() },
        },
    };

    private ParcaServer? _server;
    private string Http => $"http://{_server!.BaseAddress.Host}:{_server.BaseAddress.Port}";

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error" }, services =>
            services.AddRpcService(b => b.MapUnaryEncoded(ParcaApi.QueryService.QueryRange, (request, _) =>
            {
                if (request.Query == "m")
                {
                    return ValueTask.FromResult(EncodedMessage<QueryRangeResponse>.Of(s_expected));
                }

                if (request.Query != "q")
                {
                    throw new RpcException(StatusCode.InvalidArgument, "query must be q");
                }

                var size = s_expected.CalculateSize();
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                s_expected.WriteTo(buffer.AsSpan(0, size));
                return ValueTask.FromResult(new EncodedMessage<QueryRangeResponse>(buffer, size, pooled: true));
            })), storageApi: false);
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Grpc_GetsTheEncodedMessage_AndErrorsStillWork()
    {
        using var channel = RpcChannel.Create(Http, new RpcChannelOptions());
        Assert.Equal(s_expected, await channel.UnaryAsync(ParcaApi.QueryService.QueryRange, new QueryRangeRequest { Query = "q" }));
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.QueryService.QueryRange, new QueryRangeRequest { Query = "x" }));
        Assert.Equal(StatusCode.InvalidArgument, error.Status);
        Assert.Equal("query must be q", error.Detail);
    }

    [Fact]
    public async Task GrpcWeb_And_ConnectProto_GetTheSameBytes()
    {
        using var http = new HttpClient();
        var frame = new byte[5 + new QueryRangeRequest { Query = "q" }.CalculateSize()];
        frame[4] = (byte)(frame.Length - 5);
        new QueryRangeRequest { Query = "q" }.WriteTo(frame.AsSpan(5));
        using var web = new ByteArrayContent(frame);
        web.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        using var webResponse = await http.PostAsync(Http + "/api/parca.query.v1alpha1.QueryService/QueryRange", web);
        var body = await webResponse.Content.ReadAsByteArrayAsync();
        var length = (body[1] << 24) | (body[2] << 16) | (body[3] << 8) | body[4];
        Assert.Equal(s_expected.ToByteArray(), body.AsSpan(5, length).ToArray());

        using var connect = new ByteArrayContent(new QueryRangeRequest { Query = "q" }.ToByteArray());
        connect.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var connectResponse = await http.PostAsync(Http + "/parca.query.v1alpha1.QueryService/QueryRange", connect);
        Assert.Equal(HttpStatusCode.OK, connectResponse.StatusCode);
        Assert.Equal(s_expected.ToByteArray(), await connectResponse.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ConnectJson_And_Rest_GetTheMessageAsJson()
    {
        var connect = await Curl.RunAsync("-d", "{\"query\":\"q\"}", "-H", "content-type: application/json", Http + "/parca.query.v1alpha1.QueryService/QueryRange");
        Assert.Equal(200, connect.Status);
        Assert.Equal(s_expected, JsonParser.Default.Parse<QueryRangeResponse>(connect.Body));
        Assert.Contains("\"valuePerSecond\": 0.5", connect.Body, StringComparison.Ordinal);

        var rest = await Curl.RunAsync(Http + "/api/profiles/query_range?query=q");
        Assert.Equal(200, rest.Status);
        Assert.Equal(s_expected, JsonParser.Default.Parse<QueryRangeResponse>(rest.Body));
        Assert.Contains("\"duration\": \"10000000000\"", rest.Body, StringComparison.Ordinal);

        var bad = await Curl.RunAsync(Http + "/api/profiles/query_range?query=x");
        Assert.Equal(400, bad.Status);
    }

    [Fact]
    public async Task A_message_answer_reaches_grpc_grpc_web_connect_and_json_callers()
    {
        using var channel = RpcChannel.Create(Http, new RpcChannelOptions());
        Assert.Equal(s_expected, await channel.UnaryAsync(ParcaApi.QueryService.QueryRange, new QueryRangeRequest { Query = "m" }));

        using var http = new HttpClient();
        var request = new QueryRangeRequest { Query = "m" };
        var frame = new byte[5 + request.CalculateSize()];
        frame[4] = (byte)(frame.Length - 5);
        request.WriteTo(frame.AsSpan(5));
        using var web = new ByteArrayContent(frame);
        web.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        using var webResponse = await http.PostAsync(Http + "/api/parca.query.v1alpha1.QueryService/QueryRange", web);
        var body = await webResponse.Content.ReadAsByteArrayAsync();
        var length = (body[1] << 24) | (body[2] << 16) | (body[3] << 8) | body[4];
        Assert.Equal(s_expected.ToByteArray(), body.AsSpan(5, length).ToArray());

        using var connect = new ByteArrayContent(request.ToByteArray());
        connect.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var connectResponse = await http.PostAsync(Http + "/parca.query.v1alpha1.QueryService/QueryRange", connect);
        Assert.Equal(s_expected.ToByteArray(), await connectResponse.Content.ReadAsByteArrayAsync());

        var json = await Curl.RunAsync("-d", "{\"query\":\"m\"}", "-H", "content-type: application/json", Http + "/parca.query.v1alpha1.QueryService/QueryRange");
        Assert.Equal(200, json.Status);
        Assert.Equal(s_expected, JsonParser.Default.Parse<QueryRangeResponse>(json.Body));
    }
}
