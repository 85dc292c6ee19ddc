using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Agent.Profiling;

namespace Parca.Agent.Unwinding;

/// <summary>
/// Least-recently-sampled eviction. Every window end marks the processes that had samples; when a new table does not
/// fit, loaded file tables whose processes were all idle for the last two windows are evicted, the one idle longest
/// first (those processes' mappings are rewritten to "no table", so their code is walked with frame pointers) until
/// the new table fits. A process whose table was evicted gets it back the next time it is sampled. Tables of
/// processes sampled in the last two windows are never evicted, so two busy sets of processes cannot thrash the
/// row memory; JIT tables belong to one live process and leave with it.
/// </summary>
internal sealed partial class UnwindTableManager
{
    private long _window;
    private long _freedGeneration;

    /// <summary>Tables evicted to make room for a table of a recently sampled process.</summary>
    public long TablesEvicted { get; private set; }

    /// <summary>Window end: records which processes were sampled and reloads evicted tables of those sampled again.</summary>
    public void Touch(StackTable stacks)
    {
        List<ProcessInfo>? reload = null;
        lock (_lock)
        {
            _window++;
            var entries = stacks.Entries;
            var last = -1;
            for (var i = 0; i < entries.Length; i++)
            {
                var pid = entries[i].Pid;
                if (pid == last || !_processes.TryGetValue(pid, out var entry))
                {
                    continue;
                }

                last = pid;
                if (entry.LastSampledWindow == _window)
                {
                    continue;
                }

                entry.LastSampledWindow = _window;
                foreach (var t in entry.Tables)
                {
                    t.LastUsedWindow = _window;
                }

                if (entry.MissingTables && entry.FreedGeneration != _freedGeneration)
                {
                    entry.MissingTables = false;
                    (reload ??= []).Add(entry.Info);
                }
            }
        }

        if (reload is not null)
        {
            // Off the window thread: the rows come from the disk cache, or are built again without one.
            _ = Task.Run(() =>
            {
                foreach (var info in reload)
                {
                    if (!info.Exited)
                    {
                        AddProcess(info);
                    }
                }
            });
        }
    }

    /// <summary>Evicts the file table idle longest (not used in the last two windows, not <paramref name="pinned"/>); false when none may go.</summary>
    private bool EvictOne(HashSet<Table> pinned)
    {
        Table? victim = null;
        foreach (var t in _tables.Values)
        {
            if (!t.IsJit && !pinned.Contains(t) && t.LastUsedWindow < _window - 1 && (victim is null || t.LastUsedWindow < victim.LastUsedWindow))
            {
                victim = t;
            }
        }

        if (victim is null)
        {
            return false;
        }

        foreach (var (pid, entry) in _processes)
        {
            if (entry.Tables.RemoveAll(t => ReferenceEquals(t, victim)) == 0)
            {
                continue;
            }

            var mappings = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(entry.Mappings);
            for (var i = 0; i < mappings.Length; i++)
            {
                if (mappings[i].TableId == victim.Id)
                {
                    mappings[i] = mappings[i] with { TableId = UnwindMaps.NoTable };
                }
            }

            _maps.WriteProcess(pid, mappings);
            entry.MissingTables = true;
            entry.FreedGeneration = -1;
        }

        victim.References = 0;
        Unload(victim);
        TablesEvicted++;
        LogEvicted(_logger, victim.Key, victim.RowCount, _window - victim.LastUsedWindow);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "unwind table {Key} ({Rows} rows) evicted: its processes were not sampled for {Windows} windows")]
    private static partial void LogEvicted(ILogger logger, string key, uint rows, long windows);
}
