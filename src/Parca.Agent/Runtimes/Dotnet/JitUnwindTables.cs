using Microsoft.Win32.SafeHandles;
using Parca.Agent.Processes;
using Parca.Agent.Unwinding;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Runtimes.Dotnet;

/// <summary>
/// Unwind tables for the JIT code of .NET processes: every method in the process's perf map gets rows from its
/// prologue (<see cref="JitPrologue"/>, reading its first bytes from /proc/PID/mem once), and the process's table of
/// all of them is loaded into the BPF unwinder next to its file tables. The BPF walk then steps through frameless
/// optimized methods with the rows instead of skipping them with the frame pointer. Methods whose prologue is not
/// understood get no rows there (frame-pointer step, as before). Runs on the process's background job.
/// </summary>
internal sealed class JitUnwindTables
{
    private readonly UnwindTableManager _unwinder;
    private readonly string _procRoot;
    private readonly ProcessStates<State> _states = new(() => new State());

    public JitUnwindTables(UnwindTableManager unwinder, string procRoot)
    {
        _unwinder = unwinder;
        _procRoot = procRoot;
    }

    /// <summary>Methods analysed in all, and those with rows (understood prologues), since start.</summary>
    public long Analysed { get; private set; }

    public long Understood { get; private set; }

    /// <summary>The methods of <paramref name="pid"/> analysed so far, with whether they got rows (tests).</summary>
    internal List<(ulong Start, uint Size, bool HasRows)> Methods(int pid)
    {
        var list = new List<(ulong, uint, bool)>();
        if (_states.TryGetValue(pid, out var state))
        {
            lock (state)
            {
                foreach (var (start, (size, rows)) in state.Methods)
                {
                    list.Add((start, size, rows is not null));
                }
            }
        }

        return list;
    }

