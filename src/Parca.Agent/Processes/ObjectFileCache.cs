using System.Text;
using Parca.Symbols.Elf;

namespace Parca.Agent.Processes;

/// <summary>
/// Bounded LRU of <see cref="ObjectFile"/>s keyed by device + inode + path (--object-file-pool-size; 0 = unbounded).
/// Files are opened through /proc/PID/map_files (works for containers and deleted files), then /proc/PID/root.
/// </summary>
internal sealed class ObjectFileCache
{
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, ObjectFile File)>> _index = [];
    private readonly LinkedList<(string Key, ObjectFile File)> _lru = new();

    private readonly DebugSymbolLoader _symbols;

    public ObjectFileCache(int capacity, DebugSymbolLoader? symbols = null)
    {
        _capacity = capacity;
        _symbols = symbols ?? DebugSymbolLoader.Disabled;
    }

    public DebugSymbolLoader SymbolLoader => _symbols;

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

    public long Evictions { get; private set; }

    /// <summary>The object file of <paramref name="mapping"/> when it is already open; never touches the file system (the window path).</summary>
    public ObjectFile? TryGetCached(MemoryMapping mapping)
    {
        var key = $"{mapping.Device}:{mapping.Inode}:{mapping.Path}";
        lock (_lock)
        {
            return _index.TryGetValue(key, out var node) ? node.Value.File : null;
        }
    }

    /// <summary>The object file of <paramref name="mapping"/> in process <paramref name="pid"/>, or null when it cannot be read.</summary>
    public ObjectFile? Get(int pid, MemoryMapping mapping, ProcessFiles files)
    {
        var key = $"{mapping.Device}:{mapping.Inode}:{mapping.Path}";
        lock (_lock)
        {
            if (_index.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                return node.Value.File;
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
                return raced.Value.File;
            }

            _index[key] = _lru.AddFirst((key, file));
            while (_capacity > 0 && _index.Count > _capacity)
            {
                var last = _lru.Last!;
                _lru.RemoveLast();
                _index.Remove(last.Value.Key);
                last.Value.File.Dispose();
                Evictions++;
            }
        }

        return file;
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
            files = new List<ObjectFile>(_lru.Count);
            foreach (var (_, file) in _lru)
            {
                files.Add(file); // most recently used first
            }
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
}
