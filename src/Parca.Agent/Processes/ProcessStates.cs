using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Parca.Agent.Processes;

/// <summary>
/// A component's state per process, for one incarnation of the PID: a process seen with another start time (the PID
/// was reused) gets fresh state, and <see cref="Sweep"/> forgets processes that exited. Thread-safe; the state
/// objects themselves are the caller's to lock.
/// </summary>
internal sealed class ProcessStates<TState>(Func<TState> create)
    where TState : class
{
    private readonly ConcurrentDictionary<int, (ulong StartTime, TState State)> _states = [];

    /// <summary>The state of <paramref name="process"/>, created on first use or when the PID now names another process.</summary>
    public TState For(ProcessInfo process) =>
        _states.AddOrUpdate(
            process.Pid,
            static (_, p) => (p.Process.StartTime, p.Create()),
            static (_, s, p) => s.StartTime == p.Process.StartTime ? s : (p.Process.StartTime, p.Create()),
            (Process: process, Create: create)).State;

    /// <summary>The state kept for <paramref name="pid"/>, whichever incarnation it was made for.</summary>
    public bool TryGetValue(int pid, [MaybeNullWhen(false)] out TState state)
    {
        var found = _states.TryGetValue(pid, out var entry);
        state = entry.State;
        return found;
    }

    /// <summary>Every state kept.</summary>
    public IEnumerable<TState> States => _states.Select(kv => kv.Value.State);

    /// <summary>Forgets the processes <paramref name="gone"/> says no longer run (pid, start time the state was made for).</summary>
    public void RemoveWhere(Func<int, ulong, bool> gone)
    {
        foreach (var (pid, entry) in _states)
        {
            if (gone(pid, entry.StartTime))
            {
                _states.TryRemove(new KeyValuePair<int, (ulong, TState)>(pid, entry));
            }
        }
    }

    /// <summary>Forgets processes that exited or whose PID now names another process.</summary>
    public void Sweep(ProcessFiles files) =>
        RemoveWhere((pid, startTime) => ProcFs.ReadStat(files, pid) is not { } stat || stat.StartTime != startTime);

    public void Clear() => _states.Clear();
}
