using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Parca.Symbols.IO;

namespace Parca.Agent.Processes;

/// <summary>
/// The one place through which the agent opens a file on behalf of a process: /proc/PID/* text files, the perf map
/// in the process's /tmp and the ELF files it mapped. Every file is opened by <see cref="SafeOpen"/> (no symlinks,
/// nothing outside the expected directory, non-blocking, regular files only), read through a
/// <see cref="BoundedReadStream"/> (size cap, read-time budget), perf maps only when owned by the process's user or
/// root. A refusal costs that process its metadata or symbols, is counted by reason and logged once per process.
/// </summary>
internal sealed partial class ProcessFiles
{
    private readonly string _procRoot;
    private readonly ILogger _logger;
    private readonly RefusalLog _log;
    private readonly long[] _refused = new long[Enum.GetValues<FileRefusal>().Length];

    public ProcessFiles(string procRoot, ProcessFileLimits limits, ILogger logger, RefusalLog? log = null)
    {
        _procRoot = procRoot;
        Limits = limits;
        _logger = logger;
        _log = log ?? new RefusalLog();
    }

    /// <summary>The per-process log rate limit, shared with <see cref="ProcessJobs"/>.</summary>
    public RefusalLog Log => _log;

    public ProcessFileLimits Limits { get; }

    public string ProcRoot => _procRoot;

    /// <summary>Files refused since start, by reason (index = <see cref="FileRefusal"/>).</summary>
    public long Refused(FileRefusal reason) => Interlocked.Read(ref _refused[(int)reason]);

    /// <summary>Log lines left out by the rate limit.</summary>
    public long LogLinesSuppressed => _log.Suppressed;

    /// <summary>/proc/PID/<paramref name="name"/> as text, or null when the process is gone or the file was refused.</summary>
    public string? ReadProcText(int pid, string name, long cap)
    {
        var path = $"{_procRoot}/{pid}/{name}";
        var refusal = SafeOpen.OpenRegular(null, path, out var handle, out var stat, out _);
        if (refusal != FileRefusal.None)
        {
            Refuse(pid, null, path, refusal, stat);
            return null;
        }

        try
        {
            using var reader = new StreamReader(new BoundedReadStream(handle!, cap, Limits.ReadBudget));
            return reader.ReadToEnd();
        }
        catch (FileRefusedException e)
        {
            Refuse(pid, null, path, e.Reason, stat, e.Message);
            return null;
        }
        catch (IOException)
        {
            return null; // exited while being read (ESRCH)
        }
    }

    /// <summary>
    /// Parses the process's perf map (/proc/PID/root/tmp/perf-NSPID.map) with <paramref name="parse"/>, or returns
    /// null when there is none or it was refused.
    /// </summary>
    public T? ReadPerfMap<T>(ProcessInfo process, Func<TextReader, T> parse) where T : class
    {
        var handle = OpenPerfMap(process, out var stat, out var shown);
        if (handle is null)
        {
            return null;
        }

        try
        {
            using var reader = new StreamReader(new BoundedReadStream(handle, Limits.PerfMapMaxBytes, Limits.ReadBudget));
            return parse(reader);
        }
        catch (FileRefusedException e)
        {
            Refuse(process.Pid, process.Comm, shown, e.Reason, stat, e.Message);
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads what was appended to the process's perf map since <paramref name="map"/> last read it (at most its
    /// remaining budget, within the read-time budget). A file that shrank or was replaced (another inode) starts
    /// over. Returns false when there is no perf map or it was refused. <paramref name="publish"/> false leaves the
    /// name table to the next read that publishes (a mid-window re-read wants unwind rows, not names).
    /// </summary>
    public bool ReadPerfMapAppended(ProcessInfo process, Parca.Symbols.Jit.PerfMapAccumulator map, ref ulong inode, out Parca.Symbols.Jit.PerfMapAccumulator current, bool whole = false, bool publish = true)
    {
        current = map;
        // A file already over the cap at first sight is refused as before; one that grows past it later is read up to it.
        using var handle = OpenPerfMap(process, out var stat, out var shown, checkSize: map.Offset == 0);
        if (handle is null)
        {
            return false;
        }

        if (stat.Inode != inode || stat.Size < current.Offset)
        {
            current = new Parca.Symbols.Jit.PerfMapAccumulator(current.MaxBytes, current.Rename);
            inode = stat.Inode;
        }

        var wasFull = current.Full;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            while (current.Remaining > 0)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, current.Remaining)), current.Offset);
                if (n <= 0)
                {
                    break;
                }

