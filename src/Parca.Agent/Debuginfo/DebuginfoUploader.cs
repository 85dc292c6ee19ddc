using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Symbols.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Agent.Debuginfo;

/// <summary>
/// Uploads the debug information of every executable and library the agent samples, once per build id: the separate
/// debug file when --debuginfo-directories has one (build id, then .gnu_debuglink), else the file itself; stripped to
/// what symbolization needs and optionally compressed; through Parca's DebuginfoService protocol with at most
/// --debuginfo-upload-max-parallel uploads at a time. What the server already has is remembered for
/// --debuginfo-upload-cache-duration, so a build id seen in every window is asked about once.
/// </summary>
internal sealed partial class DebuginfoUploader : IAsyncDisposable
{
    private const int ChunkBytes = 1 << 20;

    private readonly DebuginfoService.DebuginfoServiceClient _client;
    private readonly DebuginfoUploadOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Channel<Job> _queue;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _known = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private long _uploaded;
    private long _alreadyThere;
    private long _failed;
    private long _dropped;

    public DebuginfoUploader(DebuginfoService.DebuginfoServiceClient client, DebuginfoUploadOptions options, ILogger log, TimeProvider time)
    {
        _client = client;
        _options = options;
        _log = log;
        _time = time;
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite });
        _workers = new Task[Math.Max(1, options.MaxParallel)];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = Task.Run(WorkAsync);
        }
    }

    private sealed record Job(string BuildId, SafeFileHandle Handle, string Path, string Root);

    /// <summary>(uploaded, already on the server, failed, dropped because the queue was full) since start.</summary>
    public (long Uploaded, long AlreadyThere, long Failed, long Dropped) Stats =>
        (Interlocked.Read(ref _uploaded), Interlocked.Read(ref _alreadyThere), Interlocked.Read(ref _failed), Interlocked.Read(ref _dropped));

    /// <summary>
    /// Queues the file behind <paramref name="handle"/> (duplicated here: the caller keeps its own) unless its build id
    /// is in flight or remembered. <paramref name="path"/> is the file's path in its process, <paramref name="root"/>
    /// that process's root (for .gnu_debuglink next to the file). Never blocks the caller.
    /// </summary>
    public void Enqueue(string buildId, SafeFileHandle handle, string path, string root)
    {
        var now = _time.GetUtcNow();
        if (_known.TryGetValue(buildId, out var until) && until > now)
        {
            return;
        }

        _known[buildId] = DateTimeOffset.MaxValue; // in flight
        SafeFileHandle copy;
        try
        {
            copy = File.OpenHandle($"/proc/self/fd/{handle.DangerousGetHandle()}", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Remember(buildId);
            Log.Failed(_log, buildId, path, "cannot reopen: " + e.Message);
            return;
        }

        if (!_queue.Writer.TryWrite(new Job(buildId, copy, path, root)))
        {
            copy.Dispose();
            _known.TryRemove(buildId, out _);
            Interlocked.Increment(ref _dropped);
        }
    }

    private void Remember(string buildId)
    {
        if (_options.DisableCaching)
        {
            _known.TryRemove(buildId, out _);
        }
        else
        {
            _known[buildId] = _time.GetUtcNow() + _options.CacheDuration;
        }
    }

    private async Task WorkAsync()
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(_stopping.Token))
            {
                using (job.Handle)
                {
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                        timeout.CancelAfter(_options.Timeout);
                        await UploadAsync(job, timeout.Token);
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && _stopping.IsCancellationRequested)
                    {
                        // The agent is stopping: the call was cancelled, not refused. Nothing to log.
                    }
                    catch (Exception e) when (e is RpcException or IOException or InvalidDataException or UnauthorizedAccessException
                                              || (e is OperationCanceledException && !_stopping.IsCancellationRequested))
                    {
                        // A refusal (e.g. a store without the debuginfo service answers UNIMPLEMENTED) is logged and
                        // counted, also while stopping: an upload in flight at shutdown must not fault the worker and
                        // with it the agent's DisposeAsync.

                        Interlocked.Increment(ref _failed);
                        Log.Failed(_log, job.BuildId, job.Path, e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message);
                    }
                    finally
                    {
                        Remember(job.BuildId);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task UploadAsync(Job job, CancellationToken ct)
    {
        var (source, temp) = Prepare(job);
        try
        {
            var hash = await HashAsync(source, ct);
            var should = await _client.ShouldInitiateUploadAsync(
                new ShouldInitiateUploadRequest { BuildId = job.BuildId, Hash = hash, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu },
                cancellationToken: ct);
            if (!should.ShouldInitiateUpload)
            {
                Interlocked.Increment(ref _alreadyThere);
                return;
            }

            var size = new FileInfo(source).Length;
            var initiated = await _client.InitiateUploadAsync(
                new InitiateUploadRequest { BuildId = job.BuildId, Hash = hash, Size = size, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu },
                cancellationToken: ct);
            var instructions = initiated.UploadInstructions;
            if (instructions.UploadStrategy == UploadInstructions.Types.UploadStrategy.SignedUrl)
            {
                await PutSignedAsync(instructions.SignedUrl, source, ct);
            }
            else
            {
                await StreamAsync(job.BuildId, instructions.UploadId, source, ct);
            }

            await _client.MarkUploadFinishedAsync(
                new MarkUploadFinishedRequest { BuildId = job.BuildId, UploadId = instructions.UploadId, Type = DebuginfoType.Executable },
                cancellationToken: ct);
            Interlocked.Increment(ref _uploaded);
            Log.Uploaded(_log, job.BuildId, job.Path, size);
        }
        finally
        {
            if (temp is not null)
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>The file to upload: the separate debug file if one is found, else the file itself; extracted when stripping.</summary>
    private (string Source, string? Temp) Prepare(Job job)
    {
        var self = $"/proc/self/fd/{job.Handle.DangerousGetHandle()}";
        var elf = ElfFile.Read(job.Handle, job.Path);
        var skipped = new List<string>();
        using var debug = DebugFileFinder.Find(elf, job.Handle, job.Path, job.Root, _options.Directories, skipped);
        var source = debug?.Path ?? self;
        if (!_options.Strip && !_options.Compress)
        {
            return (source, null);
        }

        Directory.CreateDirectory(_options.TempDirectory);
        var temp = Path.Combine(_options.TempDirectory, $"parca-agent-debuginfo-{job.BuildId}-{Guid.NewGuid():N}");
        using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
        {
            DebugInfoExtractor.Write(source, output, _options.Compress);
        }

        return (temp, temp);
    }

    private static async Task<string> HashAsync(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }

    private async Task StreamAsync(string buildId, string uploadId, string path, CancellationToken ct)
    {
        using var call = _client.Upload(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new UploadRequest { Info = new UploadInfo { BuildId = buildId, UploadId = uploadId, Type = DebuginfoType.Executable } }, ct);
        await using var file = File.OpenRead(path);
        var buffer = new byte[ChunkBytes];
        int n;
        while ((n = await file.ReadAsync(buffer, ct)) > 0)
        {
            await call.RequestStream.WriteAsync(new UploadRequest { ChunkData = ByteString.CopyFrom(buffer, 0, n) }, ct);
        }

        await call.RequestStream.CompleteAsync();
        await call.ResponseAsync;
    }

    private static async Task PutSignedAsync(string url, string path, CancellationToken ct)
    {
        using var http = new HttpClient();
        await using var file = File.OpenRead(path);
        using var response = await http.PutAsync(new Uri(url), new StreamContent(file), ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new IOException($"signed URL upload answered {(int)response.StatusCode}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await Task.WhenAll(_workers).ConfigureAwait(false);
        while (_queue.Reader.TryRead(out var job))
        {
            job.Handle.Dispose();
        }

        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "debuginfo: uploaded build id {BuildId} of {Path} ({Bytes} bytes)")]
        public static partial void Uploaded(ILogger logger, string buildId, string path, long bytes);

        [LoggerMessage(2, LogLevel.Warning, "debuginfo: upload of build id {BuildId} of {Path} failed: {Reason}")]
        public static partial void Failed(ILogger logger, string buildId, string path, string reason);
    }
}
