using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>Indexes of <c>enum parca_interp_stat</c> (bpf/interp.h).</summary>
internal enum InterpreterStat
{
    Walks = 0,
    NoThread = 1,
    ReadFault = 2,
    Frames = 3,
    Truncated = 4,
    SampleNanoseconds = 5,
    WalkNanoseconds = 6,
    Count = 7,
}

/// <summary>
/// The interpreter walker's BPF maps (bpf/interp.h): per-process Python and Perl layouts (<c>parca_python_procs</c>,
/// <c>parca_perl_procs</c>) and the
/// walker's per-CPU counters at the start of <c>parca_interp_scratch</c>.
/// </summary>
internal sealed unsafe partial class InterpreterMaps
{
    /// <summary>sizeof(struct parca_python_proc).</summary>
    public const int PythonProcBytes = 48;

    /// <summary>sizeof(struct parca_perl_proc).</summary>
    public const int PerlProcBytes = 48;

    /// <summary>sizeof(struct parca_ruby_proc).</summary>
    public const int RubyProcBytes = 40;

    /// <summary>sizeof(struct parca_php_proc).</summary>
    public const int PhpProcBytes = 40;

    /// <summary>sizeof(struct parca_interp_walk), sizeof(struct parca_perl_walk), sizeof(struct parca_ruby_walk), sizeof(struct parca_php_walk).</summary>
    private const int WalkBytes = 40;
    private const int PerlWalkBytes = 32;
    private const int RubyWalkBytes = 16;
    private const int PhpWalkBytes = 8;

    private readonly int _pythonFd;
    private readonly int _perlFd;
    private readonly int _rubyFd;
    private readonly int _phpFd;
    private readonly int _v8Fd;
    private readonly int _scratchFd;
    private readonly int _scratchSlotBytes;
    private readonly int _cpus;

    public InterpreterMaps(Bpf.CpuSampler sampler)
    {
        _pythonFd = sampler.MapFd("parca_python_procs");
        _perlFd = sampler.MapFd("parca_perl_procs");
        _rubyFd = sampler.MapFd("parca_ruby_procs");
        _phpFd = sampler.MapFd("parca_php_procs");
        _v8Fd = sampler.MapFd("parca_v8_procs");
        _scratchFd = sampler.MapFd("parca_interp_scratch");
        _scratchSlotBytes = (ScratchBytes + 7) & ~7;
        _cpus = sampler.PossibleCpus;
    }

    /// <summary>sizeof(struct parca_interp_state): counters, walk state, the Python layout, the frame buffer, the Perl, Ruby and PHP layouts and walks.</summary>
    public static int ScratchBytes => (8 * (int)InterpreterStat.Count) + WalkBytes + PythonProcBytes + 128 + PerlProcBytes + PerlWalkBytes + RubyProcBytes + RubyWalkBytes + PhpProcBytes + PhpWalkBytes;

    /// <summary>The bytes of struct parca_python_proc for <paramref name="process"/>.</summary>
    public static void Encode(PythonProcess process, Span<byte> value)
    {
        var l = process.Layout;
        value.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(value, process.Runtime);
        ReadOnlySpan<ushort> fields =
        [
            l.RuntimeInterpretersHead, l.InterpreterThreadsHead, l.ThreadNext, l.ThreadId, l.ThreadFrame, l.CFrameCurrentFrame,
            l.FrameCode, l.FramePrevious, l.FrameInstruction, l.FrameIsEntry, l.FrameOwner, l.CodeAdaptive, l.CodeFirstLine,
        ];
        for (var i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(value[(8 + (2 * i))..], fields[i]);
        }

        value[34] = l.InstructionIsPointer ? (byte)1 : (byte)0;
        value[35] = l.OwnerCStack;
        BinaryPrimitives.WriteUInt16LittleEndian(value[36..], l.FrameSize);
    }

    /// <summary>Publishes <paramref name="process"/>'s layout; false when the map is full (the process stays native-only).</summary>
    public bool WritePython(PythonProcess process)
    {
        Span<byte> value = stackalloc byte[PythonProcBytes];
        Encode(process, value);
        return Update(_pythonFd, process.Pid, value);
    }

    public void DeletePython(int pid) => Delete(_pythonFd, pid);