                current.Append(buffer.AsSpan(0, n));
                // whole: a snapshot (HotSpot's) is read to its end, or to the size cap: its reader drops what it
                // does not list, so a cut read would drop live methods' rows.
                if (!whole && System.Diagnostics.Stopwatch.GetElapsedTime(started) > Limits.ReadBudget)
                {
                    break; // the rest is read next window
                }
            }

            if (current.Full && !wasFull)
            {
                Refuse(process.Pid, process.Comm, shown, FileRefusal.TooLarge, stat, $"it grew past {Limits.PerfMapMaxBytes} bytes; later entries are not read");
            }
        }
        catch (IOException)
        {
            return false;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        if (publish)
        {
            current.Publish();
        }

        return true;
    }

    private SafeFileHandle? OpenPerfMap(ProcessInfo process, out FileSyscalls.Stat stat, out string shown, bool checkSize = true)
    {
        var root = $"{_procRoot}/{process.Pid}/root";
        var relative = $"tmp/perf-{process.NamespacePid}.map";
        shown = $"{root}/{relative}";
        var refusal = SafeOpen.OpenDirectory(root, out var directory, out _);
        SafeFileHandle? handle = null;
        stat = default;
        if (refusal == FileRefusal.None)
        {
            using (directory)
            {
                refusal = SafeOpen.OpenRegular(directory, relative, out handle, out stat, out _);
            }
        }

        if (refusal == FileRefusal.None && stat.Uid != 0 && Array.IndexOf(process.Uids, stat.Uid) < 0)
        {
            handle!.Dispose();
            refusal = FileRefusal.Owner;
        }
        else if (checkSize && refusal == FileRefusal.None && stat.Size > Limits.PerfMapMaxBytes)
        {
            handle!.Dispose();
            refusal = FileRefusal.TooLarge;
        }

        if (refusal != FileRefusal.None)
        {
            Refuse(process.Pid, process.Comm, shown, refusal, stat);
            return null;
        }

        return handle;
    }

    /// <summary>
    /// The file behind an executable mapping, open and checked to be a regular file: through /proc/PID/map_files
    /// (the kernel's link to the very file mapped), else the mapping's path beneath /proc/PID/root, else (the process
    /// exited) the path on the host, accepted only when device and inode are the mapped file's.
    /// </summary>
    public SafeFileHandle? OpenMappedFile(int pid, MemoryMapping mapping)
    {
        var refusal = SafeOpen.OpenKernelLink($"{_procRoot}/{pid}/map_files/{mapping.Start:x}-{mapping.End:x}", out var handle, out var stat, out _);
        if (refusal == FileRefusal.None)
        {
            return handle;
        }

        var relative = mapping.Path.TrimStart('/');
        if (relative.Length == 0 || mapping.Path.EndsWith(" (deleted)", StringComparison.Ordinal))
        {
            return null;
        }

        if (refusal != FileRefusal.NotRegular && SafeOpen.OpenDirectory($"{_procRoot}/{pid}/root", out var root, out _) == FileRefusal.None)
        {
            using (root)
            {
                refusal = SafeOpen.OpenRegular(root, relative, out handle, out stat, out _);
            }
        }
        else if (refusal != FileRefusal.NotRegular)
        {
            refusal = SafeOpen.OpenRegular(null, mapping.Path, out handle, out stat, out _);
            if (refusal == FileRefusal.None && !SameFile(stat, mapping))
            {
                handle!.Dispose();
                refusal = FileRefusal.NotTheMappedFile;
            }
        }

        if (refusal != FileRefusal.None)
        {
            Refuse(pid, null, mapping.Path, refusal, stat);
            return null;
        }

        return handle;
    }

    /// <summary>The metric label of a refusal reason.</summary>
    public static string ReasonLabel(FileRefusal reason) => reason switch
    {
        FileRefusal.Symlink => "symlink",
        FileRefusal.NotRegular => "not_regular",
        FileRefusal.Owner => "owner",
        FileRefusal.TooLarge => "too_large",
        FileRefusal.TooSlow => "too_slow",
        FileRefusal.NotTheMappedFile => "not_mapped_file",
        FileRefusal.Unreadable => "unreadable",
        _ => "none",
    };

    /// <summary>True when the stat's device and inode are those /proc/PID/maps gave ("08:01", 1234).</summary>
    internal static bool SameFile(in FileSyscalls.Stat stat, MemoryMapping mapping)
    {
        var colon = mapping.Device.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0
            || !uint.TryParse(mapping.Device.AsSpan(0, colon), System.Globalization.NumberStyles.HexNumber, null, out var major)
            || !uint.TryParse(mapping.Device.AsSpan(colon + 1), System.Globalization.NumberStyles.HexNumber, null, out var minor))
        {
            return false;
        }

        // glibc's gnu_dev_major/gnu_dev_minor encoding of dev_t.
        var devMajor = (uint)(((stat.Device >> 8) & 0xfff) | ((stat.Device >> 32) & ~0xfffUL));
        var devMinor = (uint)((stat.Device & 0xff) | ((stat.Device >> 12) & ~0xffUL));
        return devMajor == major && devMinor == minor && stat.Inode == mapping.Inode;
    }

    private void Refuse(int pid, string? comm, string path, FileRefusal reason, in FileSyscalls.Stat stat, string? detail = null)
    {
        if (reason == FileRefusal.Missing)
        {
            return;
        }

        Interlocked.Increment(ref _refused[(int)reason]);
        if (!_log.ShouldLog(pid))
        {
            return;
        }

        var why = reason switch
        {
            FileRefusal.Symlink => "it is a symlink (or its path leaves the process's root)",
            FileRefusal.NotRegular => $"it is a {SafeOpen.TypeName(stat.Mode)}, not a regular file",
            FileRefusal.Owner => $"it is owned by uid {stat.Uid}, neither the process's user nor root",
            FileRefusal.TooLarge => detail ?? $"it is {stat.Size} bytes, over the cap",
            FileRefusal.TooSlow => detail ?? "reading it took too long",
            FileRefusal.NotTheMappedFile => "it is not the file the process mapped (device/inode differ)",
            _ => "it could not be read",
        };
        LogRefused(_logger, pid, comm ?? "", path, why);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "process {Pid} ({Comm}): not reading {Path}: {Reason}; this process's frames from it stay unsymbolized (logged once per process)")]
    private static partial void LogRefused(ILogger logger, int pid, string comm, string path, string reason);
}
