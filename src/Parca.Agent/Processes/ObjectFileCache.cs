using System.Text;
using Parca.Symbols.Elf;

namespace Parca.Agent.Processes;

/// <summary>
/// The open object files, keyed by device + inode + path. Two kinds of entries:
/// <list type="bullet">
/// <item>held: mapped by a process the agent knows (<see cref="FileHolds"/>: alive, or exited with samples still to
/// name). They stay open whatever their number, because a deleted binary or one private to another mount namespace
/// cannot be opened again once its process exited. Their number follows what the machine runs; a hard cap
/// (<see cref="MaxOpen"/>, half the agent's open-file limit, at most 16384) only guards the descriptor table.</item>
/// <item>idle: no known process maps them. Kept for reuse, least recently used first out, at most
/// --object-file-pool-size of them (0 = no limit).</item>
/// </list>
/// A fixed-size LRU over both (the earlier design) churned on a busy machine: short-lived compiler processes evicted
/// the files of processes whose windows were not named yet.
/// </summary>
internal sealed class ObjectFileCache
{
    private readonly int _idleCapacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _index = [];
    private readonly Dictionary<ObjectFile, Entry> _byFile = new(ReferenceEqualityComparer.Instance);
    private readonly LinkedList<Entry> _idle = new();
    private readonly DebugSymbolLoader _symbols;
    private long _useClock;

    /// <param name="idleCapacity">Files kept open that no known process maps (--object-file-pool-size; 0 = no limit).</param>
    /// <param name="maxOpen">Hard cap on open files, held ones included (0: from the process's open-file limit).</param>
    public ObjectFileCache(int idleCapacity, DebugSymbolLoader? symbols = null, int maxOpen = 0)
    {
        _idleCapacity = idleCapacity;
        _symbols = symbols ?? DebugSymbolLoader.Disabled;
        MaxOpen = maxOpen > 0 ? maxOpen : DefaultMaxOpen();
    }

    public DebugSymbolLoader SymbolLoader => _symbols;

