using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;

namespace Parca.Benchmarks.Debuginfo;

/// <summary>
/// Debuginfo upload throughput: one 64 MiB file through the whole protocol (ShouldInitiateUpload, InitiateUpload, the
/// Upload client stream in 1 MiB chunks into the filesystem bucket, MarkUploadFinished) against an in-process server
/// on loopback, a new build id per operation. MB/s = 64 MiB / mean.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class DebuginfoUploadBenchmarks
{
    private const int Size = 64 << 20;
    private const int Chunk = 1 << 20;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "parca-bench-upload-" + Environment.ProcessId);
    private ParcaServer _server = null!;
    private RpcChannel _channel = null!;
    private byte[] _content = [];
    private string _hash = "";
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            ConfigPath = "/nonexistent/parca.yaml",
            StoragePath = _dir,
            DebuginfodUpstreamServers = [],
        });
        await _server.StartAsync();
        _channel = RpcChannel.Create(_server.BaseAddress);
        _content = new byte[Size];
        new Random(7).NextBytes(_content);
        _hash = Convert.ToHexStringLower(SHA256.HashData(_content));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public async Task<ulong> Upload64MiB()
    {
        var buildId = $"bench{Interlocked.Increment(ref _next):x8}";
        await _channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, new ShouldInitiateUploadRequest { BuildId = buildId, Hash = _hash, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu });
        var initiated = await _channel.UnaryAsync(ParcaApi.Debuginfo.InitiateUpload, new InitiateUploadRequest { BuildId = buildId, Hash = _hash, Size = Size, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu });
        var uploadId = initiated.UploadInstructions.UploadId;
        using var call = _channel.ClientStreaming(ParcaApi.Debuginfo.Upload);
        await call.WriteAsync(new UploadRequest { Info = new UploadInfo { BuildId = buildId, UploadId = uploadId, Type = DebuginfoType.Executable } });
        for (var at = 0; at < Size; at += Chunk)
        {
            await call.WriteAsync(new UploadRequest { ChunkData = UnsafeByteOperations.UnsafeWrap(_content.AsMemory(at, Chunk)) });
        }

        call.CompleteRequests();
        var response = await call.ResponseAsync;
        await _channel.UnaryAsync(ParcaApi.Debuginfo.MarkUploadFinished, new MarkUploadFinishedRequest { BuildId = buildId, UploadId = uploadId, Type = DebuginfoType.Executable });
        return response.Size;
    }
}
