using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Parca.Agent.Processes;

/// <summary>
/// Per-PID metadata, captured on a background task as soon as a PID's first sample of a window arrives (so a
/// process that exits mid-window still has its mappings, comm and executable). The capture holds every mapped file
/// open (<see cref="FileHolds"/>) until the entry is forgotten, so a late window names the frames of an exited
/// process even when its binary was deleted or lived in another mount namespace. A PID whose start time changed
/// (PID reuse), or whose executable or comm changed (exec), is captured again; the replaced entry's files stay held
/// for two more windows (its samples may still be waiting). Entries not seen for two windows are forgotten, which
/// bounds the table.
/// </summary>
internal sealed partial class ProcessTable : IAsyncDisposable
{
    private readonly ProcessFiles _files;
    private readonly ObjectFileCache _objects;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, Entry> _entries = new();
    private readonly Channel<(int Pid, TaskCompletionSource? Barrier)> _queue = Channel.CreateUnbounded<(int, TaskCompletionSource?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _retiredLock = new();
    private readonly List<(long Window, Task<ProcessInfo?> Info)> _retired = [];
    private readonly Task _worker;
    private long _window;
    private int _renames;

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

    /// <summary>Processes captured again because they exec'ed (another executable or comm, same PID and start time) or renamed themselves.</summary>
    public long Execs { get; private set; }

    /// <summary>Called from the ring-buffer thread: cheap, never blocks.</summary>
    public void Observe(int pid) => _queue.Writer.TryWrite((pid, null));

    /// <summary>Called from the ring-buffer thread when a process's main thread changed its comm (exec): looked at again, and the window waits for it.</summary>
    public void ObserveRename(int pid)
    {
        Interlocked.Increment(ref _renames);
        Observe(pid);
    }

    /// <summary>
    /// Completes once every PID observed before the call was looked at: a window's processing starts with it, so a
    /// process that exec'ed in the window is already being captured again when its info is asked for.
    /// </summary>
    public Task SyncAsync()
    {
        if (Interlocked.Exchange(ref _renames, 0) == 0)
        {
            return Task.CompletedTask; // no exec seen since the last window: nothing to wait for
        }

        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _queue.Writer.TryWrite((0, barrier)) ? barrier.Task : Task.CompletedTask;
    }

    /// <summary>The info for <paramref name="pid"/> if its capture finished, else null: never waits (ring-buffer thread).</summary>
    public ProcessInfo? TryGetCaptured(int pid) =>
        _entries.TryGetValue(pid, out var entry) && entry.Info.IsCompletedSuccessfully ? entry.Info.Result : null;

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
            if (_window - e.LastWindow >= 2 && _entries.TryRemove(new KeyValuePair<int, Entry>(pid, e)))
            {
                Release(e.Info);
            }
        }

