using System.Text;
using Parca.Agent.Bpf;
using Parca.Agent.Interpreters;

namespace Parca.Agent.Profiling;

/// <summary>
/// The ring buffer's consumer: counts each sample into the current window's <see cref="StackTable"/>, remembers
/// thread names, and tells the process table about PIDs it has not seen in this window (so /proc is read while the
/// process still exists). A main thread whose comm changes within the window is reported again: execve renames it,
/// and the process table then captures the new program's executable and mappings at once rather than a window
/// later. Called on the consuming thread only; <see cref="Swap"/> runs on the same thread.
/// </summary>
internal sealed class SampleAggregator : ISampleSink
{
    private readonly Action<int> _newProcess;
    private readonly HashSet<int> _seenPids = [];
    private readonly Dictionary<int, UInt128> _mainThreadComms = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<(StackTable, Dictionary<int, string>)> _pool = new();
    private StackTable _current = new();
    private Dictionary<int, string> _threadNames = [];

    public SampleAggregator(Action<int> newProcess) => _newProcess = newProcess;

    /// <summary>Called when a process's main thread changed its comm (exec); null: treated as a new process.</summary>
    internal Action<int>? ProcessRenamed { get; set; }

    /// <summary>Names the interpreted frames of new samples while their process lives (null: no interpreter support).</summary>
    internal Interpreters.InterpreterSymbolCache? Interpreters { get; set; }

    /// <summary>Re-reads .NET perf maps when samples run JIT code without unwind rows (null: no JIT unwind tables).</summary>
    internal Runtimes.Dotnet.JitCodeWatch? JitWatch { get; set; }

    /// <summary>Samples received since start.</summary>
    public long Received { get; private set; }

    /// <summary>Samples whose user stack hit the depth limit.</summary>
    public long Truncated { get; private set; }

    public void OnSample(ref readonly BpfSample sample)
    {
        Received++;
        if ((sample.Flags & BpfSample.FlagUserTruncated) != 0)
        {
            Truncated++;
        }

        var pid = (int)sample.Pid;
        var tid = (int)sample.Tid;
        if (_seenPids.Add(pid))
        {
            _newProcess(pid);
        }

        if (tid == pid && MainThreadRenamed(pid, sample.CommBytes))
        {
            (ProcessRenamed ?? _newProcess)(pid); // exec (or prctl rename): looked at again
            _threadNames[tid] = Encoding.UTF8.GetString(sample.CommBytes);
        }
        else if (!_threadNames.ContainsKey(tid))
        {
            _threadNames[tid] = Encoding.UTF8.GetString(sample.CommBytes);
        }

        _current.Add(pid, tid, (int)sample.Cpu, (long)sample.TimestampNs, sample.KernelFrames, sample.UserFrames);
        Interpreters?.Observe(pid, sample.UserFrames);
        if (JitWatch is { } watch)
        {
            var user = sample.UserFrames;
            watch.Observe(pid, user[..InterpreterFrames.NativeLength(user)]);
        }
    }

    /// <summary>Ends the window: returns its samples and thread names and starts an empty one (reusing returned tables).</summary>
    public (StackTable Stacks, Dictionary<int, string> ThreadNames) Swap()
    {
        var full = (_current, _threadNames);
        if (_pool.TryDequeue(out var reused))
        {
            (_current, _threadNames) = reused;
        }
        else
        {
            _current = new StackTable();
            _threadNames = [];
        }

        // Main-thread comms are kept across windows (an exec between two samples in different windows is seen too),
        // for the PIDs of this window only, which bounds the dictionary.
        List<int>? gone = null;
        foreach (var pid in _mainThreadComms.Keys)
        {
            if (!_seenPids.Contains(pid))
            {
                (gone ??= []).Add(pid);
            }
        }

        foreach (var pid in gone ?? [])
        {
            _mainThreadComms.Remove(pid);
        }

        _seenPids.Clear();
        JitWatch?.NewWindow();
        return full;
    }

    /// <summary>True when the main thread of <paramref name="pid"/> had another comm in its last sample (no allocation).</summary>
    private bool MainThreadRenamed(int pid, ReadOnlySpan<byte> comm)
    {
        Span<byte> padded = stackalloc byte[16];
        padded.Clear();
        comm[..Math.Min(comm.Length, 16)].CopyTo(padded);
        var key = System.Runtime.InteropServices.MemoryMarshal.Read<UInt128>(padded);
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_mainThreadComms, pid, out var existed);
        var renamed = existed && slot != key;
        slot = key;
        return renamed;
    }

    /// <summary>Gives a window's table back once its profiles are built, so the next window reuses its arrays.</summary>
    public void Return(StackTable stacks, Dictionary<int, string> threadNames)
    {
        stacks.Clear();
        threadNames.Clear();
        _pool.Enqueue((stacks, threadNames));
    }
}