    /// <summary>The bytes of struct parca_perl_proc for <paramref name="process"/>.</summary>
    public static void Encode(PerlProcess process, Span<byte> value)
    {
        var l = process.Layout;
        value.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(value, process.Interp);
        BinaryPrimitives.WriteInt64LittleEndian(value[8..], process.TlsOffset);
        ReadOnlySpan<ushort> fields =
        [
            l.InterpCurcop, l.InterpCurstackinfo, l.StackInfoCxstack, l.StackInfoPrev, l.StackInfoCxix, l.ContextSize,
            l.ContextType, l.ContextOldcop, l.ContextSubCv, l.ContextRead, l.CopLine, l.CopFile,
        ];
        for (var i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(value[(16 + (2 * i))..], fields[i]);
        }
    }

    /// <summary>Publishes <paramref name="process"/>'s layout; false when the map is full (the process stays native-only).</summary>
    public bool WritePerl(PerlProcess process)
    {
        Span<byte> value = stackalloc byte[PerlProcBytes];
        Encode(process, value);
        return Update(_perlFd, process.Pid, value);
    }

    public void DeletePerl(int pid) => Delete(_perlFd, pid);

    /// <summary>The bytes of struct parca_ruby_proc for <paramref name="process"/>.</summary>
    public static void Encode(RubyProcess process, Span<byte> value)
    {
        var l = process.Layout;
        value.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(value, process.TlsOffset);
        ReadOnlySpan<ushort> fields =
        [
            l.ExecutionContextVmStack, l.ExecutionContextVmStackSize, l.ExecutionContextCfp, l.ControlFrameSize, l.ControlFramePc,
            l.ControlFrameIseq, l.ControlFrameEp, l.IseqBody, l.BodyIseqSize, l.BodyIseqEncoded,
        ];
        for (var i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(value[(8 + (2 * i))..], fields[i]);
        }
    }

    /// <summary>Publishes <paramref name="process"/>'s layout; false when the map is full (the process stays native-only).</summary>
    public bool WriteRuby(RubyProcess process)
    {
        Span<byte> value = stackalloc byte[RubyProcBytes];
        Encode(process, value);
        return Update(_rubyFd, process.Pid, value);
    }

    public void DeleteRuby(int pid) => Delete(_rubyFd, pid);

    /// <summary>The bytes of struct parca_php_proc for <paramref name="process"/>.</summary>
    public static void Encode(PhpProcess process, Span<byte> value)
    {
        var l = process.Layout;
        value.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(value, process.ExecutorGlobals);
        ReadOnlySpan<ushort> fields =
        [
            l.ExecutorCurrentExecuteData, l.ExecuteDataOpline, l.ExecuteDataFunc, l.ExecuteDataCallInfo, l.ExecuteDataPrevious, l.FunctionType, l.OpLine,
        ];
        for (var i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(value[(8 + (2 * i))..], fields[i]);
        }

        BinaryPrimitives.WriteInt64LittleEndian(value[24..], process.TlsOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(value[32..], process.ExecutorGlobalsOffset);
    }

    /// <summary>Publishes <paramref name="process"/>'s layout; false when the map is full (the process stays native-only).</summary>
    public bool WritePhp(PhpProcess process)
    {
        Span<byte> value = stackalloc byte[PhpProcBytes];
        Encode(process, value);
        return Update(_phpFd, process.Pid, value);
    }

    public void DeletePhp(int pid) => Delete(_phpFd, pid);

    /// <summary>One process's entry in a per-language map (key: the pid); false when the map is full.</summary>
    private static bool Update(int fd, int pid, ReadOnlySpan<byte> value)
    {
        var key = (uint)pid;
        fixed (byte* v = value)
        {
            return Libbpf.MapUpdateElem(fd, &key, v, 0) == 0;
        }
    }

    private static void Delete(int fd, int pid)
    {
        var key = (uint)pid;
        _ = Libbpf.MapDeleteElem(fd, &key);
    }

    /// <summary>The walker's counters summed over CPUs, indexed by <see cref="InterpreterStat"/>.</summary>
    public ulong[] ReadStats()
    {
        var totals = new ulong[(int)InterpreterStat.Count];
        var slots = new byte[_cpus * _scratchSlotBytes];
        fixed (byte* values = slots)
        {
            uint key = 0;
            if (Libbpf.MapLookupElem(_scratchFd, &key, values) != 0)
            {
                _ = Marshal.GetLastPInvokeError();
                return totals;
            }

            for (var cpu = 0; cpu < _cpus; cpu++)
            {
                var counters = (ulong*)(values + (cpu * _scratchSlotBytes));
                for (var stat = 0; stat < totals.Length; stat++)
                {
                    totals[stat] += counters[stat];
                }
            }
        }

        return totals;
    }
}