        lock (_retiredLock)
        {
            for (var i = _retired.Count - 1; i >= 0; i--)
            {
                if (_window - _retired[i].Window >= 2)
                {
                    Release(_retired[i].Info);
                    _retired.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Gives back the files an entry held (once its capture finished, if it has not yet).</summary>
    private void Release(Task<ProcessInfo?> info)
    {
        if (info.IsCompleted)
        {
            if (info.Result is { } done)
            {
                _objects.Release(done.Holds);
            }
        }
        else
        {
            _ = info.ContinueWith(t => Release(t), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Replaces the entry of <paramref name="pid"/> by a new capture. The old program (exec) or process (PID reuse) is
    /// over: its info is frozen (no maps refresh), stays reachable through <see cref="PreviousImage"/> for the samples
    /// it took in this window, and its files stay held for two windows.
    /// </summary>
    private void Recapture(int pid, Entry? old)
    {
        if (old is { Info.IsCompletedSuccessfully: true, Info.Result: { } image })
        {
            image.Exited = true;
        }

        var entry = new Entry(CaptureInBackground(pid)) { LastWindow = _window, Previous = old?.Info, PreviousUntil = _window + 2 };
        while (true)
        {
            // GetAsync may add an entry meanwhile: whatever is replaced is retired, so its files are given back.
            if (_entries.TryGetValue(pid, out var current))
            {
                if (_entries.TryUpdate(pid, entry, current))
                {
                    lock (_retiredLock)
                    {
                        _retired.Add((_window, current.Info));
                    }

                    return;
                }
            }
            else if (_entries.TryAdd(pid, entry))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The program <paramref name="pid"/> ran before its last exec (or the process that had the PID before), for
    /// samples of the window in which it changed; null when there is none or it is older than two windows.
    /// </summary>
    public ProcessInfo? PreviousImage(int pid) =>
        _entries.TryGetValue(pid, out var e) && e.Previous is { IsCompletedSuccessfully: true, Result: { } previous } && _window <= e.PreviousUntil ? previous : null;

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
            HoldFiles(info.Pid, info.Mappings, info.Holds);
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
        await foreach (var (pid, barrier) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (barrier is not null)
            {
                barrier.TrySetResult();
                continue;
            }

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
                    if (stat is null || (stat.Value.StartTime == known.StartTime && !Execed(known, stat.Value.Comm)))
                    {
                        continue;
                    }
                }
            }

            // In the background: a process whose /proc files are slow to read (mmap lock held) delays only itself.
            Recapture(pid, existing);
        }
    }

    /// <summary>
    /// On a thread of its own: capture reads blocking /proc files (maps waits for the process's mmap lock), and the
    /// thread pool grows too slowly on a loaded machine for the window's deadline.
    /// </summary>
    private Task<ProcessInfo?> CaptureInBackground(int pid) =>
        Task.Factory.StartNew(() => Capture(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// True when the live process <paramref name="known"/> runs another program than the one captured: execve keeps
    /// the PID and start time but replaces the executable and (unless the program renames itself) the comm.
    /// </summary>
    private bool Execed(ProcessInfo known, string comm)
    {
        if (comm != known.Comm)
        {
            Execs++;
            return true;
        }

        var exe = ProcFs.ReadExecutablePath(_files.ProcRoot, known.Pid);
        if (exe.Length == 0 || SameExecutable(exe, known.ExecutablePath))
        {
            return false;
        }

        Execs++;
        return true;
    }

    /// <summary>The same file, whether or not it was deleted since (the link then ends with " (deleted)").</summary>
    internal static bool SameExecutable(string a, string b)
    {
        const string Deleted = " (deleted)";
        var x = a.AsSpan();
        var y = b.AsSpan();
        if (x.EndsWith(Deleted, StringComparison.Ordinal))
        {
            x = x[..^Deleted.Length];
        }

        if (y.EndsWith(Deleted, StringComparison.Ordinal))
        {
            y = y[..^Deleted.Length];
        }

        return x.SequenceEqual(y);
    }

    /// <summary>Opens and holds every mapped file (what a later window may need after the process exited).</summary>
    private void HoldFiles(int pid, List<MemoryMapping> mappings, FileHolds holds)
    {
        MemoryMapping? last = null;
        foreach (var m in mappings)
        {
            if (m.Kind == MappingKind.File && (last is null || last.Inode != m.Inode || last.Device != m.Device || last.Path != m.Path))
            {
                _ = _objects.Get(pid, m, _files, holds);
                last = m;
            }
        }
    }

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
        var holds = new FileHolds();
        var exeMapping = mappings.FirstOrDefault(m => m.Path == exePath && m.Kind == MappingKind.File);
        if (exeMapping is not null)
        {
            exe = _objects.Get(pid, exeMapping, _files, holds);
        }

        // Every mapped file now, through map_files while the process lives: once it exited a deleted file or one
        // private to its mount namespace cannot be opened again, and its last window is named after that.
        HoldFiles(pid, mappings, holds);
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
            Holds = holds,
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

        public Task<ProcessInfo?>? Previous { get; init; }

        public long PreviousUntil { get; init; }
    }
}
