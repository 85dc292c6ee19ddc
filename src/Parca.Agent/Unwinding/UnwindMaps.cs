using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Parca.Agent.Interop;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Unwinding;

/// <summary>One executable file mapping of a process as the BPF unwinder sees it (struct parca_mapping).</summary>
internal readonly record struct BpfMapping(ulong Start, ulong End, ulong Bias, uint TableId);

/// <summary>
/// Writes the unwinder's BPF maps (bpf/unwind.h): rows, table slices, per-process mappings and the walk mode.
/// Sizes are those of bpf/parca_agent.h; BpfLayoutTests checks them.
/// </summary>
internal sealed unsafe class UnwindMaps
{
    public const int MaxMappings = 128;
    public const uint NoTable = uint.MaxValue;
    public const int MappingBytes = 32;
    public const int ProcessBytes = 8 + (MaxMappings * MappingBytes);
    private const int RowBatch = 65536;

    private readonly int _rowsFd;
    private readonly int _tablesFd;
    private readonly int _processesFd;
    private readonly int _configFd;

    public UnwindMaps(int rowsFd, int tablesFd, int processesFd, int configFd, uint maxRows, uint maxTables, uint maxProcesses)
    {
        _rowsFd = rowsFd;
        _tablesFd = tablesFd;
        _processesFd = processesFd;
        _configFd = configFd;
        MaxRows = maxRows;
        MaxTables = maxTables;
        MaxProcesses = maxProcesses;
    }

    public uint MaxRows { get; }

    public uint MaxTables { get; }

    public uint MaxProcesses { get; }

    /// <summary>Frame pointers only, or tables (with frame-pointer steps where a pc has none when <paramref name="mixed"/>).</summary>
    public void SetMode(bool tables, bool mixed)
    {
        var value = stackalloc uint[2];
        value[0] = tables ? 1u : 0u;
        value[1] = mixed ? 1u : 0u;
        uint key = 0;
        Check(Libbpf.MapUpdateElem(_configFd, &key, value, 0), "writing parca_config");
    }

    /// <summary>Copies <paramref name="rows"/> to rows [first, first + rows.Length) in batches of one syscall each.</summary>
    public void WriteRows(uint first, ReadOnlySpan<UnwindRow> rows)
    {
        var keys = new uint[Math.Min(rows.Length, RowBatch)];
        for (var done = 0; done < rows.Length;)
        {
            var n = Math.Min(keys.Length, rows.Length - done);
            for (var i = 0; i < n; i++)
            {
                keys[i] = first + (uint)(done + i);
            }

            fixed (uint* k = keys)
            fixed (UnwindRow* v = &MemoryMarshal.GetReference(rows[done..]))
            {
                var count = (uint)n;
                var rc = Libbpf.MapUpdateBatch(_rowsFd, k, v, &count, 0);
                if (rc < 0)
                {
                    throw Errno.Exception($"writing {n} unwind rows at {first + done}", Marshal.GetLastPInvokeError());
                }
            }

            done += n;
        }
    }

    public void WriteTable(uint id, uint firstRow, uint rowCount)
    {
        var value = stackalloc uint[2];
        value[0] = firstRow;
        value[1] = rowCount;
        Check(Libbpf.MapUpdateElem(_tablesFd, &id, value, 0), $"writing unwind table {id}");
    }

    /// <summary>Writes the sorted mappings of <paramref name="pid"/> (at most <see cref="MaxMappings"/>).</summary>
    public bool WriteProcess(int pid, ReadOnlySpan<BpfMapping> mappings)
    {
        Span<byte> value = stackalloc byte[ProcessBytes];
        value.Clear();
        var count = Math.Min(mappings.Length, MaxMappings);
        BinaryPrimitives.WriteUInt32LittleEndian(value, (uint)count);
        for (var i = 0; i < count; i++)
        {
            var e = value[(8 + (i * MappingBytes))..];
            BinaryPrimitives.WriteUInt64LittleEndian(e, mappings[i].Start);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], mappings[i].End);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], mappings[i].Bias);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], mappings[i].TableId);
        }

        var key = (uint)pid;
        fixed (byte* v = value)
        {
            // E2BIG: the process map is full; the process is walked with frame pointers only.
            return Libbpf.MapUpdateElem(_processesFd, &key, v, 0) == 0;
        }
    }

    /// <summary>What parca_processes[<paramref name="pid"/>] holds (null: no entry); for tests and diagnostics.</summary>
    public BpfMapping[]? ReadProcess(int pid)
    {
        var value = new byte[ProcessBytes];
        var key = (uint)pid;
        fixed (byte* v = value)
        {
            if (Libbpf.MapLookupElem(_processesFd, &key, v) != 0)
            {
                return null;
            }
        }

        var count = Math.Min((int)BinaryPrimitives.ReadUInt32LittleEndian(value), MaxMappings);
        var result = new BpfMapping[count];
        for (var i = 0; i < count; i++)
        {
            var e = value.AsSpan(8 + (i * MappingBytes));
            result[i] = new BpfMapping(
                BinaryPrimitives.ReadUInt64LittleEndian(e),
                BinaryPrimitives.ReadUInt64LittleEndian(e[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(e[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[24..]));
        }

        return result;
    }

    public void DeleteProcess(int pid)
    {
        var key = (uint)pid;
        _ = Libbpf.MapDeleteElem(_processesFd, &key);
    }

    private static void Check(int rc, string what)
    {
        if (rc < 0)
        {
            throw Errno.Exception(what, Marshal.GetLastPInvokeError());
        }
    }
}
