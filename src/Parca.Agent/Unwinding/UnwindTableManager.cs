using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Symbols.Cfi;
using Parca.Symbols.Elf;

namespace Parca.Agent.Unwinding;

/// <summary>
/// The lifecycle of unwind tables in the BPF maps: when a process is first seen (and again when its mappings
/// change) its executable file mappings get their file's table (compiled once per file, shared by every process that
/// maps it, cached on disk) and the process's mapping list is written; when no live process maps a file any more its
/// rows are freed. Tables are read or built outside the lock (seconds for libLLVM) and only published under it, so
/// /metrics, Sweep and other processes never wait for a parse. Row memory is bounded by --dwarf-unwinding-max-rows:
/// when it is full, tables of processes not sampled lately are evicted (least recently sampled first); a table that
/// still does not fit is not loaded (counted, logged once) and that code is walked with frame pointers, so sampling
/// never stops.
/// </summary>
internal sealed partial class UnwindTableManager
{
    private readonly UnwindMaps _maps;
    private readonly UnwindTableCache _cache;
    private readonly ObjectFileCache _objects;
    private readonly ProcessFiles _files;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly RowAllocator _rows;
    private readonly Dictionary<string, Table> _tables = [];
    private readonly Dictionary<int, ProcessEntry> _processes = [];
    private readonly Stack<uint> _freeIds = new();
    private readonly HashSet<string> _reported = [];
    private uint _nextId;

    public UnwindTableManager(UnwindMaps maps, UnwindTableCache cache, ObjectFileCache objects, ProcessFiles files, ILogger logger)
    {
        _maps = maps;
        _cache = cache;
        _objects = objects;
        _files = files;
        _logger = logger;
        _rows = new RowAllocator(maps.MaxRows);
    }

    public int TablesLoaded
    {
        get
        {
            lock (_lock)
            {
                return _tables.Count;
            }
        }
    }

    public int Processes
    {
        get
        {
            lock (_lock)
            {
                return _processes.Count;
            }
        }
    }

    public long RowsUsed
    {
        get
        {
            lock (_lock)
            {
                return _rows.Used;
            }
        }
    }

    public long RowsCapacity => _rows.Capacity;

    /// <summary>Tables not loaded because the rows array was full even after evicting idle tables.</summary>
    public long TablesNotLoaded { get; private set; }

    /// <summary>Tables freed because no live process mapped their file any more.</summary>
    public long TablesUnloaded { get; private set; }

    public UnwindTableCache Cache => _cache;

    /// <summary>True while the table of the file with <paramref name="buildId"/> is in the BPF maps.</summary>
    public bool HasTable(string buildId)
    {
        lock (_lock)
        {
            return _tables.ContainsKey("b-" + buildId);
        }
    }

    /// <summary>True once <paramref name="pid"/>'s mappings are in the BPF map.</summary>
    public bool HasProcess(int pid)
    {
        lock (_lock)
        {
            return _processes.ContainsKey(pid);
        }
    }

    /// <summary>
    /// Loads the tables of <paramref name="info"/>'s mappings and publishes its mapping list to BPF; called again
    /// with new mappings (dlopen), it loads what is new and keeps the process's JIT table.
    /// </summary>
    public void AddProcess(ProcessInfo info) => AddProcess(info, null);

    /// <summary>The same, plus the process's own table of JIT code (<see cref="SetJitRows"/>) for the ranges given.</summary>
    private void AddProcess(ProcessInfo info, JitPart? jit)
    {
        var wanted = OpenMappings(info);
        var rows = new Dictionary<string, UnwindRow[]?>();
        for (var attempt = 0; ; attempt++)
        {
            List<FileMapping>? missing = null;
            lock (_lock)
            {
                foreach (var w in wanted)
                {
                    if (!_tables.ContainsKey(w.Key) && !rows.ContainsKey(w.Key) && (missing is null || !missing.Exists(m => m.Key == w.Key)))
                    {
                        (missing ??= []).Add(w);
                    }
                }

                // A table another process loaded may be unloaded between the look and the publish: try again (rarely).
                if (missing is null || attempt == 2)
                {
                    Publish(info, wanted, rows, jit);
                    return;
                }
            }

            foreach (var m in missing)
            {
                rows[m.Key] = m.File.Handle is not { IsClosed: false } ? null : LoadRows(m.Key, m.File);
            }
        }
    }

