using Grpc.Reflection.V1;

namespace Parca.Rpc.Tests;

/// <summary>gRPC server reflection: a real reflection client from the Node ecosystem (what grpcurl does) and the
/// protocol's details through our own client.</summary>
[Collection(RpcServerCollection.Name)]
public sealed class ReflectionTests(RpcServerFixture server)
{
    [Theory]
    [InlineData("v1")]
    [InlineData("v1alpha")]
    public async Task Reflection_client_lists_describes_and_calls_without_proto_files(string version)
    {
        var r = await ExternalProcess.NodeJsonAsync("reflection-client.mjs", server.HostPort, version);
        var services = r.GetProperty("services").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Contains("parca.query.v1alpha1.QueryService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", services);

        var methods = r.GetProperty("methods").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains("QueryRange", methods);
        Assert.Contains("ProfileTypes", methods);
        // The client built from the served descriptor alone reached the test QueryService.
        Assert.Equal(["process_cpu", "memory"], r.GetProperty("types").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["WriteRaw", "Write", "WriteArrow"], r.GetProperty("storeMethods").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains("no.such.Service", r.GetProperty("missing").GetString());
    }

    [Fact]
    public async Task Files_come_with_their_dependencies_once_per_stream_and_errors_keep_the_stream_open()
    {
        using var channel = server.Channel();
        await using var call = channel.DuplexStreaming(ParcaApi.Reflection.InfoV1);
        var responses = call.ReadAllAsync().GetAsyncEnumerator();

        async Task<ServerReflectionResponse> Ask(ServerReflectionRequest request)
        {
            await call.WriteAsync(request);
            Assert.True(await responses.MoveNextAsync());
            Assert.Equal(request, responses.Current.OriginalRequest);
            return responses.Current;
        }

        static List<string> Names(ServerReflectionResponse response) => response.FileDescriptorResponse.FileDescriptorProto
            .Select(b => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(b).Name).ToList();

        // query.proto imports profilestore.proto, metastore.proto, timestamp.proto and duration.proto.
        var first = await Ask(new ServerReflectionRequest { Host = "h", FileContainingSymbol = "parca.query.v1alpha1.QueryRangeRequest" });
        Assert.Equal("h", first.ValidHost);
        var files = Names(first);
        Assert.Equal("parca/query/v1alpha1/query.proto", files[0]);
        Assert.Contains("google/protobuf/timestamp.proto", files);
        Assert.Contains("parca/profilestore/v1alpha1/profilestore.proto", files);
        Assert.Equal(files.Count, files.Distinct().Count());

        // Already sent on this stream: only the requested file again.
        Assert.Equal(["parca/profilestore/v1alpha1/profilestore.proto"],
            Names(await Ask(new ServerReflectionRequest { FileContainingSymbol = "parca.profilestore.v1alpha1.ProfileStoreService.WriteRaw" })));

        var missing = await Ask(new ServerReflectionRequest { FileByFilename = "nope.proto" });
        Assert.Equal((int)StatusCode.NotFound, missing.ErrorResponse.ErrorCode);
        Assert.Contains("nope.proto", missing.ErrorResponse.ErrorMessage);

        // proto3 files declare no extensions; Grpc.Reflection answers extension queries UNIMPLEMENTED.
        var extension = await Ask(new ServerReflectionRequest { FileContainingExtension = new ExtensionRequest { ContainingType = "parca.query.v1alpha1.QueryRequest", ExtensionNumber = 100 } });
        Assert.Equal((int)StatusCode.Unimplemented, extension.ErrorResponse.ErrorCode);
        var numbers = await Ask(new ServerReflectionRequest { AllExtensionNumbersOfType = "parca.query.v1alpha1.QueryRequest" });
        Assert.Equal((int)StatusCode.Unimplemented, numbers.ErrorResponse.ErrorCode);

        // Nested enum: the stream still answers after the errors above.
        Assert.Equal("parca/query/v1alpha1/query.proto",
            Names(await Ask(new ServerReflectionRequest { FileContainingSymbol = "parca.query.v1alpha1.QueryRequest.Mode" }))[0]);

        call.CompleteRequests();
        Assert.False(await responses.MoveNextAsync());
    }
}
