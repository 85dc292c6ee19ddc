using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interop;
using Parca.Agent.Processes;

namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// Names interpreted Java frames (docs/agent.md "Java stacks"). For each JVM whose perf map names the interpreter
/// blob, the interpreter's code range goes into the BPF map <c>parca_java_procs</c> (bpf/java.h); the table walk then
/// replaces each interpreted frame's pc with a word holding its Method* and the low bits of its bytecode pointer.
/// This resolves such words: the method's class, name, parameters, source file and line-number table are read once
/// through the JVM's exported VMStructs layout (<see cref="HotSpotVMStructs"/>, read once per JVM) and cached per
/// (pid, Method*). A Method* is freed when its class is unloaded and its memory may then hold another method, so a
/// cached entry is re-checked once per window in which it is used: the Method*'s ConstMethod* must still be the one
/// read (one word); otherwise the method is read again. Thread-safe; reads run on the window's thread.
/// </summary>
internal sealed unsafe partial class HotSpotInterpreter
{
    /// <summary>Methods cached per JVM; past it the JVM's cache starts over (memory stays bounded).</summary>
    internal const int MaxMethodsPerProcess = 50_000;

    /// <summary>The key of the "[java]" pprof mapping among a profile's interpreter mappings (their languages are 1–7).</summary>
    internal const int MappingKey = 8;
    private const int ProcBytes = 24; // sizeof(struct parca_java_proc)

    /// <summary>Windows in which reading the JVM's VMStructs may fail before it is given up (and logged).</summary>
    private const int Attempts = 3;

    /// <summary>JDK 11–21 on x86-64: the Method* at rbp − 24 and the bcp at rbp − 64, as words of [rbp − 64, rbp).</summary>
    private const byte MethodSlot = 5;
    private const byte BcpSlot = 0;

    private readonly int _mapFd;
    private readonly ObjectFileCache _objects;
    private readonly ProcessFiles _files;
    private readonly ILogger _logger;
    private readonly ProcessStates<State> _states = new(() => new State());
    private long _window;

    public HotSpotInterpreter(int mapFd, ObjectFileCache objects, ProcessFiles files, ILogger logger)
    {
        _mapFd = mapFd;
        _objects = objects;
        _files = files;
        _logger = logger;
    }

    /// <summary>Interpreted frames named, and those whose Method* could not be read, since start.</summary>
    public long Named { get; private set; }

    public long Unnamed { get; private set; }

    /// <summary>Why the last method or JVM could not be read (tests' evidence).</summary>
    public string? LastError { get; private set; }

    /// <summary>True for a word the BPF walk put in place of an interpreted frame's pc.</summary>
    public static bool IsFrameWord(ulong word) => (word >> 59) == 1;

    public static ulong MethodOf(ulong word) => (word & ((1UL << 44) - 1)) << 3;

    public static uint BcpLowOf(ulong word) => (uint)((word >> 44) & 0x7fff);

    /// <summary>True once <paramref name="pid"/>'s interpreter range is in the BPF map (tests).</summary>
    public bool Registered(int pid) => _states.TryGetValue(pid, out var s) && s.Interpreter.Start != 0;

    public void NewWindow() => Interlocked.Increment(ref _window);

    /// <summary>After a perf map of the JVM was read: puts its interpreter's range into the BPF map when it changed.</summary>
    public void Publish(ProcessInfo info, List<(ulong Start, ulong Size, string Name, string Tag)> entries)
    {
        foreach (var e in entries)
        {
            if (e.Name != "Interpreter")
            {
                continue;
            }

            var state = _states.For(info);
            lock (state)
            {
                if (state.Interpreter == (e.Start, e.Start + e.Size))
                {
                    return;
                }

                Span<byte> value = stackalloc byte[ProcBytes];
                value.Clear();
                BinaryPrimitives.WriteUInt64LittleEndian(value, e.Start);
                BinaryPrimitives.WriteUInt64LittleEndian(value[8..], e.Start + e.Size);
                value[16] = MethodSlot;
                value[17] = BcpSlot;
                var key = (uint)info.Pid;
                fixed (byte* v = value)
                {
                    if (Libbpf.MapUpdateElem(_mapFd, &key, v, 0) == 0)
                    {
                        state.Interpreter = (e.Start, e.Start + e.Size);
                    }
                }
            }

            return;
        }
    }

