using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc.Client;
using Parca.Rpc.Server;
using Parca.Server;

namespace Parca.Rpc.Tests;

/// <summary>
/// <see cref="BorrowingParsers.WriteRawRequest"/>: the same message as Google.Protobuf's parser, with raw_profile
/// aliasing the input instead of copied; anything else falls back. End to end: concurrent gRPC WriteRaw calls each
/// see their own bytes while the pooled frame buffers are reused between calls.
/// </summary>
public sealed class BorrowingParserTests
{
    [Fact]
    public void WriteRaw_SameMessageAsGeneratedParser_AndRawProfileAliasesTheInput()
    {
        var request = Sample(seed: 1, series: 3, samplesPerSeries: 2, bytes: 1000);
        request.Normalized = true;
        var wire = request.ToByteArray();

        var borrowed = BorrowingParsers.WriteRawRequest(wire);

        Assert.NotNull(borrowed);
        Assert.Equal(WriteRawRequest.Parser.ParseFrom(wire), borrowed);
        Assert.Equal(request, borrowed);
        var raw = borrowed.Series[2].Samples[1].RawProfile.Memory;
        Assert.True(MemoryMarshal.TryGetArray(raw, out var segment));
        Assert.Same(wire, segment.Array); // no copy
        Assert.Equal(3U, borrowed.Series[0].Samples[0].ExecutableInfo[0].ElfType);
        Assert.Equal(4096UL, borrowed.Series[0].Samples[0].ExecutableInfo[0].LoadSegment.Vaddr);
    }

    [Fact]
    public void WriteRaw_EmptyAndRepeatedLabelSets_MergeLikeProtobuf()
    {
        Assert.Equal(new WriteRawRequest(), BorrowingParsers.WriteRawRequest(Array.Empty<byte>()));

        // Two occurrences of RawProfileSeries.labels merge (repeated labels append), as the generated parser does.
        var first = new RawProfileSeries { Labels = new LabelSet { Labels = { new Label { Name = "__name__", Value = "cpu" } } } };
        var second = new RawProfileSeries { Labels = new LabelSet { Labels = { new Label { Name = "job", Value = "x" } } } };
        var seriesBytes = first.ToByteArray().Concat(second.ToByteArray()).ToArray();
        var wire = new byte[] { (2 << 3) | 2, (byte)seriesBytes.Length }.Concat(seriesBytes).ToArray();

        var borrowed = BorrowingParsers.WriteRawRequest(wire);
        Assert.NotNull(borrowed);
        Assert.Equal(WriteRawRequest.Parser.ParseFrom(wire), borrowed);
        Assert.Equal(["__name__", "job"], borrowed.Series[0].Labels.Labels.Select(l => l.Name));
    }

    [Fact]
    public void WriteRaw_OtherShapes_FallBackToTheGeneratedParser()
    {
        // The deprecated tenant field, an unknown field, a truncated message and a bad nested message: null.
        Assert.Null(BorrowingParsers.WriteRawRequest(new byte[] { (1 << 3) | 2, 1, (byte)'t' }));
        Assert.Null(BorrowingParsers.WriteRawRequest(new byte[] { (9 << 3) | 0, 1 }));
        var wire = Sample(seed: 2, series: 1, samplesPerSeries: 1, bytes: 100).ToByteArray();
        Assert.Null(BorrowingParsers.WriteRawRequest(wire.AsMemory(0, wire.Length - 1)));
        Assert.Null(BorrowingParsers.WriteRawRequest(new byte[] { (2 << 3) | 2, 3, (2 << 3) | 2, 1, 0xff }));
    }

