using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Parca.Agent.Bpf;

/// <summary>
/// Mirror of <c>struct parca_sample</c> in bpf/parca_agent.h (BpfLayoutTests checks the layout against the header).
/// A ring-buffer record holds only the used frames (<see cref="RecordBytes"/>), so a reference to a record must
/// only be read through <see cref="UserFrames"/> and <see cref="KernelFrames"/>, which stay inside it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfSample
{
    public const int MaxStackDepth = 127;
    public const int CommLength = 16;
    public const uint FlagUserTruncated = 0x1;
    public const uint FlagUserReadFailed = 0x2;
    public const uint FlagKernelMode = 0x4;
    public const uint FlagUserImplausible = 0x8;
    public const uint FlagUserComplete = 0x10;
    public const uint FlagUserTables = 0x20;

    /// <summary>Bytes before <see cref="Frames"/>: the smallest valid record.</summary>
    public const int HeaderBytes = 48;

    public ulong TimestampNs;
    public uint Pid;
    public uint Tid;
    public uint Cpu;
    public uint Flags;
    public int KernelLength;
    public uint UserLength;
    public fixed byte Comm[CommLength];

    /// <summary>User frames, then kernel frames; only the first UserLength + max(KernelLength, 0) are sent.</summary>
    public fixed ulong Frames[2 * MaxStackDepth];

    /// <summary>The size of this sample's ring-buffer record.</summary>
    public readonly int RecordBytes => HeaderBytes + (8 * (UserCount + KernelCount));

    private readonly int UserCount => (int)Math.Min(UserLength, MaxStackDepth);

    private readonly int KernelCount => Math.Clamp(KernelLength, 0, MaxStackDepth);

    /// <summary>Kernel frames, leaf first (empty when the sample was in user mode or bpf_get_stack failed).</summary>
    [UnscopedRef]
    public ReadOnlySpan<ulong> KernelFrames => MemoryMarshal.CreateReadOnlySpan(ref Frames[UserCount], KernelCount);

    /// <summary>User frames, leaf first: the interrupted pc, then return addresses.</summary>
    [UnscopedRef]
    public ReadOnlySpan<ulong> UserFrames => MemoryMarshal.CreateReadOnlySpan(ref Frames[0], UserCount);

    /// <summary>The thread's comm up to its NUL.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> CommBytes
    {
        get
        {
            var all = MemoryMarshal.CreateReadOnlySpan(ref Comm[0], CommLength);
            var end = all.IndexOf((byte)0);
            return end < 0 ? all : all[..end];
        }
    }
}

/// <summary>Indexes of <c>enum parca_stat</c>: the per-CPU counters kept by the BPF program.</summary>
internal enum BpfStat
{
    Samples = 0,
    Idle = 1,
    KernelThread = 2,
    RingBufferFull = 3,
    Sent = 4,
    UserTruncated = 5,
    UserReadFailed = 6,
    UserImplausible = 7,
    UnwindNoProcess = 8,
    UnwindNoTable = 9,
    UnwindPcNotCovered = 10,
    UnwindReadFault = 11,
    UnwindDepthLimit = 12,
    UnwindComplete = 13,
    UnwindTableFrames = 14,
    UnwindFramePointerFrames = 15,
    UnwindSignalFrames = 16,
    Count = 17,
}
