namespace Parca.Agent.Bpf;

/// <summary>Settings of the BPF sampler.</summary>
internal sealed class CpuSamplerOptions
{
    public int Frequency { get; init; } = 19;

    /// <summary>Ring buffer size in bytes (a power of two, at least one page); 0 sizes it for about one second of samples.</summary>
    public int RingBufferBytes { get; init; }

    /// <summary>RLIMIT_MEMLOCK to set before loading; 0 = unlimited; null = leave as is.</summary>
    public ulong? MemlockLimit { get; init; } = 0;

    /// <summary>Where the kernel's BTF is expected (CO-RE relocations need it).</summary>
    public string BtfPath { get; init; } = "/sys/kernel/btf/vmlinux";

    public bool VerboseLogging { get; init; }

    /// <summary>Walk user stacks with unwind tables (frame pointers where a pc has none); false = frame pointers only.</summary>
    public bool UnwindTables { get; init; } = true;

    /// <summary>Frame-pointer steps inside a table walk where a pc has no table (JIT code).</summary>
    public bool UnwindMixed { get; init; } = true;

    /// <summary>Rows of the BPF unwind rows array (12 bytes each).</summary>
    public uint UnwindMaxRows { get; init; } = 1 << 21;

    /// <summary>Tables (distinct executables) loaded at once.</summary>
    public uint UnwindMaxTables { get; init; } = 4096;

    /// <summary>Processes whose mappings the unwinder holds at once (about 4 KB each, allocated on use).</summary>
    public uint UnwindMaxProcesses { get; init; } = 8192;

    /// <summary>
    /// Ring buffer size for <paramref name="frequency"/> on <paramref name="cpus"/> CPUs: a second of samples at the
    /// largest record size (records are usually far smaller), ≥ 256 KiB, power of two.
    /// </summary>
    public static int DefaultRingBufferBytes(int frequency, int cpus)
    {
        var perSecond = (long)frequency * cpus * System.Runtime.CompilerServices.Unsafe.SizeOf<BpfSample>();
        var size = 256L * 1024;
        while (size < perSecond && size < (1L << 30))
        {
            size <<= 1;
        }

        return (int)size;
    }
}
