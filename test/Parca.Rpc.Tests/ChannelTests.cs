using Grpc.Health.V1;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;
using Parca.Rpc.Tests.Protos;

namespace Parca.Rpc.Tests;

/// <summary>Our client against our server over h2c on the shared port: every call shape and the gRPC features.</summary>
[Collection(RpcServerCollection.Name)]
public sealed class ChannelTests(RpcServerFixture server)
{
    [Fact]
    public async Task Unary_ProfileTypes_ReturnsTheHandlersTypes()
    {
        using var channel = server.Channel();
        var response = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest { Start = TestData.Time(100) });

        Assert.Equal(["process_cpu", "memory"], response.Types_.Select(t => t.Name));
        Assert.True(response.Types_[0].Delta);
        Assert.Equal(100, server.Query.LastProfileTypes!.Start.Seconds);
    }

    [Fact]
    public async Task Unary_Error_CarriesCodeDecodedMessageAndTrailers()
    {
        using var channel = server.Channel();
        var text = "bad label 'é' at 100% \n done";
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = text, FailWith = (int)StatusCode.InvalidArgument }));

        Assert.Equal(StatusCode.InvalidArgument, ex.Status);
        Assert.Equal(text, ex.Detail);
        Assert.Contains(ex.Trailers, kv => kv.Key == "x-detail" && kv.Value == "from-handler");
    }

    [Fact]
    public async Task Unary_MetadataAndBearerToken_ReachTheHandler()
    {
        using var channel = server.Channel(new RpcChannelOptions { BearerToken = "s3cret", Headers = [new("x-tenant", "team-a")] });
        var response = await channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "hi" },
            new CallOptions { Headers = [new("x-call", "1")] });

        Assert.Contains("authorization=Bearer s3cret", response.Metadata);
        Assert.Contains("bearer=s3cret", response.Metadata);
        Assert.Contains("x-tenant=team-a", response.Metadata);
        Assert.Contains("x-call=1", response.Metadata);
    }

    [Fact]
    public async Task Unary_Gzip_CompressesBothWays()
    {
        using var channel = server.Channel(new RpcChannelOptions { CompressRequests = true });
        var payload = TestData.Payload(300_000);
        var response = await channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "z", Payload = payload });

        Assert.Equal("gzip", response.Encoding);
        Assert.Equal(payload, response.Payload);
    }

    [Fact]
    public async Task Deadline_SlowHandler_FailsWithDeadlineExceeded_AndServerSawTheDeadline()
    {
        using var channel = server.Channel();
        var seen = await channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "x" }, new CallOptions { Timeout = TimeSpan.FromSeconds(30) });
        Assert.InRange(seen.DeadlineMs, 1, 30_000);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoApi.Echo,
            new EchoRequest { Text = "slow", DelayMs = 10_000 }, new CallOptions { Timeout = TimeSpan.FromMilliseconds(200) }));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.Status);

        var after = await channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "still serving" });
        Assert.Equal("still serving", after.Text);
    }

    [Fact]
    public async Task Cancellation_ByCaller_IsCancelled()
    {
        using var channel = server.Channel();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoApi.Echo,
            new EchoRequest { DelayMs = 10_000 }, new CallOptions { CancellationToken = cts.Token }));
        Assert.Equal(StatusCode.Cancelled, ex.Status);
    }

    [Fact]
    public async Task ClientStreaming_DebuginfoUpload_CountsEveryChunk()
    {
        using var channel = server.Channel();
        var call = channel.ClientStreaming(ParcaApi.Debuginfo.Upload);
        await call.WriteAsync(new UploadRequest { Info = new UploadInfo { BuildId = "abc123", UploadId = "u1" } });
        for (var i = 0; i < 20; i++)
        {
            await call.WriteAsync(new UploadRequest { ChunkData = TestData.Payload(100_000) });
        }

        call.CompleteRequests();
        var response = await call.ResponseAsync;
        Assert.Equal("abc123", response.BuildId);
        Assert.Equal(2_000_000UL, response.Size);
    }

    [Fact]
    public async Task ClientStreaming_ServerRejectsFirstMessage_WritesAndResponseFailWithItsStatus()
    {
        using var channel = server.Channel();
        var call = channel.ClientStreaming(ParcaApi.Debuginfo.Upload);
        await call.WriteAsync(new UploadRequest { ChunkData = TestData.Payload(10) });
        call.CompleteRequests();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.Status);
        Assert.Equal("first message must carry info", ex.Detail);
    }

    [Fact]
    public async Task ServerStreaming_ReturnsEveryMessage_ThenTheStatus()
    {
        using var channel = server.Channel();
        var texts = new List<string>();
        await foreach (var m in channel.ServerStreamingAsync(EchoApi.Count, new EchoRequest { Text = "n", Repeat = 5 }))
        {
            texts.Add(m.Text);
        }

        Assert.Equal(["n0", "n1", "n2", "n3", "n4"], texts);

        texts.Clear();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var m in channel.ServerStreamingAsync(EchoApi.Count, new EchoRequest { Text = "m", Repeat = 2, FailWith = (int)StatusCode.Aborted }))
            {
                texts.Add(m.Text);
            }
        });
        Assert.Equal(["m0", "m1"], texts);
        Assert.Equal(StatusCode.Aborted, ex.Status);
        Assert.Equal("after 2", ex.Detail);
    }

    [Fact]
    public async Task Duplex_ProfileStoreWrite_AnswersEachRecordAsItComes()
    {
        using var channel = server.Channel();
        await using var call = channel.DuplexStreaming(ParcaApi.ProfileStore.Write);
        var responses = call.ReadAllAsync().GetAsyncEnumerator();
        for (var i = 0; i < 3; i++)
        {
            var record = Google.Protobuf.ByteString.CopyFromUtf8("record-" + i);
            await call.WriteAsync(new Parca.Protocol.Profilestore.V1Alpha1.WriteRequest { Record = record });
            Assert.True(await responses.MoveNextAsync());
            Assert.Equal(record, responses.Current.Record);
        }

        call.CompleteRequests();
        Assert.False(await responses.MoveNextAsync());
    }

    [Fact]
    public async Task MaxMessageSize_OversizedRequest_IsResourceExhausted_AndServerKeepsServing()
    {
        using var channel = server.Channel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoApi.Echo,
            new EchoRequest { Payload = TestData.Payload(RpcServerFixture.MaxMessageSize + 1) }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.Status);
        Assert.Equal("Received message exceeds the maximum configured message size.", ex.Detail);

        using var small = server.Channel(new RpcChannelOptions { MaxMessageSize = 1000 });
        var local = await Assert.ThrowsAsync<RpcException>(() => small.UnaryAsync(EchoApi.Echo, new EchoRequest { Payload = TestData.Payload(2000) }));
        Assert.Equal(StatusCode.ResourceExhausted, local.Status);

        var ok = await channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Payload = TestData.Payload(RpcServerFixture.MaxMessageSize - 100) });
        Assert.Equal(RpcServerFixture.MaxMessageSize - 100, ok.Payload.Length);
    }

    [Fact]
    public async Task UnknownServiceAndMethod_AreUnimplemented()
    {
        using var channel = server.Channel();
        var noMethod = new RpcMethod<EchoRequest, EchoResponse>(EchoApi.Service, "Nope", MethodType.Unary);
        var noService = new RpcMethod<EchoRequest, EchoResponse>("parca.nothing.v1.Missing", "Echo", MethodType.Unary);

        var a = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(noMethod, new EchoRequest()));
        var b = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(noService, new EchoRequest()));

        Assert.Equal(StatusCode.Unimplemented, a.Status);
        Assert.Equal("unknown method Nope for service parca.rpctest.v1.EchoService", a.Detail);
        Assert.Equal(StatusCode.Unimplemented, b.Status);
        Assert.Equal("unknown service parca.nothing.v1.Missing", b.Detail);
    }

    [Fact]
    public async Task Health_Check_ServingForServerAndRegisteredServices_NotFoundOtherwise()
    {
        using var channel = server.Channel();
        var all = await channel.UnaryAsync(ParcaApi.Health.Check, new HealthCheckRequest());
        var query = await channel.UnaryAsync(ParcaApi.Health.Check, new HealthCheckRequest { Service = ParcaApi.QueryService.Service });
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.Health.Check, new HealthCheckRequest { Service = "nope.Service" }));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, all.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, query.Status);
        Assert.Equal(StatusCode.NotFound, ex.Status);
    }

    [Fact]
    public async Task Retry_IdempotentMethodRetriesUnavailable_NonIdempotentDoesNot()
    {
        using var channel = server.Channel(new RpcChannelOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(5) });
        var before = server.Echo.EchoCalls;
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoApi.Echo, new EchoRequest { FailWith = (int)StatusCode.Unavailable, Text = "down" }));
        Assert.Equal(StatusCode.Unavailable, ex.Status);
        Assert.Equal(3, server.Echo.EchoCalls - before);

        var once = new RpcMethod<EchoRequest, EchoResponse>(EchoApi.Service, "Echo", MethodType.Unary, idempotent: false);
        before = server.Echo.EchoCalls;
        await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(once, new EchoRequest { FailWith = (int)StatusCode.Unavailable }));
        Assert.Equal(1, server.Echo.EchoCalls - before);
    }

    [Fact]
    public async Task NothingListening_IsUnavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        using var channel = RpcChannel.Create($"127.0.0.1:{port}", new RpcChannelOptions { Insecure = true, MaxAttempts = 2, InitialBackoff = TimeSpan.FromMilliseconds(1) });
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest()));
        Assert.Equal(StatusCode.Unavailable, ex.Status);
    }

    [Fact]
    public async Task ManyConcurrentStreams_OnOneConnection_AllSucceed()
    {
        using var channel = server.Channel();
        var calls = Enumerable.Range(0, 300).Select(i => channel.UnaryAsync(EchoApi.Echo, new EchoRequest { Text = "c" + i, DelayMs = 20 }));
        var results = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => "c" + i), results.Select(r => r.Text));
    }
}
