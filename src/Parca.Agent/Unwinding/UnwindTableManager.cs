using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Symbols.Cfi;
using Parca.Symbols.Elf;

namespace Parca.Agent.Unwinding;

/// <summary>
/// The lifecycle of unwind tables in the BPF maps: when a process is first seen its executable file mappings get
/// their file's table (compiled once per file, shared by every process that maps it, cached on disk) and the
/// process's mapping list is written; when no live process maps a file any more its rows are freed. Row memory is
/// bounded by --dwarf-unwinding-max-rows: a table that does not fit is not loaded (counted, logged once) and that
/// code is walked with frame pointers, so sampling never stops.
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
    private readonly Dictionary<int, (ulong StartTime, List<Table> Tables)> _processes = [];
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

    /// <summary>Tables not loaded because the rows array was full.</summary>
    public long TablesNotLoaded { get; private set; }

    /// <summary>Tables freed because no live process mapped their file any more.</summary>
    public long TablesUnloaded { get; private set; }

    /// <summary>Files whose CFI could not be parsed (corrupt or unsupported): walked with frame pointers.</summary>
    public long ParseFailures { get; private set; }

    public long TablesBuilt { get; private set; }

    public TimeSpan BuildTime { get; private set; }

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

    /// <summary>Loads the tables of <paramref name="info"/>'s mappings and publishes its mapping list to BPF.</summary>
    public void AddProcess(ProcessInfo info) => AddProcess(info, null);

    /// <summary>The same, plus the process's own table of JIT code (<see cref="SetJitRows"/>) for the ranges given.</summary>
    private void AddProcess(ProcessInfo info, (Table Table, ulong Bias, IReadOnlyList<(ulong Start, ulong End)> Ranges)? jit)
    {
        var mappings = new List<BpfMapping>();
        var used = new List<Table>();
        lock (_lock)
        {
            if (jit is { } j)
            {
                used.Add(j.Table);
                foreach (var (start, end) in j.Ranges)
                {
                    mappings.Add(new BpfMapping(start, end, j.Bias, j.Table.Id));
                }
            }

            foreach (var m in info.Mappings)
            {
                if (m.Kind != MappingKind.File || mappings.Count >= UnwindMaps.MaxMappings)
                {
                    continue;
                }

                var file = _objects.Get(info.Pid, m, _files);
                if (file?.Elf is not { } elf || file.Handle is not { IsClosed: false } || !TryBias(elf, m, out var bias))
                {
                    continue;
                }

                var table = Acquire(file, m);
                if (table is not null)
                {
                    used.Add(table);
                }

                mappings.Add(new BpfMapping(m.Start, m.End, bias, table?.Id ?? UnwindMaps.NoTable));
            }

            if (jit is not null)
            {
                mappings.Sort((a, b) => a.Start.CompareTo(b.Start)); // the BPF side binary-searches by start
            }

            if (_processes.Remove(info.Pid, out var previous))
            {
                Release(previous.Tables);
            }

            if (!_maps.WriteProcess(info.Pid, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(mappings)))
            {
                Release(used);
                return;
            }

            _processes[info.Pid] = (info.StartTime, used);
        }
    }

    /// <summary>Forgets processes that exited (or whose PID was reused) and frees tables no process maps any more.</summary>
    public void Sweep()
    {
        lock (_lock)
        {
            List<int>? gone = null;
            foreach (var (pid, entry) in _processes)
            {
                var stat = ProcFs.ReadStat(_files, pid);
                if (stat is null || stat.Value.StartTime != entry.StartTime)
                {
                    (gone ??= []).Add(pid);
                }
            }

            foreach (var pid in gone ?? [])
            {
                RemoveLocked(pid);
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

    private Table? Acquire(ObjectFile file, MemoryMapping mapping)
    {
        var key = file.BuildId is { Length: > 0 } id ? "b-" + id : $"f-{mapping.Device.Replace(':', '-')}-{mapping.Inode}";
        if (_tables.TryGetValue(key, out var loaded))
        {
            loaded.References++;
            return loaded;
        }

        var rows = _cache.TryRead(key);
        if (rows is null)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                rows = UnwindTableBuilder.Build(file.Handle!, file.Elf!, file.Path, out _);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or OutOfMemoryException)
            {
                ParseFailures++;
                if (_reported.Add(key))
                {
                    LogParseFailed(_logger, file.Path, e.Message);
                }

                return null;
            }

            BuildTime += clock.Elapsed;
            TablesBuilt++;
            _cache.Write(key, rows);
        }

        if (rows.Length == 0)
        {
            return null;
        }

        var idLeft = _freeIds.Count > 0 || _nextId < _maps.MaxTables;
        if (!idLeft || !_rows.TryAllocate((uint)rows.Length, out var first))
        {
            TablesNotLoaded++;
            if (_reported.Add("full:" + key))
            {
                LogTableNotLoaded(_logger, file.Path, rows.Length, _rows.Used, _rows.Capacity);
            }

            return null;
        }

        var tableId = _freeIds.Count > 0 ? _freeIds.Pop() : _nextId++;
        _maps.WriteRows(first, rows);
        _maps.WriteTable(tableId, first, (uint)rows.Length);
        var table = new Table(key, tableId, first, (uint)rows.Length) { References = 1 };
        _tables[key] = table;
        return table;
    }

    private void Release(List<Table> tables)
    {
        foreach (var t in tables)
        {
            if (--t.References == 0)
            {
                _tables.Remove(t.Key);
                // Zero the slice first: a BPF program still walking with the old id then finds no row instead of rows
                // of the next table to take this slot.
                _maps.WriteTable(t.Id, 0, 0);
                _rows.Free(t.FirstRow, t.RowCount);
                _freeIds.Push(t.Id);
                TablesUnloaded++;
                if (t.Key.StartsWith("jit-", StringComparison.Ordinal))
                {
                    JitRows -= t.RowCount;
                }
            }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "unwind table of {Path} not built ({Error}): its code is walked with frame pointers")]
    private static partial void LogParseFailed(ILogger logger, string path, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "unwind table of {Path} ({Rows} rows) not loaded: {Used} of {Capacity} rows in use (--dwarf-unwinding-max-rows); its code is walked with frame pointers")]
    private static partial void LogTableNotLoaded(ILogger logger, string path, int rows, long used, long capacity);

    private sealed class Table(string key, uint id, uint firstRow, uint rowCount)
    {
        public string Key { get; } = key;

        public uint Id { get; } = id;

        public uint FirstRow { get; } = firstRow;

        public uint RowCount { get; } = rowCount;

        public int References { get; set; }
    }
}
