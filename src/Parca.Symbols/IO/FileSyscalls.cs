using System.Runtime.InteropServices;

namespace Parca.Symbols.IO;

/// <summary>openat2(2), openat(2) and fstat(2): what <see cref="SafeOpen"/> needs to open files named by other processes without trusting them.</summary>
internal static partial class FileSyscalls
{
    public const long SysOpenat2 = 437;
    public const int AtFdCwd = -100;

    public const int ORdOnly = 0;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int ODirectory = 0x10000;
    public const int ONoFollow = 0x20000;
    public const int OCloExec = 0x80000;
    public const int OPath = 0x200000;

    public const ulong ResolveNoXdev = 0x01;
    public const ulong ResolveNoMagicLinks = 0x02;
    public const ulong ResolveNoSymlinks = 0x04;
    public const ulong ResolveBeneath = 0x08;
    public const ulong ResolveInRoot = 0x10;

    public const uint SIfMt = 0xF000;
    public const uint SIfReg = 0x8000;
    public const uint SIfDir = 0x4000;
    public const uint SIfIfo = 0x1000;
    public const uint SIfChr = 0x2000;
    public const uint SIfBlk = 0x6000;
    public const uint SIfSock = 0xC000;

    private const string Lib = "libc";

    [LibraryImport(Lib, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(int directoryFd, string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "fstat", SetLastError = true)]
    public static partial int FStat(int fd, out Stat stat);

    /// <summary>openat2 has no glibc wrapper in Debian 12's glibc 2.36: it goes through syscall(2).</summary>
    public static unsafe int OpenAt2(int directoryFd, string path, ulong flags, ulong resolve)
    {
        var how = new OpenHow { Flags = flags, Resolve = resolve };
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return (int)Syscall(SysOpenat2, directoryFd, (nint)p, (nint)(&how), sizeof(OpenHow));
        }
    }

    // syscall(2) is variadic; on x86-64 integer arguments travel in the same registers either way.
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a1, nint a2, nint a3, long a4);

    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary>struct stat on x86-64 (144 bytes); only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct Stat
    {
        [FieldOffset(0)]
        public ulong Device;

        [FieldOffset(8)]
        public ulong Inode;

        [FieldOffset(24)]
        public uint Mode;

        [FieldOffset(28)]
        public uint Uid;

        [FieldOffset(32)]
        public uint Gid;

        [FieldOffset(48)]
        public long Size;
    }
}