    /// <summary>
    /// The process's file mappings with their bias and table key, outside the lock. The files are those the process
    /// table holds open for the process (<see cref="FileHolds"/>), so this finds them in the pool without I/O; a
    /// file no known process holds any more (a reload after eviction) is opened again through the live process.
    /// </summary>
    private List<FileMapping> OpenMappings(ProcessInfo info)
    {
        var wanted = new List<FileMapping>();
        foreach (var m in info.Mappings)
        {
            if (m.Kind != MappingKind.File || wanted.Count >= UnwindMaps.MaxMappings)
            {
                continue;
            }

            var file = _objects.Get(info.Pid, m, _files, info.Holds);
            if (file?.Elf is not { } elf || file.Handle is not { IsClosed: false } || !TryBias(elf, m, out var bias))
            {
                continue; // not ELF, or unreadable now (exited): tried again next time
            }

            var key = file.BuildId is { Length: > 0 } id ? "b-" + id : $"f-{m.Device.Replace(':', '-')}-{m.Inode}";
            wanted.Add(new FileMapping(m.Start, m.End, bias, key, m, file));
        }

        return wanted;
    }

    /// <summary>Under the lock: takes a reference on every table (loading the new ones) and writes the mapping list.</summary>
    private void Publish(ProcessInfo info, List<FileMapping> wanted, Dictionary<string, UnwindRow[]?> rows, JitPart? jit)
    {
        _processes.TryGetValue(info.Pid, out var previous);
        if (previous is not null && (previous.StartTime != info.StartTime || (!ReferenceEquals(previous.Info, info) && previous.Info.Exited)))
        {
            RemoveLocked(info.Pid); // PID reused, or the process exec'ed: nothing of the old program (its JIT table) carries over
            previous = null;
        }

        var mappings = new List<BpfMapping>();
        var used = new List<Table>();
        if (jit is null && previous?.Jit is { } kept && kept.Table.References > 0)
        {
            kept.Table.References++; // the new entry holds it too; the previous entry's reference goes below
            jit = kept;
        }

        if (jit is { } j)
        {
            used.Add(j.Table);
            foreach (var (start, end) in j.Ranges)
            {
                mappings.Add(new BpfMapping(start, end, j.Bias, j.Table.Id));
            }
        }

        // The process's own tables stay: evicting them to load its other tables would only swap what is missing.
        var pinned = new HashSet<Table>(used);
        pinned.UnionWith(previous?.Tables ?? []);
        var missing = false;
        foreach (var w in wanted)
        {
            var table = Acquire(w, rows.GetValueOrDefault(w.Key), pinned, ref missing);
            if (table is not null)
            {
                used.Add(table);
                pinned.Add(table);
            }

            mappings.Add(new BpfMapping(w.Start, w.End, w.Bias, table?.Id ?? UnwindMaps.NoTable));
        }

        mappings.Sort((a, b) => a.Start.CompareTo(b.Start)); // the BPF side binary-searches by start
        if (previous is not null)
        {
            _processes.Remove(info.Pid);
        }

        var written = _maps.WriteProcess(info.Pid, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(mappings));

        // The previous tables are released only now: releasing the last reference zeroes a table (its JIT table on
        // every update), and until the new list is written, BPF walks of the process still look its rows up there.
        if (previous is not null)
        {
            Release(previous.Tables);
        }

        if (!written)
        {
            Release(used);
            return;
        }

        _processes[info.Pid] = new ProcessEntry(info, info.StartTime, used, mappings, jit)
        {
            LastSampledWindow = _window,
            MissingTables = missing,
            FreedGeneration = _freedGeneration,
        };
    }

    /// <summary>Forgets processes that exited (or whose PID was reused) and frees tables no process maps any more.</summary>
    public void Sweep()
    {
        List<(int Pid, ulong StartTime)> known;
        lock (_lock)
        {
            known = new List<(int, ulong)>(_processes.Count);
            foreach (var (pid, entry) in _processes)
            {
                known.Add((pid, entry.StartTime));
            }
        }

        // /proc reads outside the lock; an entry replaced meanwhile (other start time) is left alone.
        List<(int Pid, ulong StartTime)>? gone = null;
        foreach (var (pid, startTime) in known)
        {
            var stat = ProcFs.ReadStat(_files, pid);
            if (stat is null || stat.Value.StartTime != startTime)
            {
                (gone ??= []).Add((pid, startTime));
            }
        }

        lock (_lock)
        {
            foreach (var (pid, startTime) in gone ?? [])
            {
                if (_processes.TryGetValue(pid, out var entry) && entry.StartTime == startTime)
                {
                    RemoveLocked(pid);
                }
            }
        }
    }

    public void RemoveProcess(int pid)
    {
        lock (_lock)
        {
            RemoveLocked(pid);
        }
    }

    private void RemoveLocked(int pid)
    {
        if (_processes.Remove(pid, out var entry))
        {
            _maps.DeleteProcess(pid);
            Release(entry.Tables);
        }
    }

