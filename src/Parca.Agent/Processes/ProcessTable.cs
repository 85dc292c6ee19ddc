using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Parca.Agent.Processes;

/// <summary>
/// Per-PID metadata, captured on a background task as soon as a PID's first sample of a window arrives (so a
/// process that exits mid-window still has its mappings, comm and executable). A PID whose start time changed is
/// recaptured (PID reuse); entries not seen for two windows are forgotten, which bounds the table.
/// </summary>
internal sealed partial class ProcessTable : IAsyncDisposable
{
    private readonly ProcessFiles _files;
    private readonly ObjectFileCache _objects;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, Entry> _entries = new();
    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private long _window;

    public ProcessTable(ProcessFiles files, ObjectFileCache objects, ILogger logger)
    {
        _files = files;
        _objects = objects;
        _logger = logger;
        _worker = Task.Run(WorkAsync);
    }

    public ObjectFileCache Objects => _objects;

    public ProcessFiles Files => _files;

    public int Count => _entries.Count;

    /// <summary>Processes that exited before the agent could read anything about them.</summary>
    public long Missed { get; private set; }

    /// <summary>Called from the ring-buffer thread: cheap, never blocks.</summary>
    public void Observe(int pid) => _queue.Writer.TryWrite(pid);

    /// <summary>The info for <paramref name="pid"/>, waiting for a pending capture; null when nothing could be read.</summary>
    public async Task<ProcessInfo?> GetAsync(int pid)
    {
        if (_entries.TryGetValue(pid, out var entry))
        {
            return await entry.Info.ConfigureAwait(false);
        }

        var created = _entries.GetOrAdd(pid, p => new Entry(CaptureInBackground(p)));
        return await created.Info.ConfigureAwait(false);
    }

    /// <summary>At window end: refresh mappings of live processes, forget entries unseen for two windows.</summary>
    public void EndWindow(IReadOnlyCollection<int> seen)
    {
        _window++;
        foreach (var pid in seen)
        {
            if (_entries.TryGetValue(pid, out var e))
            {
                e.LastWindow = _window;
            }
        }

        foreach (var (pid, e) in _entries)
        {
            if (_window - e.LastWindow >= 2)
            {
                _entries.TryRemove(pid, out _);
            }
        }
    }

    /// <summary>Re-reads the executable mappings of a live process (dlopen, JIT code); keeps the old ones once it exited.</summary>
    public void RefreshMappings(ProcessInfo info)
    {
        if (info.Exited)
        {
            return;
        }

        var stat = ProcFs.ReadStat(_files, info.Pid);
        var maps = stat is { } s && s.StartTime == info.StartTime ? _files.ReadProcText(info.Pid, "maps", _files.Limits.MapsMaxBytes) : null;
        if (maps is null)
        {
            info.Exited = true;
            return;
        }

        var previous = info.Mappings;
        info.Mappings = MemoryMapping.ParseExecutable(maps);
        if (!SameFiles(previous, info.Mappings))
        {
            MappingsChanged?.Invoke(info);
        }
    }

    /// <summary>Called after <see cref="RefreshMappings"/> found new or removed file mappings (dlopen, dlclose): the unwinder loads their tables.</summary>
    public Action<ProcessInfo>? MappingsChanged { get; set; }

    private static bool SameFiles(IReadOnlyList<MemoryMapping> a, IReadOnlyList<MemoryMapping> b)
    {
        var files = 0;
        foreach (var m in b)
        {
            if (m.Kind != MappingKind.File)
            {
                continue;
            }

            files++;
            var found = false;
            foreach (var o in a)
            {
                found |= o.Kind == MappingKind.File && o.Start == m.Start && o.End == m.End && o.Inode == m.Inode;
            }

            if (!found)
            {
                return false;
            }
        }

        var before = 0;
        foreach (var o in a)
        {
            before += o.Kind == MappingKind.File ? 1 : 0;
        }

        return before == files;
    }

    private async Task WorkAsync()
    {
        await foreach (var pid in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (_entries.TryGetValue(pid, out var existing))
            {
                existing.LastWindow = _window;
                if (!existing.Info.IsCompleted)
                {
                    continue;
                }

                var known = existing.Info.Result;
                if (known is null || known.Exited)
                {
                    // Nothing readable or exited: a new sample with this PID after exit means a new process.
                    var stat = ProcFs.ReadStat(_files, pid);
                    if (stat is null || known is not null && stat.Value.StartTime == known.StartTime)
                    {
                        continue;
                    }
                }
                else
                {
                    var stat = ProcFs.ReadStat(_files, pid);
                    if (stat is null || stat.Value.StartTime == known.StartTime)
                    {
                        continue;
                    }
                }
            }

            // In the background: a process whose /proc files are slow to read (mmap lock held) delays only itself.
            var entry = new Entry(CaptureInBackground(pid)) { LastWindow = _window };
            _entries[pid] = entry;
        }
    }

    /// <summary>
    /// On a thread of its own: capture reads blocking /proc files (maps waits for the process's mmap lock), and the
    /// thread pool grows too slowly on a loaded machine for the window's deadline.
    /// </summary>
    private Task<ProcessInfo?> CaptureInBackground(int pid) =>
        Task.Factory.StartNew(() => Capture(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private ProcessInfo? Capture(int pid)
    {
        var stat = ProcFs.ReadStat(_files, pid);
        var maps = _files.ReadProcText(pid, "maps", _files.Limits.MapsMaxBytes);
        if (stat is null || maps is null)
        {
            Missed++;
            LogExitedBeforeCapture(_logger, pid);
            return null;
        }

        var mappings = MemoryMapping.ParseExecutable(maps);
        var exePath = ProcFs.ReadExecutablePath(_files.ProcRoot, pid);
        ObjectFile? exe = null;
        var exeMapping = mappings.FirstOrDefault(m => m.Path == exePath && m.Kind == MappingKind.File);
        if (exeMapping is not null)
        {
            exe = _objects.Get(pid, exeMapping, _files);
        }

        // Other mapped files are opened when a frame needs them (window end): through map_files while the process
        // lives, else by path, which covers everything but files private to an exited container.
        var cgroup = ProcFs.ReadCgroup(_files, pid);
        var status = _files.ReadProcText(pid, "status", _files.Limits.SmallProcFileMaxBytes);
        var (nsPid, uids) = status is null ? (pid, []) : ProcFs.ParseStatus(status, pid);
        var info = new ProcessInfo
        {
            Pid = pid,
            StartTime = stat.Value.StartTime,
            Comm = (_files.ReadProcText(pid, "comm", _files.Limits.SmallProcFileMaxBytes) ?? stat.Value.Comm).TrimEnd('\n'),
            Ppid = stat.Value.Ppid,
            Cmdline = ProcFs.ReadCmdline(_files, pid),
            Cgroup = cgroup,
            Container = ProcFs.ContainerFromCgroup(cgroup),
            ExecutablePath = exePath,
            Executable = exe,
            NamespacePid = nsPid,
            Uids = uids,
            Mappings = mappings,
        };
        Captured?.Invoke(info);
        return info;
    }

    /// <summary>Called on the capture task with every newly captured process (the unwinder loads its tables here).</summary>
    public Action<ProcessInfo>? Captured { get; set; }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} exited before its metadata could be read; its samples are attributed by comm only")]
    private static partial void LogExitedBeforeCapture(ILogger logger, int pid);

    private sealed class Entry(Task<ProcessInfo?> info)
    {
        public Task<ProcessInfo?> Info { get; } = info;

        public long LastWindow { get; set; }
    }
}
