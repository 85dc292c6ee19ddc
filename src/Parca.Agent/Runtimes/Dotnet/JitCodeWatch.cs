using System.Diagnostics;
using System.Threading.Channels;
using Parca.Agent.Processes;
using Parca.Agent.Profiling;

namespace Parca.Agent.Runtimes.Dotnet;

/// <summary>
/// Reads a .NET process's perf map again within the window when its samples run JIT code the agent has no unwind rows
/// for: code the runtime compiled since the last read (a tier-1 or on-stack-replacement version). Until then the BPF
/// walk steps through that code with the frame pointer, which loses the caller of a frameless method, so waiting for
/// the window's end cost up to a whole window of broken stacks after every tier change.
/// <see cref="Observe"/> runs on the ring-buffer thread for every sample: it only looks addresses up (no allocation,
/// no I/O) and queues the process; one background task does the re-read (incremental: what the runtime appended) and
/// the analysis of the new methods. A process is re-read at most every <see cref="MinInterval"/>; a re-read that found
/// nothing new doubles its interval up to <see cref="MaxInterval"/> (code the map never lists, such as some runtime
/// stubs, then costs a few reads a second at most).
/// HotSpot JVMs are watched the same way, but a JVM writes its map only when asked (jcmd Compiler.perfmap, a whole
/// snapshot of its code cache), so their re-read is a request through the attach socket: at most every
/// <see cref="JavaMinInterval"/>, backing off to <see cref="JavaMaxInterval"/>, and only to a JVM whose attach
/// listener already runs (the watch never signals a process; see <see cref="Java.JavaPerfMaps.Refresh"/>).
/// </summary>
internal sealed class JitCodeWatch : IDisposable
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(1);

    /// <summary>Longer for JVMs: each request makes the JVM write its whole code cache listing.</summary>
    public static readonly TimeSpan JavaMinInterval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan JavaMaxInterval = TimeSpan.FromSeconds(4);

    private readonly Func<int, ProcessInfo?> _captured;
    private readonly Func<int, ulong, bool> _covers;
    private readonly RereadPolicy _dotnet;
    private readonly RereadPolicy? _java;
    private readonly Dictionary<int, Watched> _watched = [];
    private readonly Channel<Watched> _pending = Channel.CreateBounded<Watched>(new BoundedChannelOptions(256) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Thread _worker;
    private long _window;
    private long _rereads;
    private long _failed;

    /// <param name="captured">The process's captured info, without waiting (null: not captured yet).</param>
    /// <param name="covers">True when the process's JIT method at an address is known (analysed, with or without rows).</param>
    /// <param name="reread">Re-reads the process's perf map (true: the argument says a leaf was outside every known mapping);
    /// returns true when it found new methods.</param>
    /// <param name="rereadJava">The same for a JVM (null: JVMs are not watched).</param>
    public JitCodeWatch(Func<int, ProcessInfo?> captured, Func<int, ulong, bool> covers, Func<ProcessInfo, bool, bool> reread, Func<ProcessInfo, bool, bool>? rereadJava = null)
    {
        _captured = captured;
        _covers = covers;
        _dotnet = new RereadPolicy(
            (info, unmappedLeaf) =>
            {
                var found = reread(info, unmappedLeaf);
                Interlocked.Increment(ref _rereads);
                return found;
            },
            MinInterval,
            MaxInterval);
        // A JVM's re-read is a request it answers with a whole new map: counted by JavaPerfMaps.WrittenWithinWindows.
        _java = rereadJava is null ? null : new RereadPolicy(rereadJava, JavaMinInterval, JavaMaxInterval);
        // A thread of its own: the re-reads block in file reads, and the thread pool grows too slowly on a loaded machine.
        _worker = new Thread(RereadQueued) { IsBackground = true, Name = "parca-agent jit watch" };
        _worker.Start();
    }

    /// <summary>.NET perf map re-reads within windows, since start.</summary>
    public long Rereads => Interlocked.Read(ref _rereads);

    /// <summary>Re-reads that failed (process gone, memory unreadable, or a bug), since start.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Called for every sample on the ring-buffer thread with its native user frames (leaf first).</summary>
    public void Observe(int pid, ReadOnlySpan<ulong> user)
    {
        if (user.Length == 0)
        {
            return;
        }

        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_watched, pid, out _);
        var w = slot ??= new Watched();
        w.LastWindow = _window;
        if (Volatile.Read(ref w.Queued) != 0 || Stopwatch.GetTimestamp() < Volatile.Read(ref w.NotBefore))
        {
            return;
        }

        var info = w.Process;
        if (info is null || info.Exited)
        {
            // Not captured yet, or replaced (exec, PID reuse): the table's current entry, without waiting.
            info = w.Process = _captured(pid);
            if (info is null || info.Exited)
            {
                return;
            }
        }

        var mappings = info.Mappings;
        if (!ReferenceEquals(mappings, w.Mappings))
        {
            // Captured again or its maps re-read: libcoreclr.so may have been mapped since.
            w.Mappings = mappings;
            w.Policy = Symbolizer.IsDotnet(info) ? _dotnet : _java is not null && Symbolizer.IsJava(info) ? _java : null;
        }

        if (w.Policy is null || !HasUnknownCode(pid, mappings, user, out var unmappedLeaf))
        {
            return;
        }

        w.UnmappedLeaf = unmappedLeaf;
        Volatile.Write(ref w.Queued, 1);
        if (!_pending.Writer.TryWrite(w))
        {
            Volatile.Write(ref w.Queued, 0);
        }
    }

    /// <summary>At each window's end, on the ring-buffer thread: forgets processes without samples in the last window.</summary>
    public void NewWindow()
    {
        _window++;
        List<int>? gone = null;
        foreach (var (pid, w) in _watched)
        {
            if (_window - w.LastWindow > 1 && Volatile.Read(ref w.Queued) == 0)
            {
                (gone ??= []).Add(pid);
            }
        }

        foreach (var pid in gone ?? [])
        {
            _watched.Remove(pid);
        }
    }

    /// <summary>
    /// True when a frame lies in anonymous executable memory no known method covers, or the leaf outside every known
    /// mapping (code in memory the runtime mapped since the maps were read). Only the leaf's pc is certain: a return
    /// address deeper down may be what a wrong step read, so unmapped ones there do not count.
    /// </summary>
    private bool HasUnknownCode(int pid, List<MemoryMapping> mappings, ReadOnlySpan<ulong> user, out bool unmappedLeaf)
    {
        unmappedLeaf = false;
        for (var i = 0; i < user.Length; i++)
        {
            if (Java.HotSpotInterpreter.IsFrameWord(user[i]))
            {
                continue; // an interpreted Java frame: the interpreter's code is known
            }

            var address = i == 0 ? user[0] : user[i] - 1; // a return address: the call is before it
            var mapping = MemoryMapping.Find(mappings, address);
            if (mapping is null)
            {
                if (i == 0)
                {
                    unmappedLeaf = true;
                    return true;
                }

                continue;
            }

            if (mapping.Kind == MappingKind.Jit && !_covers(pid, address))
            {
                return true;
            }
        }

        return false;
    }

    private void RereadQueued()
    {
        var reader = _pending.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var w))
            {
                Reread(w);
            }
        }
    }

    private void Reread(Watched w)
    {
        var found = false;
        var policy = w.Policy!;
        try
        {
            if (w.Process is { Exited: false } info)
            {
                found = policy.Reread(info, w.UnmappedLeaf);
            }
        }
        catch (Exception)
        {
            // Exited meanwhile, unreadable, or a bug: the same work runs again at the window's end, on the process's
            // job, which logs a failure once per process; this thread must not end the agent.
            Interlocked.Increment(ref _failed);
        }
        finally
        {
            w.Interval = found ? policy.Min : TimeSpan.FromTicks(Math.Min(Math.Max(w.Interval.Ticks, policy.Min.Ticks) * 2, policy.Max.Ticks));
            Volatile.Write(ref w.NotBefore, Stopwatch.GetTimestamp() + (long)(w.Interval.TotalSeconds * Stopwatch.Frequency));
            Volatile.Write(ref w.Queued, 0);
        }
    }

    public void Dispose()
    {
        _pending.Writer.TryComplete();
        _worker.Join();
    }

    /// <summary>How a runtime's processes are re-read (true: new methods found) and how often at most.</summary>
    private sealed record RereadPolicy(Func<ProcessInfo, bool, bool> Reread, TimeSpan Min, TimeSpan Max);

    /// <summary>
    /// One process: its fields before <see cref="Queued"/> is set belong to the ring-buffer thread, and to the
    /// worker while it is set.
    /// </summary>
    private sealed class Watched
    {
        public int Queued;
        public long NotBefore;

        public long LastWindow { get; set; }

        public List<MemoryMapping>? Mappings { get; set; }

        /// <summary>The process's runtime's re-read (null: not a runtime the watch re-reads).</summary>
        public RereadPolicy? Policy { get; set; }

        public ProcessInfo? Process { get; set; }

        public bool UnmappedLeaf { get; set; }

        public TimeSpan Interval { get; set; }
    }
}