    /// <summary>The most files open at once; beyond it even held files are closed (least recently used first), counted in <see cref="HeldEvictions"/>.</summary>
    public int MaxOpen { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _index.Count;
            }
        }
    }

    /// <summary>Files mapped by a process the agent knows.</summary>
    public int Held
    {
        get
        {
            lock (_lock)
            {
                return _index.Count - _idle.Count;
            }
        }
    }

    /// <summary>Files closed to stay within the bounds (idle ones, and held ones past <see cref="MaxOpen"/>).</summary>
    public long Evictions { get; private set; }

    /// <summary>Held files closed because <see cref="MaxOpen"/> files were open: their processes' late windows may lose names.</summary>
    public long HeldEvictions { get; private set; }

    /// <summary>The object file of <paramref name="mapping"/> when it is already open; never touches the file system (the window path).</summary>
    public ObjectFile? TryGetCached(MemoryMapping mapping)
    {
        var key = KeyOf(mapping);
        lock (_lock)
        {
            return _index.TryGetValue(key, out var entry) ? entry.File : null;
        }
    }

    /// <summary>
    /// The object file of <paramref name="mapping"/> in process <paramref name="pid"/>, or null when it cannot be read;
    /// with <paramref name="holds"/> the file stays open until they are released.
    /// </summary>
    public ObjectFile? Get(int pid, MemoryMapping mapping, ProcessFiles files, FileHolds? holds = null)
    {
        var key = KeyOf(mapping);
        lock (_lock)
        {
            if (_index.TryGetValue(key, out var entry))
            {
                Use(entry, holds);
                return entry.File;
            }
        }

        var file = Open(pid, mapping, files, _symbols);
        if (file is null)
        {
            return null;
        }

        lock (_lock)
        {
            if (_index.TryGetValue(key, out var raced))
            {
                file.Dispose();
                Use(raced, holds);
                return raced.File;
            }

            var entry = new Entry(key, file);
            _index[key] = entry;
            _byFile[file] = entry;
            entry.IdleNode = _idle.AddFirst(entry);
            Use(entry, holds);
            Trim();
        }

        return file;
    }

    /// <summary>Ends <paramref name="holds"/>: files no other known process maps become idle (and may be closed).</summary>
    public void Release(FileHolds holds)
    {
        lock (_lock)
        {
            if (holds.Released)
            {
                return;
            }

            holds.Released = true;
            foreach (var file in holds.Files)
            {
                // A file closed at the hard cap meanwhile is gone from the pool: nothing to give back.
                if (_byFile.TryGetValue(file, out var entry) && --entry.Holders == 0)
                {
                    entry.IdleNode = _idle.AddFirst(entry);
                }
            }

            holds.Files.Clear();
            Trim();
        }
    }

    private void Use(Entry entry, FileHolds? holds)
    {
        entry.LastUse = ++_useClock;
        if (holds is { Released: false } && holds.Files.Add(entry.File) && entry.Holders++ == 0)
        {
            _idle.Remove(entry.IdleNode!);
            entry.IdleNode = null;
        }
        else if (entry.IdleNode is { } node)
        {
            _idle.Remove(node);
            _idle.AddFirst(node);
        }
    }

    /// <summary>Under the lock: idle files beyond the pool size go, least recently used first; then the hard cap.</summary>
    private void Trim()
    {
        while ((_idleCapacity > 0 && _idle.Count > _idleCapacity) || (_index.Count > MaxOpen && _idle.Count > 0))
        {
            Close(_idle.Last!.Value);
        }

        while (_index.Count > MaxOpen)
        {
            // Only past the descriptor cap: the held file used longest ago (O(n), and only on a machine past thousands of mapped files).
            Entry? oldest = null;
            foreach (var e in _index.Values)
            {
                if (oldest is null || e.LastUse < oldest.LastUse)
                {
                    oldest = e;
                }
            }

            HeldEvictions++;
            Close(oldest!);
        }
    }

    private void Close(Entry entry)
    {
        if (entry.IdleNode is { } node)
        {
            _idle.Remove(node);
            entry.IdleNode = null;
        }

        _index.Remove(entry.Key);
        _byFile.Remove(entry.File);
        entry.File.Dispose();
        Evictions++;
    }

    private static string KeyOf(MemoryMapping mapping) => $"{mapping.Device}:{mapping.Inode}:{mapping.Path}";

    /// <summary>Half the soft RLIMIT_NOFILE (the runtime raises it to the hard limit at start), between 1024 and 16384.</summary>
    internal static int DefaultMaxOpen()
    {
        var limit = 1024L;
        foreach (var line in (ProcFs.TryRead("/proc/self/limits") ?? "").Split('\n'))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 0 && long.TryParse(fields[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var soft))
                {
                    limit = soft;
                }
                else if (fields.Length > 0 && fields[0] == "unlimited")
                {
                    limit = long.MaxValue;
                }
            }
        }

        return (int)Math.Clamp(limit / 2, 1024, 16384);
    }

    /// <summary>
    /// Keeps the loaded symbol tables of the most recently used files within <paramref name="budgetBytes"/> and
    /// releases the others' (the files stay open and re-read their symbols when a frame needs them again). The
    /// pool bounds files by count; symbol tables range from kilobytes to tens of megabytes (node, libLLVM), so
    /// without a byte bound the agent's heap followed whatever ran on the machine. Returns the bytes released.
    /// </summary>
    public long TrimSymbols(long budgetBytes)
    {
        List<ObjectFile> files;
        lock (_lock)
        {
            files = new List<ObjectFile>(_index.Count);
            foreach (var e in _index.Values)
            {
                files.Add(e.File);
            }

            files.Sort((a, b) => _byFile[b].LastUse.CompareTo(_byFile[a].LastUse)); // most recently used first
        }

        long kept = 0, released = 0;
        foreach (var file in files)
        {
            var bytes = file.SymbolBytes;
            if (kept + bytes <= budgetBytes)
            {
                kept += bytes;
            }
            else if (bytes > 0)
            {
                file.ReleaseSymbols();
                released += bytes;
            }
        }

        SymbolBytes = kept;
        return released;
    }

    /// <summary>Bytes of symbol tables kept after the last <see cref="TrimSymbols"/>.</summary>
    public long SymbolBytes { get; private set; }

    private static ObjectFile? Open(int pid, MemoryMapping mapping, ProcessFiles files, DebugSymbolLoader symbols)
    {
        var handle = files.OpenMappedFile(pid, mapping);
        if (handle is null)
        {
            return null;
        }

        Span<byte> magic = stackalloc byte[4];
        try
        {
            if (RandomAccess.Read(handle, magic, 0) < 4 || !magic.SequenceEqual("\u007fELF"u8))
            {
                // Not ELF (e.g. .NET assemblies mapped executable): identity only, no exception on the hot start-up path.
                handle.Dispose();
                return new ObjectFile(mapping.Path, null, null, null);
            }

            var elf = ElfFile.Read(handle, mapping.Path);
            return new ObjectFile(mapping.Path, handle, elf, ReadCompiler(elf, handle), symbols, $"{files.ProcRoot}/{pid}/root", files.Limits.ElfSymbolsMaxBytes);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or OverflowException)
        {
            handle.Dispose();
            return new ObjectFile(mapping.Path, null, null, null);
        }
    }

    /// <summary>The first producer in .comment ("GCC: (Debian 12.2.0-14) 12.2.0", "Debian clang version 14.0.6").</summary>
    private static string? ReadCompiler(ElfFile elf, Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        var comment = elf.Sections.FirstOrDefault(s => s.Name == ".comment");
        if (comment is null || comment.Size is 0 or > 4096)
        {
            return null;
        }

        var bytes = new byte[comment.Size];
        RandomAccess.Read(handle, bytes, (long)comment.Offset);
        var text = Encoding.UTF8.GetString(bytes).Split('\0', StringSplitOptions.RemoveEmptyEntries);
        return text.Length > 0 ? text[0] : null;
    }

    private sealed class Entry(string key, ObjectFile file)
    {
        public string Key { get; } = key;

        public ObjectFile File { get; } = file;

        /// <summary>Known processes that map the file; 0 = idle.</summary>
        public int Holders { get; set; }

        public long LastUse { get; set; }

        /// <summary>Its place in the idle list (null while held).</summary>
        public LinkedListNode<Entry>? IdleNode { get; set; }
    }
}