    /// <summary>A reference on the loaded table of <paramref name="w"/>, or its <paramref name="rows"/> loaded now.</summary>
    private Table? Acquire(FileMapping w, UnwindRow[]? rows, HashSet<Table> pinned, ref bool missing)
    {
        if (_tables.TryGetValue(w.Key, out var loaded))
        {
            loaded.References++;
            loaded.LastUsedWindow = _window;
            return loaded;
        }

        if (rows is null || rows.Length == 0)
        {
            return null;
        }

        if (!TryReserve((uint)rows.Length, pinned, out var tableId, out var first))
        {
            missing = true;
            TablesNotLoaded++;
            if (_reported.Add("full:" + w.Key))
            {
                LogTableNotLoaded(_logger, w.Mapping.Path, rows.Length, _rows.Used, _rows.Capacity);
            }

            return null;
        }

        _maps.WriteRows(first, rows);
        _maps.WriteTable(tableId, first, (uint)rows.Length);
        var table = new Table(w.Key, tableId, first, (uint)rows.Length) { References = 1, LastUsedWindow = _window };
        _tables[w.Key] = table;
        return table;
    }

    /// <summary>A table id and a slice of <paramref name="length"/> rows, evicting idle tables when memory is full.</summary>
    private bool TryReserve(uint length, HashSet<Table> pinned, out uint tableId, out uint first)
    {
        tableId = 0;
        first = 0;
        while (!(_freeIds.Count > 0 || _nextId < _maps.MaxTables) || !_rows.TryAllocate(length, out first))
        {
            if (length > _rows.Capacity || !EvictOne(pinned))
            {
                return false;
            }
        }

        tableId = _freeIds.Count > 0 ? _freeIds.Pop() : _nextId++;
        return true;
    }

    private void Release(List<Table> tables)
    {
        foreach (var t in tables)
        {
            if (--t.References == 0)
            {
                Unload(t);
                TablesUnloaded++;
            }
        }
    }

    private void Unload(Table t)
    {
        _tables.Remove(t.Key);
        // Zero the slice first: a BPF program still walking with the old id then finds no row instead of rows
        // of the next table to take this slot.
        _maps.WriteTable(t.Id, 0, 0);
        _rows.Free(t.FirstRow, t.RowCount);
        _freeIds.Push(t.Id);
        _freedGeneration++;
        if (t.IsJit)
        {
            JitRows -= t.RowCount;
        }
    }

    /// <summary>vaddr = pc - bias for the PT_LOAD segment the mapping's file offset falls in.</summary>
    internal static bool TryBias(ElfFile elf, MemoryMapping mapping, out ulong bias)
    {
        // The executable segment first: lld puts the end of the read-only segment and the start of the text in one
        // file page (libcoreclr.so: R at offset 0..0x1c8998, R E from 0x1c89a0, vaddr 0x1000 further on), so the
        // r-x mapping's page offset falls in both and only the text segment gives the right bias.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var p in elf.ProgramHeaders)
            {
                if (p.Type == 1 && (pass == 1 || (p.Flags & 1) != 0) && mapping.Offset >= (p.Offset & ~0xfffUL) && mapping.Offset < p.Offset + p.FileSize)
                {
                    bias = mapping.Start - (mapping.Offset + p.VirtualAddress - p.Offset);
                    return true;
                }
            }
        }

        bias = 0;
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "unwind table of {Path} ({Rows} rows) not loaded: {Used} of {Capacity} rows in use by recently sampled processes (--dwarf-unwinding-max-rows); its code is walked with frame pointers")]
    private static partial void LogTableNotLoaded(ILogger logger, string path, int rows, long used, long capacity);

    /// <summary>A file mapping of a process and its open file.</summary>
    private readonly record struct FileMapping(ulong Start, ulong End, ulong Bias, string Key, MemoryMapping Mapping, ObjectFile File);

    /// <summary>A process's JIT table and the ranges of JIT code it covers.</summary>
    private readonly record struct JitPart(Table Table, ulong Bias, IReadOnlyList<(ulong Start, ulong End)> Ranges);

    private sealed class ProcessEntry(ProcessInfo info, ulong startTime, List<Table> tables, List<BpfMapping> mappings, JitPart? jit)
    {
        public ProcessInfo Info { get; } = info;

        public ulong StartTime { get; } = startTime;

        public List<Table> Tables { get; } = tables;

        /// <summary>What parca_processes[pid] holds now (rewritten when one of its tables is evicted).</summary>
        public List<BpfMapping> Mappings { get; } = mappings;

        public JitPart? Jit { get; } = jit;

        public long LastSampledWindow { get; set; }

        /// <summary>One of its tables was evicted or did not fit: tried again when the process is sampled and memory was freed since.</summary>
        public bool MissingTables { get; set; }

        /// <summary>The manager's count of freed tables when this entry was published (-1 after an eviction: reload at once).</summary>
        public long FreedGeneration { get; set; }
    }

    private sealed class Table(string key, uint id, uint firstRow, uint rowCount)
    {
        public string Key { get; } = key;

        public uint Id { get; } = id;

        public uint FirstRow { get; } = firstRow;

        public uint RowCount { get; } = rowCount;

        public bool IsJit => Key.StartsWith("jit-", StringComparison.Ordinal);

        public int References { get; set; }

        public long LastUsedWindow { get; set; }
    }
}