    /// <summary>The method an interpreted frame's word names, or null when it cannot be read (logged once per JVM).</summary>
    public HotSpotMethod? Resolve(ProcessInfo? info, int pid, ulong word)
    {
        if (info is null || !_states.TryGetValue(pid, out var state))
        {
            LastError = $"JVM {pid}: {(info is null ? "no process information" : "not registered")}";
            return null;
        }

        var method = MethodOf(word);
        lock (state)
        {
            try
            {
                state.Memory ??= ProcessMemory.Open(_files.ProcRoot, pid);
                if (state.Failed is not null)
                {
                    return null;
                }

                var window = Interlocked.Read(ref _window);
                if (state.Methods.TryGetValue(method, out var cached))
                {
                    if (cached.Window == window)
                    {
                        return cached.Method;
                    }

                    if (cached.Method is { } m && StillSame(state, method, m))
                    {
                        state.Methods[method] = (m, window);
                        return m;
                    }
                }

                if (state.Reader is null)
                {
                    if (state.LastAttempt == window)
                    {
                        return null; // failed in this window already
                    }

                    state.LastAttempt = window;
                    state.Reader = new HotSpotMethodReader(HotSpotVMStructs.Read(info, _objects, _files, state.Memory));
                }

                if (state.Methods.Count >= MaxMethodsPerProcess)
                {
                    state.Methods.Clear();
                }

                HotSpotMethod? read = null;
                try
                {
                    read = state.Reader.Read(state.Memory, method);
                    Named++;
                }
                catch (IOException e)
                {
                    Unnamed++; // a frame read mid-change (method entry/exit), or a method freed since the sample
                    LastError = $"method {method:x}: {e.Message}";
                }

                state.Methods[method] = (read, window);
                return read;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                // libjvm's file may be out of the pool or the JVM still starting: tried again in later windows.
                LastError = $"JVM {pid}: {e.Message}";
                if (++state.Attempts < Attempts)
                {
                    return null;
                }

                state.Failed = e.Message;
                if (_files.Log.ShouldLog(pid))
                {
                    LogFailed(_logger, pid, info.Comm, e.Message);
                }

                return null;
            }
        }
    }

    /// <summary>The window's re-check of a cached method: its Method* still points at the ConstMethod it was read with.</summary>
    private static bool StillSame(State state, ulong method, HotSpotMethod cached)
    {
        try
        {
            return state.Reader!.ConstMethodOf(state.Memory!, method) == cached.ConstMethod;
        }
        catch (IOException)
        {
            return false; // its memory was unmapped: read again (and fail as one frame, not as the JVM)
        }
    }

    /// <summary>Forgets JVMs that exited and removes their BPF entries.</summary>
    public void Sweep()
    {
        var gone = new List<(int Pid, State State)>();
        _states.RemoveWhere((pid, startTime) =>
        {
            var dead = ProcFs.ReadStat(_files, pid) is not { } stat || stat.StartTime != startTime;
            if (dead && _states.TryGetValue(pid, out var s))
            {
                gone.Add((pid, s));
            }

            return dead;
        });
        foreach (var (pid, state) in gone)
        {
            var key = (uint)pid;
            _ = Libbpf.MapDeleteElem(_mapFd, &key);
            lock (state)
            {
                state.Memory?.Dispose();
                state.Memory = null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "process {Pid} ({Comm}): cannot name interpreted Java frames: {Reason}; they stay Interpreter (logged once per process)")]
    private static partial void LogFailed(ILogger logger, int pid, string comm, string reason);

    private sealed class State
    {
        public (ulong Start, ulong End) Interpreter { get; set; }

        public ProcessMemory? Memory { get; set; }

        public HotSpotMethodReader? Reader { get; set; }

        public string? Failed { get; set; }

        public int Attempts { get; set; }

        public long LastAttempt { get; set; } = -1;

        public Dictionary<ulong, (HotSpotMethod? Method, long Window)> Methods { get; } = [];
    }
}
