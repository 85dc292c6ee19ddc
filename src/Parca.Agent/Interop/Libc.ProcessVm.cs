using System.Runtime.InteropServices;

namespace Parca.Agent.Interop;

/// <summary>process_vm_readv: copies another process's memory without ptrace-stopping it (the interpreter symbolizer).</summary>
internal static partial class Libc
{
    [LibraryImport(Lib, EntryPoint = "process_vm_readv", SetLastError = true)]
    private static unsafe partial nint ProcessVmReadv(int pid, IoVec* local, ulong localCount, IoVec* remote, ulong remoteCount, ulong flags);

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="address"/> of <paramref name="pid"/>; false when any byte is unreadable.</summary>
    public static unsafe bool ReadProcessMemory(int pid, ulong address, Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return true;
        }

        fixed (byte* p = buffer)
        {
            var local = new IoVec { Base = (nint)p, Length = (nuint)buffer.Length };
            var remote = new IoVec { Base = (nint)address, Length = (nuint)buffer.Length };
            return ProcessVmReadv(pid, &local, 1, &remote, 1, 0) == buffer.Length;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }
}