    /// <summary>
    /// True when <paramref name="address"/> lies in a method of <paramref name="pid"/> analysed so far (with rows or
    /// not understood): reading the perf map again would not change how it is unwound. Lock-free, for the ring-buffer
    /// thread (<see cref="JitCodeWatch"/>): it searches the snapshot the last publish left.
    /// </summary>
    public bool Covers(int pid, ulong address)
    {
        if (!_states.TryGetValue(pid, out var state) || Volatile.Read(ref state.Covered) is not { } ranges)
        {
            return false;
        }

        // ranges: start0, end0, start1, end1... sorted and disjoint; the last start at or below the address decides.
        int lo = 0, hi = (ranges.Length / 2) - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (address < ranges[2 * mid])
            {
                hi = mid - 1;
            }
            else if (address >= ranges[(2 * mid) + 1])
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True once a table of <paramref name="pid"/>'s JIT code was loaded (tests).</summary>
    public bool HasTable(int pid) => _states.TryGetValue(pid, out var s) && s.Published;

    /// <summary>
    /// Analyses the methods new in <paramref name="methods"/> and republishes the process's table when there were any.
    /// <paramref name="hotSpot"/>: the methods are a HotSpot JVM's (<see cref="Java.HotSpotPrologue"/>) and the list
    /// is a whole snapshot of its code cache, so methods no longer in it (freed code) are dropped.
    /// Returns true when it published a new table.
    /// </summary>
    public bool Update(ProcessInfo info, List<(ulong Start, ulong Size, string Name, string Tag)> methods, bool hotSpot = false)
    {
        if (info.Exited || methods.Count == 0)
        {
            return false;
        }

        var state = _states.For(info);
        lock (state)
        {
            var added = hotSpot && Prune(state, methods);
            SafeFileHandle? memory = null;
            try
            {
                Span<byte> code = stackalloc byte[hotSpot ? Java.HotSpotPrologue.MaxBytes : JitPrologue.MaxBytes];
                var scratch = new List<UnwindRow>();
                List<int>? unpaired = null;
                for (var i = 0; i < methods.Count; i++)
                {
                    switch (Analyse(info, state, methods[i], hotSpot, code, scratch, ref memory))
                    {
                        case Outcome.Added:
                            added = true;
                            break;
                        case Outcome.NoTier0Yet:
                            (unpaired ??= []).Add(i);
                            break;
                    }
                }

                // OSR code listed before its tier-0 version: the listing the runtime writes when the map is turned on
                // follows the code heap, not time. Paired now that every tier-0 version of this update is analysed;
                // one with none yet stays unanalysed and is tried again at the next update.
                foreach (var i in unpaired ?? [])
                {
                    added |= Analyse(info, state, methods[i], hotSpot, code, scratch, ref memory) == Outcome.Added;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited, or memory unreadable: what was analysed stays; nothing to publish for a dead process.
                if (!added)
                {
                    return false;
                }
            }
            finally
            {
                memory?.Dispose();
            }

            return added && Publish(info, state);
        }
    }

    /// <summary>
    /// Reads one method's first bytes and records its rows (null rows: not understood, frame-pointer step).
    /// On-stack-replacement code needs the frame shape of its tier-0 version: without one it is not recorded
    /// (<see cref="Outcome.NoTier0Yet"/>) so that it can be paired later.
    /// </summary>
    private Outcome Analyse(ProcessInfo info, State state, (ulong Start, ulong Size, string Name, string Tag) method, bool hotSpot,
        Span<byte> code, List<UnwindRow> scratch, ref SafeFileHandle? memory)
    {
        var (start, size, name, tag) = method;
        if ((state.Methods.TryGetValue(start, out var known) && known.Size == size) || size == 0 || size > uint.MaxValue
            || MemoryMapping.Find(info.Mappings, start) is not { Kind: MappingKind.Jit })
        {
            return Outcome.Skipped;
        }

        var osr = !hotSpot && tag.EndsWith("OSR]", StringComparison.Ordinal);
        var key = hotSpot ? name : Parca.Symbols.Jit.DotnetSymbolName.Normalize(name);
        (int FrameBytes, int RbpSlot) shape = default;
        if (osr && !state.Tier0.TryGetValue(key, out shape))
        {
            return Outcome.NoTier0Yet;
        }

        memory ??= File.OpenHandle($"{_procRoot}/{info.Pid}/mem");
        var n = RandomAccess.Read(memory, code[..(int)Math.Min((ulong)code.Length, size)], (long)start);
        scratch.Clear();
        bool ok;
        if (hotSpot)
        {
            ok = n > 0 && Java.HotSpotPrologue.TryAppendRows(code[..n], 0, (uint)size, scratch);
        }
        else if (osr)
        {
            // OSR code runs on the frame of its tier-0 version: the one listed last before it when the list is in
            // the order the runtime compiled them (tier-0 and instrumented tier-0 code of one method have the same
            // frame in practice, so the pairing matters little).
            ok = n > 0 && JitPrologue.TryAppendOsrRows(code[..n], 0, (uint)size, scratch, shape.FrameBytes, shape.RbpSlot);
        }
        else
        {
            int frameBytes = 0, rbpSlot = 0;
            ok = n > 0 && JitPrologue.TryAppendRows(code[..n], 0, (uint)size, scratch, out frameBytes, out rbpSlot);
            if (ok && frameBytes > 0 && tag is "[QuickJitted]" or "[InstrumentedTier]" or "[MinOptJitted]")
            {
                state.Tier0[key] = (frameBytes, rbpSlot);
            }
        }

        state.Methods[start] = ((uint)size, ok ? [.. scratch] : null);
        Analysed++;
        Understood += ok ? 1 : 0;
        return Outcome.Added;
    }

    /// <summary>Forgets processes that exited (their tables go with them in the unwinder).</summary>
    public void Sweep(Func<int, bool> alive) => _states.RemoveWhere((pid, _) => !alive(pid));

    private bool Publish(ProcessInfo info, State state)
    {
        var sorted = state.Methods.OrderBy(kv => kv.Key).ToList();
        Volatile.Write(ref state.Covered, CoveredRanges(sorted));
        // The table's base is the lowest JIT mapping with a method; rows hold 32-bit offsets from it.
        var ranges = new List<(ulong Start, ulong End)>();
        foreach (var m in info.Mappings)
        {
            if (m.Kind == MappingKind.Jit && ranges.Count < UnwindMaps.MaxMappings / 2 && HasMethod(state, m))
            {
                ranges.Add((m.Start, m.End));
            }
        }

        if (ranges.Count == 0)
        {
            return false;
        }

        var bias = ranges[0].Start;
        ranges.RemoveAll(r => r.End - bias > uint.MaxValue);
        var rows = new List<UnwindRow>();
        ulong previousEnd = 0;
        foreach (var (start, (size, methodRows)) in sorted)
        {
            if (start < bias || start + size - bias > uint.MaxValue || start < previousEnd)
            {
                continue;
            }

            if (previousEnd != 0 && previousEnd < start)
            {
                rows.Add(new UnwindRow((uint)(previousEnd - bias), CfaRule.Invalid, RbpRule.Unchanged, 0, 0));
            }

            if (methodRows is null)
            {
                rows.Add(new UnwindRow((uint)(start - bias), CfaRule.Invalid, RbpRule.Unchanged, 0, 0));
            }
            else
            {
                foreach (var r in methodRows)
                {
                    rows.Add(r with { Pc = (uint)(start - bias) + r.Pc });
                }
            }

            previousEnd = start + size;
        }

        if (previousEnd != 0)
        {
            rows.Add(new UnwindRow((uint)(previousEnd - bias), CfaRule.Invalid, RbpRule.Unchanged, 0, 0));
        }

        var published = _unwinder.SetJitRows(info, bias, ranges, [.. rows]);
        state.Published |= published;
        return published;
    }

    /// <summary>Drops the methods a whole snapshot no longer lists; true when there were any.</summary>
    private static bool Prune(State state, List<(ulong Start, ulong Size, string Name, string Tag)> methods)
    {
        var live = new HashSet<ulong>(methods.Count);
        foreach (var m in methods)
        {
            live.Add(m.Start);
        }

        var removed = false;
        foreach (var start in state.Methods.Keys.ToList())
        {
            if (!live.Contains(start))
            {
                removed |= state.Methods.Remove(start);
            }
        }

        return removed;
    }

    /// <summary>The methods' [start, end) pairs in address order, overlapping ones (a stale entry) skipped.</summary>
    private static ulong[] CoveredRanges(List<KeyValuePair<ulong, (uint Size, UnwindRow[]? Rows)>> sorted)
    {
        var ranges = new List<ulong>(sorted.Count * 2);
        ulong end = 0;
        foreach (var (start, (size, _)) in sorted)
        {
            if (start >= end)
            {
                end = start + size;
                ranges.Add(start);
                ranges.Add(end);
            }
        }

        return [.. ranges];
    }

    private static bool HasMethod(State state, MemoryMapping m)
    {
        foreach (var start in state.Methods.Keys)
        {
            if (start >= m.Start && start < m.End)
            {
                return true;
            }
        }

        return false;
    }

    private enum Outcome
    {
        Skipped,
        Added,
        NoTier0Yet,
    }

    private sealed class State
    {
        public Dictionary<ulong, (uint Size, UnwindRow[]? Rows)> Methods { get; } = [];

        public bool Published { get; set; }

        /// <summary>What <see cref="Covers"/> searches: replaced whole by each publish, read without the lock.</summary>
        public ulong[]? Covered;

        /// <summary>Frame shape of each method's tier-0 code, by name (what its OSR code runs on).</summary>
        public Dictionary<string, (int FrameBytes, int RbpSlot)> Tier0 { get; } = new(StringComparer.Ordinal);
    }
}
