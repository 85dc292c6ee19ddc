using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc;
using Parca.Symbols.Dwarf;
using Parca.Symbols.Symbolization;
using Source = Parca.Protocol.Debuginfo.V1Alpha1.Debuginfo.Types.Source;
using State = Parca.Protocol.Debuginfo.V1Alpha1.DebuginfoUpload.Types.State;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Server-side symbolization by build id: finds the debug file (an upload, else a debuginfod upstream, downloaded
/// once into the bucket's <c>debuginfod-cache/</c>), opens it once and keeps it while it is used (bounded by
/// <see cref="DebuginfoOptions.OpenFilesBudgetBytes"/>), and caches every (build id, address) answer. A file that
/// cannot be read is marked invalid with the reason (metadata, one log line) and never crashes a query.
/// </summary>
internal sealed class DebuginfoSymbolizer
{
    private readonly DebuginfoStore _store;
    private readonly DebuginfodClient _debuginfod;
    private readonly DebuginfoOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Lazy<Task<OpenFile>>> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string BuildId, ulong Pc), SymbolizedFrame[]> _results = new();
    private readonly ConcurrentDictionary<string, Lazy<Persisted?>> _persisted = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string BuildId, ulong Pc, SymbolizedFrame[] Frames, IReadOnlyList<Parca.Symbols.Elf.ProgramHeader> Headers)> _pending = new();
    private readonly Lock _persistLock = new();
    private readonly ConcurrentDictionary<string, UploadCheck> _uploads = new(StringComparer.Ordinal);
    private long _openBytes;

    public DebuginfoSymbolizer(DebuginfoStore store, DebuginfodClient debuginfod, DebuginfoOptions options, ILoggerFactory logs, TimeProvider time)
    {
        _store = store;
        _debuginfod = debuginfod;
        _options = options;
        _time = time;
        _log = logs.CreateLogger("Parca.Debuginfo");
        store.Uploaded += Forget;
    }

    /// <summary>An open debug file, or why there is none (and until when that answer stands).</summary>
    private sealed class OpenFile(DebugFileSymbolizer? file, string? problem, DateTimeOffset retryAfter)
    {
        public DebugFileSymbolizer? File { get; } = file;
        public string? Problem { get; } = problem;
        public DateTimeOffset RetryAfter { get; } = retryAfter;
        public long LastUse { get; set; }
    }

    /// <summary>The upload this server's answers for a build id come from, and when to ask the bucket whether a forced upload replaced it.</summary>
    private sealed class UploadCheck(string uploadId, long checkAfterTicks)
    {
        public string UploadId { get; } = uploadId;

        public long CheckAfterTicks = checkAfterTicks;
    }

    /// <summary>What a build id's persisted answers need: the file's program headers, and how much of the file is whole.</summary>
    private sealed record Persisted(IReadOnlyList<Parca.Symbols.Elf.ProgramHeader> Headers, long ValidLength);

    /// <summary>Drops everything known about <paramref name="buildId"/> (a new upload replaces it).</summary>
    public void Forget(string buildId)
    {
        if (_options.SymbolCacheDirectory is { } dir)
        {
            lock (_persistLock)
            {
                var keep = _pending.Where(p => p.BuildId != buildId).ToList();
                _pending.Clear();
                foreach (var p in keep)
                {
                    _pending.Enqueue(p);
                }

                _persisted.TryRemove(buildId, out _);
                if (File.Exists(Path.Combine(dir, buildId)))
                {
                    File.Delete(Path.Combine(dir, buildId));
                }
            }
        }

        if (_files.TryRemove(buildId, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result.File is { } f)
        {
            Interlocked.Add(ref _openBytes, -f.Bytes);
        }

        _uploads.TryRemove(buildId, out _);
        _debuginfod.Forget(buildId);
        foreach (var key in _results.Keys)
        {
            if (key.BuildId == buildId)
            {
                _results.TryRemove(key, out _);
            }
        }
    }

    /// <summary>
    /// Frames of <paramref name="address"/> sampled in a mapping (start, limit, offset) of the file with
    /// <paramref name="buildId"/>, innermost first; empty when the file or the address is unknown.
    /// </summary>
    public async ValueTask<SymbolizedFrame[]> SymbolizeAsync(string buildId, ulong address, ulong start, ulong limit, ulong offset, CancellationToken ct)
    {
        if (!DebuginfoStore.IsValidBuildId(buildId))
        {
            return [];
        }

        if (await ReplacedAsync(buildId, ct))
        {
            Forget(buildId);
        }

        // Answers persisted by an earlier run need no debug file: normalize with the headers kept beside them.
        if (LoadPersisted(buildId) is { } persisted
            && _results.TryGetValue((buildId, DebugFileSymbolizer.Normalize(persisted.Headers, address, start, limit, offset)), out var known))
        {
            return known;
        }

        var file = await FileAsync(buildId, ct);
        if (file is null)
        {
            return [];
        }

        var pc = file.Normalize(address, start, limit, offset);
        if (_results.TryGetValue((buildId, pc), out var cached))
        {
            return cached;
        }

        var frames = new List<SymbolizedFrame>(2);
        file.Symbolize(pc, _options.DemangleMode, frames);
        var result = frames.ToArray();
        if (_results.Count >= _options.MaxCachedAddresses)
        {
            _results.Clear(); // bounded memory: start over rather than track recency per address
        }

        _results[(buildId, pc)] = result;
        if (_options.SymbolCacheDirectory is not null)
        {
            _pending.Enqueue((buildId, pc, result, file.ProgramHeaders));
        }

        return result;
    }

    /// <summary>
    /// Appends the answers found since the last call to their build ids' cache files (after each query's
    /// symbolization pass, so a query costs one append per build id). I/O problems are logged and lose only the cache.
    /// </summary>
    public void PersistPending()
    {
        if (_options.SymbolCacheDirectory is not { } dir || _pending.IsEmpty)
        {
            return;
        }

        lock (_persistLock)
        {
            var batch = new List<(string BuildId, ulong Pc, SymbolizedFrame[] Frames, IReadOnlyList<Parca.Symbols.Elf.ProgramHeader> Headers)>();
            while (_pending.TryDequeue(out var p))
            {
                batch.Add(p);
            }

            foreach (var group in batch.GroupBy(p => p.BuildId, StringComparer.Ordinal))
            {
                var path = Path.Combine(dir, group.Key);
                var headers = group.First().Headers;
                try
                {
                    var valid = LoadPersisted(group.Key)?.ValidLength ?? 0;
                    SymbolCacheFile.Append(path, headers, group.Select(p => (p.Pc, p.Frames)), valid);
                    var length = new FileInfo(path).Length;
                    _persisted[group.Key] = new Lazy<Persisted?>(new Persisted(headers, length));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    DebuginfoLog.Problem(_log, group.Key, "could not persist symbolized addresses: " + e.Message);
                }
            }
        }
    }

    /// <summary>Loads a build id's persisted answers into the cache once (bounded like it); null when there are none.</summary>
    private Persisted? LoadPersisted(string buildId)
    {
        if (_options.SymbolCacheDirectory is not { } dir)
        {
            return null;
        }

        return _persisted.GetOrAdd(buildId, id => new Lazy<Persisted?>(() =>
        {
            var read = SymbolCacheFile.Read(Path.Combine(dir, id));
            if (read is null)
            {
                return null;
            }

            foreach (var (pc, frames) in read.Value.Records)
            {
                if (_results.Count >= _options.MaxCachedAddresses)
                {
                    break;
                }

                _results.TryAdd((id, pc), frames);
            }

            return new Persisted(read.Value.Headers, read.Value.ValidLength);
        })).Value;
    }

    /// <summary>
    /// Whether debuginfo for <paramref name="buildId"/> is already held (open, uploaded, or cached from debuginfod),
    /// without asking an upstream: re-symbolizing locations a client already named must not cause downloads.
    /// </summary>
    public async ValueTask<bool> HoldsAsync(string buildId, CancellationToken ct)
    {
        if (!DebuginfoStore.IsValidBuildId(buildId))
        {
            return false;
        }

        if (_files.TryGetValue(buildId, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
        {
            return lazy.Value.Result.File is not null;
        }

        var record = await _store.Metadata.FetchAsync(buildId, DebuginfoType.Executable, ct);
        return record?.Quality?.NotValidElf != true
            && (record is { Source: Source.Upload, Upload.State: State.Uploaded }
                || (record is { Source: Source.Debuginfod } && await _store.Bucket.ExistsAsync($"debuginfod-cache/{buildId}/debuginfo", ct)));
    }

    private async ValueTask<DebugFileSymbolizer?> FileAsync(string buildId, CancellationToken ct)
    {
        while (true)
        {
            var lazy = _files.GetOrAdd(buildId, id => new Lazy<Task<OpenFile>>(() => Task.Run(() => LoadOrRetryLaterAsync(id))));
            var entry = await lazy.Value.WaitAsync(ct);
            if (entry.File is null && entry.RetryAfter <= _time.GetUtcNow())
            {
                _files.TryRemove(new KeyValuePair<string, Lazy<Task<OpenFile>>>(buildId, lazy));
                continue;
            }

            entry.LastUse = _time.GetTimestamp();
            return entry.File;
        }
    }

    /// <summary>
    /// A forced upload to another server on the same object storage raises no event here: once per
    /// <see cref="DebuginfoOptions.MissingRecheck"/> (the sync interval with object storage) a build id whose answers
    /// came from an upload checks its metadata (one small read), and a newer finished upload makes this server forget
    /// the file and its answers (cached and persisted) and reopen it. One caller checks at a time; the others go on
    /// with what is known, as they do when the bucket cannot be read.
    /// </summary>
    private async ValueTask<bool> ReplacedAsync(string buildId, CancellationToken ct)
    {
        if (!_uploads.TryGetValue(buildId, out var check))
        {
            return false;
        }

        var now = _time.GetUtcNow().UtcTicks;
        var due = Interlocked.Read(ref check.CheckAfterTicks);
        if (now < due || Interlocked.CompareExchange(ref check.CheckAfterTicks, now + _options.MissingRecheck.Ticks, due) != due)
        {
            return false;
        }

        try
        {
            var record = await _store.Metadata.FetchAsync(buildId, DebuginfoType.Executable, ct);
            return record is { Source: Source.Upload, Upload.State: State.Uploaded } && record.Upload.Id != check.UploadId;
        }
        catch (Exception e) when (e is IOException or RpcException { Status: StatusCode.Unavailable })
        {
            return false;
        }
    }

    /// <summary>
    /// The bucket may be remote (object storage) or the cache disk full: while that lasts the build id's frames stay
    /// unnamed and the bucket is asked again after <see cref="DebuginfoOptions.MissingRecheck"/>, not per location.
    /// </summary>
    private async Task<OpenFile> LoadOrRetryLaterAsync(string buildId)
    {
        try
        {
            return await LoadAsync(buildId, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or RpcException { Status: StatusCode.Unavailable })
        {
            var reason = e is RpcException r ? r.Detail : e.Message;
            DebuginfoLog.Problem(_log, buildId, reason);
            return new OpenFile(null, reason, _time.GetUtcNow() + _options.MissingRecheck);
        }
    }

    private async Task<OpenFile> LoadAsync(string buildId, CancellationToken ct)
    {
        var never = DateTimeOffset.MaxValue;
        var record = await _store.Metadata.FetchAsync(buildId, DebuginfoType.Executable, ct);
        if (record?.Quality?.NotValidElf == true)
        {
            return new OpenFile(null, record.Quality.NotValidReason, never);
        }

        string? path = null;
        var source = Source.Upload;
        if (record is { Source: Source.Upload, Upload.State: State.Uploaded })
        {
            path = await LocalPathAsync(DebuginfoMetadata.ObjectKey(buildId, DebuginfoType.Executable), buildId, ct);
        }
        else if (record is null || record.Source == Source.Debuginfod)
        {
            source = Source.Debuginfod;
            path = await FromDebuginfodAsync(buildId, ct);
        }

        if (path is null)
        {
            return new OpenFile(null, "no debuginfo uploaded or found in debuginfod", _time.GetUtcNow() + _options.MissingRecheck);
        }

        try
        {
            var file = DebugFileSymbolizer.Open(path);
            var q = file.Quality;
            if (!q.CanSymbolize)
            {
                return await InvalidAsync(buildId, source, "the file has no DWARF, .gopclntab, .symtab or .dynsym", ct);
            }

            await _store.RecordQualityAsync(buildId, new DebuginfoQuality { HasDwarf = q.HasDwarf, HasGoPclntab = q.HasGoPclntab, HasSymtab = q.HasSymtab, HasDynsym = q.HasDynsym }, ct);
            DebuginfoLog.Loaded(_log, buildId, source == Source.Upload ? "upload" : "debuginfod", file.Bytes, q.HasDwarf, q.HasGoPclntab, q.HasSymtab, q.HasDynsym);
            Interlocked.Add(ref _openBytes, file.Bytes);
            EvictOverBudget(buildId);
            if (source == Source.Upload)
            {
                _uploads[buildId] = new UploadCheck(record!.Upload.Id, (_time.GetUtcNow() + _options.MissingRecheck).UtcTicks);
            }

            return new OpenFile(file, null, never);
        }
        catch (Exception e) when (e is InvalidDataException or DwarfException or IOException or OverflowException or IndexOutOfRangeException or ArgumentException)
        {
            return await InvalidAsync(buildId, source, e.Message, ct);
        }
        catch (OutOfMemoryException)
        {
            return await InvalidAsync(buildId, source, "too large to load", ct);
        }
    }

    private async Task<OpenFile> InvalidAsync(string buildId, Source source, string reason, CancellationToken ct)
    {
        DebuginfoLog.MarkedInvalid(_log, buildId, reason);
        await _store.MarkInvalidAsync(buildId, DebuginfoType.Executable, reason, source, ct);
        return new OpenFile(null, reason, DateTimeOffset.MaxValue);
    }

    /// <summary>A local file for a bucket object: the object itself on the filesystem bucket, else a copy under --debuginfo-cache-dir.</summary>
    private async Task<string?> LocalPathAsync(string key, string buildId, CancellationToken ct)
    {
        if (_store.Bucket is FileSystemDebuginfoBucket fs)
        {
            var p = fs.PathOf(key);
            return File.Exists(p) ? p : null;
        }

        await using var stream = await _store.Bucket.GetAsync(key, ct);
        if (stream is null)
        {
            return null;
        }

        Directory.CreateDirectory(_options.CacheDirectory);
        var path = Path.Combine(_options.CacheDirectory, buildId + (key.StartsWith("debuginfod-cache/", StringComparison.Ordinal) ? ".debuginfod" : ".debuginfo"));
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        await using (var file = File.Create(temp))
        {
            await stream.CopyToAsync(file, ct);
        }

        File.Move(temp, path, overwrite: true);
        return path;
    }

    private async Task<string?> FromDebuginfodAsync(string buildId, CancellationToken ct)
    {
        var key = $"debuginfod-cache/{buildId}/debuginfo";
        if (await _store.Bucket.ExistsAsync(key, ct))
        {
            return await LocalPathAsync(key, buildId, ct);
        }

        var found = await _debuginfod.OpenAsync(buildId, ct);
        if (found is null)
        {
            return null;
        }

        using var response = found.Value.Response;
        if (response.Content.Headers.ContentLength > _options.UploadMaxSize)
        {
            DebuginfoLog.Problem(_log, buildId, $"debuginfod file of {response.Content.Headers.ContentLength} bytes exceeds --debuginfo-upload-max-size");
            return null;
        }

        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            await using var limited = new LimitedStream(body, _options.UploadMaxSize);
            await _store.Bucket.PutAsync(key, limited, ct);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            DebuginfoLog.Problem(_log, buildId, $"download from {found.Value.Server} failed: {e.Message}");
            return null;
        }

        var record = new Protocol.Debuginfo.V1Alpha1.Debuginfo { BuildId = buildId, Type = DebuginfoType.Executable, Source = Source.Debuginfod };
        record.DebuginfodServers.Add(found.Value.Server);
        if (await _store.Metadata.FetchAsync(buildId, DebuginfoType.Executable, ct) is null)
        {
            await _store.Metadata.WriteAsync(record, ct);
        }

        return await LocalPathAsync(key, buildId, ct);
    }

    private void EvictOverBudget(string keep)
    {
        while (Interlocked.Read(ref _openBytes) > _options.OpenFilesBudgetBytes)
        {
            string? victim = null;
            long oldest = long.MaxValue;
            foreach (var (id, lazy) in _files)
            {
                if (id != keep && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result is { File: not null } e && e.LastUse < oldest)
                {
                    oldest = e.LastUse;
                    victim = id;
                }
            }

            if (victim is null)
            {
                return;
            }

            if (_files.TryRemove(victim, out var removed) && removed.Value.Result.File is { } f)
            {
                Interlocked.Add(ref _openBytes, -f.Bytes);
            }
        }
    }
}