    [Fact]
    public void WriteArrow_SameMessageAsGeneratedParser_AndIpcBufferAliasesTheInput_OtherShapesFallBack()
    {
        var ipc = RandomNumberGenerator.GetBytes(300);
        var wire = new WriteArrowRequest { IpcBuffer = ByteString.CopyFrom(ipc) }.ToByteArray();

        var borrowed = BorrowingParsers.WriteArrowRequest(wire);

        Assert.NotNull(borrowed);
        Assert.Equal(WriteArrowRequest.Parser.ParseFrom(wire), borrowed);
        Assert.Equal(ipc, borrowed.IpcBuffer.ToByteArray());
        Assert.True(MemoryMarshal.TryGetArray(borrowed.IpcBuffer.Memory, out var segment));
        Assert.Same(wire, segment.Array); // no copy
        Assert.Equal(new WriteArrowRequest(), BorrowingParsers.WriteArrowRequest(Array.Empty<byte>()));
        // An unknown field, another wire type for field 1, a truncated buffer: the generated parser takes them.
        Assert.Null(BorrowingParsers.WriteArrowRequest(new byte[] { (2 << 3) | 2, 1, 0 }));
        Assert.Null(BorrowingParsers.WriteArrowRequest(new byte[] { (1 << 3) | 0, 1 }));
        Assert.Null(BorrowingParsers.WriteArrowRequest(wire.AsMemory(0, wire.Length - 1)));
    }

    [Fact]
    public async Task Grpc_ConcurrentWriteRaw_EachHandlerSeesItsOwnBytes_PlainAndGzip()
    {
        var seen = 0;
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", MaxMessageSize = 8 * 1024 * 1024 }, services =>
            services.AddRpcService(b => b.MapUnary(ParcaApi.ProfileStore.WriteRaw, async (request, _) =>
            {
                // Poison the pool: had the frame buffer (1.2 MB, the 2 MiB bucket) gone back already, this rent on the
                // same thread would get it and the hashes below would fail.
                var probe = ArrayPool<byte>.Shared.Rent(1_100_000);
                probe.AsSpan().Fill(0xee);
                ArrayPool<byte>.Shared.Return(probe);
                await Task.Delay(10); // other calls rent pooled frame buffers meanwhile: ours must not be among them
                foreach (var s in request.Series)
                {
                    var expected = s.Labels.Labels.Single(l => l.Name == "sha256").Value;
                    foreach (var sample in s.Samples)
                    {
                        var actual = Convert.ToHexString(SHA256.HashData(sample.RawProfile.Span));
                        if (actual != expected)
                        {
                            throw new RpcException(StatusCode.DataLoss, $"raw_profile changed under the handler: {actual} != {expected}");
                        }

                        Interlocked.Increment(ref seen);
                    }
                }

                return new WriteRawResponse();
            }, BorrowingParsers.WriteRawRequest)), storageApi: false);
        await server.StartAsync();

        foreach (var gzip in new[] { false, true })
        {
            using var channel = RpcChannel.Create(server.BaseAddress.ToString(), new RpcChannelOptions { CompressRequests = gzip, MaxMessageSize = 8 * 1024 * 1024 });
            var calls = Enumerable.Range(0, 16).Select(i => channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Sample(seed: 100 + i, series: 4, samplesPerSeries: 2, bytes: 150_000)));
            await Task.WhenAll(calls);
        }

        Assert.Equal(2 * 16 * 4 * 2, seen);
    }

    /// <summary>Series whose samples repeat one random payload; label "sha256" names the payload's hash.</summary>
    private static WriteRawRequest Sample(int seed, int series, int samplesPerSeries, int bytes)
    {
        var rng = new Random(seed);
        var request = new WriteRawRequest();
        for (var s = 0; s < series; s++)
        {
            var payload = new byte[bytes + s];
            rng.NextBytes(payload);
            var one = new RawProfileSeries
            {
                Labels = new LabelSet
                {
                    Labels =
                    {
                        new Label { Name = "__name__", Value = "process_cpu" },
                        new Label { Name = "sha256", Value = Convert.ToHexString(SHA256.HashData(payload)) },
                    },
                },
            };
            for (var k = 0; k < samplesPerSeries; k++)
            {
                one.Samples.Add(new RawSample
                {
                    RawProfile = ByteString.CopyFrom(payload),
                    ExecutableInfo = { new ExecutableInfo { ElfType = 3, LoadSegment = new LoadSegment { Offset = 0, Vaddr = 4096 } } },
                });
            }

            request.Series.Add(one);
        }

        return request;
    }
}
