using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Agent.Shipping.Arrow;
using Parca.Pprof;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Label = Parca.Protocol.Profilestore.V1Alpha1.Label;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>A real server on 127.0.0.1:0 with its own storage directory, and the calls the debuginfo tests make.</summary>
internal sealed class DebuginfoTestServer : IAsyncDisposable
{
    private readonly ParcaServer _server;

    private DebuginfoTestServer(ParcaServer server, string directory, RpcChannel channel)
    {
        _server = server;
        Directory = directory;
        Channel = channel;
    }

    public string Directory { get; }

    public RpcChannel Channel { get; }

    public ParcaServer Server => _server;

    public static async Task<DebuginfoTestServer> StartAsync(string directory, IReadOnlyList<string>? debuginfod = null, IReadOnlyList<string>? sourceDirectories = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            ConfigPath = "/nonexistent/parca.yaml",
            StoragePath = Path.Combine(directory, "data"),
            DebuginfoCacheDir = Path.Combine(directory, "cache"),
            DebuginfodUpstreamServers = debuginfod ?? [],
            DebuginfodHttpRequestTimeout = TimeSpan.FromSeconds(20),
            DebuginfoSourceDirectories = sourceDirectories ?? [],
        });
        await server.StartAsync();
        return new DebuginfoTestServer(server, directory, RpcChannel.Create(server.BaseAddress));
    }

    /// <summary>A server started from the caller's options (object storage tests run several on one bucket).</summary>
    public static async Task<DebuginfoTestServer> StartAsync(ParcaServerOptions options)
    {
        var server = ParcaServer.Create(options);
        await server.StartAsync();
        return new DebuginfoTestServer(server, options.StoragePath, RpcChannel.Create(server.BaseAddress));
    }

    /// <summary>The whole upload protocol for one file, in 64 KiB chunks; returns the size the server reports.</summary>
    public async Task<ulong> UploadAsync(string buildId, byte[] content, DebuginfoType type = DebuginfoType.Executable, bool force = false)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(content));
        var should = await Channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, new ShouldInitiateUploadRequest { BuildId = buildId, Hash = hash, Force = force, Type = type, BuildIdType = BuildIDType.Gnu });
        Assert.True(should.ShouldInitiateUpload, should.Reason);
        var initiated = await Channel.UnaryAsync(ParcaApi.Debuginfo.InitiateUpload, new InitiateUploadRequest { BuildId = buildId, Hash = hash, Size = content.Length, Force = force, Type = type, BuildIdType = BuildIDType.Gnu });
        var uploadId = initiated.UploadInstructions.UploadId;
        using var call = Channel.ClientStreaming(ParcaApi.Debuginfo.Upload);
        await call.WriteAsync(new UploadRequest { Info = new UploadInfo { BuildId = buildId, UploadId = uploadId, Type = type } });
        for (var at = 0; at < content.Length; at += 64 << 10)
        {
            await call.WriteAsync(new UploadRequest { ChunkData = ByteString.CopyFrom(content, at, Math.Min(64 << 10, content.Length - at)) });
        }

        call.CompleteRequests();
        var response = await call.ResponseAsync;
        await Channel.UnaryAsync(ParcaApi.Debuginfo.MarkUploadFinished, new MarkUploadFinishedRequest { BuildId = buildId, UploadId = uploadId, Type = type });
        return response.Size;
    }

    public Task<ShouldInitiateUploadResponse> ShouldInitiateAsync(string buildId, string hash = "") =>
        Channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, new ShouldInitiateUploadRequest { BuildId = buildId, Hash = hash, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu });

    /// <summary>
    /// Ingests a CPU profile whose stacks are single native frames at <paramref name="addresses"/> of one mapping,
    /// unsymbolized (as Parca Agent v0.32+ sends them): only addresses, a build id and the mapping's range.
    /// </summary>
    public async Task IngestAsync(string job, string buildId, ulong start, ulong limit, ulong offset, IReadOnlyList<ulong> addresses)
    {
        var profile = new Profile { TimeNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000, DurationNanos = 10_000_000_000, Period = 10_000_000, PeriodType = new PprofValueType("cpu", "nanoseconds") };
        profile.SampleTypes.Add(new PprofValueType("samples", "count"));
        profile.Mappings.Add(new Mapping { Id = 1, MemoryStart = start, MemoryLimit = limit, FileOffset = offset, Filename = "/opt/test/p", BuildId = buildId });
        for (var i = 0; i < addresses.Count; i++)
        {
            profile.Locations.Add(new Location { Id = (ulong)i + 1, MappingId = 1, Address = addresses[i] });
            profile.Samples.Add(new Sample { LocationIds = [(ulong)i + 1], Values = [i + 1] });
        }

        var request = new WriteRawRequest();
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "native" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = job });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(PprofEncoder.Encode(profile)) });
        request.Series.Add(series);
        await Channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request);
    }

    /// <summary>
    /// The same profile as Parca Agent's v2 Arrow record (WriteArrow): single native frames at ELF file
    /// <paramref name="fileAddresses"/>, with mapping file and build id and no mapping range (v2 has none).
    /// </summary>
    public async Task IngestV2Async(string job, string buildId, IReadOnlyList<ulong> fileAddresses)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var labels = new Dictionary<string, string?> { ["job"] = job };
        var rows = fileAddresses.Select((a, i) => new ArrowSample([new Frame(a, "native", "/opt/test/p", buildId)], i + 1, labels, now)
        {
            Producer = "native",
            Period = 10_000_000,
            Duration = 10_000_000_000,
        }).ToList();
        await Channel.UnaryAsync(ParcaApi.ProfileStore.WriteArrow, new WriteArrowRequest { IpcBuffer = ByteString.CopyFrom(V2RecordWriter.Write([rows], lz4: true)) });
    }

    /// <summary>The merged profile of <paramref name="job"/> as the pprof report returns it (through the real query API).</summary>
    public async Task<Profile> QueryAsync(string job)
    {
        var response = await Channel.UnaryAsync(ParcaApi.QueryService.Query, MergeRequest(job, QueryRequest.Types.ReportType.Pprof));
        return PprofDecoder.DecodeProfile(response.Pprof.Span);
    }

    /// <summary>A merge over all time of <paramref name="job"/>'s native CPU samples.</summary>
    public static QueryRequest MergeRequest(string job, QueryRequest.Types.ReportType report) => new()
    {
        Mode = QueryRequest.Types.Mode.Merge,
        Merge = new MergeProfile { Query = $"native:samples:count:cpu:nanoseconds:delta{{job=\"{job}\"}}", Start = new Timestamp { Seconds = 0 }, End = new Timestamp { Seconds = 4_000_000_000 } },
        ReportType = report,
    };

    /// <summary>Per location address, its frames innermost first as (function, file, line).</summary>
    public static Dictionary<ulong, List<(string Function, string File, long Line)>> Frames(Profile p)
    {
        var functions = p.Functions.ToDictionary(f => f.Id);
        return p.Locations.ToDictionary(
            l => l.Address,
            l => l.Lines.Select(x => functions.TryGetValue(x.FunctionId, out var f) ? (f.Name, f.Filename, x.LineNumber) : ("", "", x.LineNumber)).ToList());
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _server.DisposeAsync();
    }
}
