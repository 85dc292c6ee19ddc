using System.Runtime.InteropServices;

namespace Parca.Agent.Interop;

/// <summary>The few libc entry points the agent needs: raw syscalls (perf_event_open has no libc wrapper), rlimits, close, malloc_trim.</summary>
internal static partial class Libc
{
    private const string Lib = "libc";

    public const long SysPerfEventOpen = 298;
    public const long SysBpf = 321;
    public const int RlimitMemlock = 8;
    public const ulong RlimInfinity = ulong.MaxValue;

    // syscall(2) is variadic; on x86-64 integer arguments travel in the same registers either way.
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, nint a1, long a2, long a3, long a4, ulong a5);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRlimit(int resource, in RLimit limit);

    [LibraryImport(Lib, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRlimit(int resource, out RLimit limit);

    [LibraryImport(Lib, EntryPoint = "vsnprintf")]
    public static unsafe partial int VsnPrintf(byte* buffer, nuint size, byte* format, nint args);

    /// <summary>
    /// glibc: gives free memory of every malloc arena back to the kernel. libbpf (vmlinux BTF for CO-RE, the
    /// verifier log) and the runtime free megabytes of native memory that glibc otherwise keeps in per-thread arenas,
    /// where it counts in the agent's RSS for the rest of its life.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "malloc_trim")]
    public static partial int MallocTrim(nuint pad);

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }
}
