using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Parca.Rpc.Tests.Protos;

namespace Parca.Rpc.Tests;

/// <summary>
/// Malformed and hostile input at the transport level: each gets a precise status (or a closed connection) and the
/// server keeps serving — every test ends with a normal call on a fresh channel. The gRPC transport is
/// Grpc.AspNetCore's: the statuses and messages asserted here are the ones it sends.
/// </summary>
[Collection(RpcServerCollection.Name)]
public sealed class BadInputTests(RpcServerFixture server)
{
    private const string EchoPath = "/parca.rpctest.v1.EchoService/Echo";

    [Fact]
    public async Task TruncatedFrame_IsInternal()
    {
        var (status, message) = await RawAsync(Frame(0, 100, new byte[10]));
        Assert.Equal(StatusCode.Internal, status);
        Assert.Equal("Incomplete message.", message);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task TruncatedHeader_IsInternal()
    {
        var (status, message) = await RawAsync([0, 0, 0]);
        Assert.Equal(StatusCode.Internal, status);
        Assert.Equal("Incomplete message.", message);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task CompressedFlagWithoutEncoding_IsInternal()
    {
        var (status, message) = await RawAsync(Frame(1, 2, [0x0a, 0x00]));
        Assert.Equal(StatusCode.Internal, status);
        Assert.StartsWith("Request did not include grpc-encoding value with compressed message", message, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task UnknownFlagByte_IsUnknown_NamingTheFlag()
    {
        var (status, message) = await RawAsync(Frame(2, 0, []));
        Assert.Equal(StatusCode.Unknown, status);
        Assert.Contains("compressed flag", message, StringComparison.OrdinalIgnoreCase);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task DeclaredLengthOverTheLimit_IsResourceExhausted_BeforeThePayloadArrives()
    {
        var (status, message) = await RawAsync(Frame(0, 1 << 30, []));
        Assert.Equal(StatusCode.ResourceExhausted, status);
        Assert.Equal("Received message exceeds the maximum configured message size.", message);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task GarbageProtobuf_IsInvalidArgument()
    {
        var (status, message) = await RawAsync(Frame(0, 3, [0xff, 0xff, 0xff]));
        Assert.Equal(StatusCode.InvalidArgument, status);
        Assert.StartsWith("message is not a valid parca.rpctest.v1.EchoRequest", message, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task CorruptGzip_IsUnknown_SayingWhy()
    {
        var (status, message) = await RawAsync(Frame(1, 4, [1, 2, 3, 4]), ("grpc-encoding", "gzip"));
        Assert.Equal(StatusCode.Unknown, status);
        Assert.Contains("InvalidDataException", message, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task UnsupportedEncoding_IsUnimplemented()
    {
        // Only a compressed message needs its encoding; an uncompressed one is served whatever the header says.
        var (status, message) = await RawAsync(Frame(1, 2, [0x0a, 0x00]), ("grpc-encoding", "snappy"));
        Assert.Equal(StatusCode.Unimplemented, status);
        Assert.StartsWith("Unsupported grpc-encoding value 'snappy'", message, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task EmptyUnaryRequest_IsInternal_MalformedTimeoutIsIgnored()
    {
        var (status, message) = await RawAsync([]);
        Assert.Equal(StatusCode.Internal, status);
        Assert.Equal("Incomplete message.", message);

        // Grpc.AspNetCore logs a malformed grpc-timeout and serves the call without a deadline.
        (status, _) = await RawAsync(Frame(0, 0, []), ("grpc-timeout", "soon"));
        Assert.Equal(StatusCode.OK, status);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task NeverEndingRequest_IsEndedByTheServersDeadline()
    {
        using var http = H2cClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Http + "/parca.rpctest.v1.EchoService/Sum")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new NeverEndingContent(),
        };
        request.Headers.TryAddWithoutValidation("grpc-timeout", "300m");
        request.Headers.TE.ParseAdd("trailers");
        // The server answers DEADLINE_EXCEEDED and resets the stream whose body never ended: the client sees the
        // status, or the reset (as a cancelled send) when it comes before the response is read. Either way the call
        // ends, which only the server can make happen: the request body never does.
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await response.Content.ReadAsByteArrayAsync();
            var (status, _) = Status(response);
            Assert.Equal(StatusCode.DeadlineExceeded, status);
        }
        catch (Exception ex) when (ex is TaskCanceledException or HttpRequestException)
        {
            // The reset.
        }

        await AssertStillServingAsync();
    }

    [Fact]
    public async Task GarbageOnThePort_Http1GetsBadRequestAndClose()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        var garbage = new byte[256];
        new Random(42).NextBytes(garbage);
        garbage[0] = 0x01;
        await stream.WriteAsync(garbage);

        var answer = await ReadToEndAsync(stream);
        Assert.StartsWith("HTTP/1.1 400 Bad Request", System.Text.Encoding.ASCII.GetString(answer), StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task GarbageAfterHttp2Preface_GetsGoAwayAndClose()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        // A frame header announcing a 16 MiB DATA frame on stream 0: a protocol error.
        await stream.WriteAsync(new byte[] { 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3 });

        var answer = await ReadToEndAsync(stream);
        Assert.True(ContainsFrameOfType(answer, 0x7), "expected a GOAWAY frame from the server");
        await AssertStillServingAsync();
    }

    private static bool ContainsFrameOfType(byte[] data, byte type)
    {
        var i = 0;
        while (i + 9 <= data.Length)
        {
            var length = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
            if (data[i + 3] == type)
            {
                return true;
            }

            i += 9 + length;
        }

        return false;
    }

    private static async Task<byte[]> ReadToEndAsync(NetworkStream stream)
    {
        using var ms = new MemoryStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                ms.Write(buffer, 0, n);
            }
        }
        catch (IOException)
        {
            // A reset after the server's answer also means "closed".
        }

        return ms.ToArray();
    }

    private async Task AssertStillServingAsync()
    {
        using var channel = server.Channel();
        var response = await channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "still serving" });
        Assert.Equal("still serving", response.Text);
    }

    private static byte[] Frame(byte flags, int declaredLength, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flags;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), declaredLength);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static HttpClient H2cClient() => new(new SocketsHttpHandler());

    private async Task<(StatusCode Status, string Message)> RawAsync(byte[] body, params (string Name, string Value)[] headers)
    {
        using var http = H2cClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Http + EchoPath)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.ParseAdd("trailers");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Status(response);
    }

    private static (StatusCode, string) Status(HttpResponseMessage response)
    {
        HttpHeaders source = response.Headers.Contains("grpc-status") ? response.Headers : response.TrailingHeaders;
        var status = (StatusCode)int.Parse(source.GetValues("grpc-status").First(), System.Globalization.CultureInfo.InvariantCulture);
        var message = source.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.First()) : "";
        return (status, message);
    }

    /// <summary>A request body that sends the start of a frame and then nothing, forever (until cancelled).</summary>
    private sealed class NeverEndingContent : HttpContent
    {
        public NeverEndingContent() => Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(Frame(0, 1000, new byte[10]), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
