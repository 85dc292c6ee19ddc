using Parca.Agent.Processes;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Unwinding;

/// <summary>
/// Tables of JIT code: rows a runtime module (Runtimes/Dotnet) derived for the code a process generated. Such a
/// table belongs to its process alone (its rows hold offsets from a base address in that process), replaces the
/// process's previous one at every update, and is freed with the process like the file tables it shares.
/// </summary>
internal sealed partial class UnwindTableManager
{
    private long _jitGeneration;

    /// <summary>Rows in JIT tables loaded now.</summary>
    public long JitRows { get; private set; }

    /// <summary>
    /// Publishes <paramref name="rows"/> (pcs relative to <paramref name="bias"/>, sorted) for the JIT code in
    /// <paramref name="ranges"/> of <paramref name="info"/>'s process, together with its file mappings (re-read, so
    /// libraries loaded since the process was first seen get their tables too). False when the rows do not fit.
    /// </summary>
    public bool SetJitRows(ProcessInfo info, ulong bias, IReadOnlyList<(ulong Start, ulong End)> ranges, UnwindRow[] rows)
    {
        Table table;
        lock (_lock)
        {
            if (rows.Length == 0 || !TryReserve((uint)rows.Length, [], out var id, out var first))
            {
                TablesNotLoaded += rows.Length == 0 ? 0 : 1;
                return false;
            }

            _maps.WriteRows(first, rows);
            _maps.WriteTable(id, first, (uint)rows.Length);
            table = new Table($"jit-{info.Pid}-{++_jitGeneration}", id, first, (uint)rows.Length) { References = 1, LastUsedWindow = _window };
            _tables[table.Key] = table;
            JitRows += rows.Length;
        }

        AddProcess(info, new JitPart(table, bias, ranges));
        return true;
    }
}
