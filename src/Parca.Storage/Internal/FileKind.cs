using System.Runtime.InteropServices;

namespace Parca.Storage.Internal;

/// <summary>
/// The type of a directory entry without following it or opening it, from <c>lstat(2)</c>'s <c>st_mode</c>: .NET's
/// <see cref="FileSystemInfo"/> tells links and directories apart but not FIFOs, sockets or device nodes, and opening a
/// FIFO to find out blocks until a writer appears. Hand-written because no framework API reports the file type.
/// </summary>
internal static partial class FileKind
{
    private const uint TypeMask = 0xF000;

    public enum Kind
    {
        Missing,
        Regular,
        Directory,
        SymbolicLink,
        Fifo,
        CharacterDevice,
        BlockDevice,
        Socket,
        Other,
    }

    public static Kind Of(string path)
    {
        // struct stat: st_mode follows st_dev, st_ino and st_nlink (8 bytes each) on x86-64; st_dev, st_ino on arm64.
        var modeOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        Span<byte> stat = stackalloc byte[256];
        if (Lstat(path, ref MemoryMarshal.GetReference(stat)) != 0)
        {
            return Kind.Missing;
        }

        return (BitConverter.ToUInt32(stat[modeOffset..]) & TypeMask) switch
        {
            0x8000 => Kind.Regular,
            0x4000 => Kind.Directory,
            0xA000 => Kind.SymbolicLink,
            0x1000 => Kind.Fifo,
            0x2000 => Kind.CharacterDevice,
            0x6000 => Kind.BlockDevice,
            0xC000 => Kind.Socket,
            _ => Kind.Other,
        };
    }

    /// <summary>"a FIFO", "a character device", ...: for messages.</summary>
    public static string Describe(Kind kind) => kind switch
    {
        Kind.Fifo => "a FIFO (named pipe)",
        Kind.CharacterDevice => "a character device",
        Kind.BlockDevice => "a block device",
        Kind.Socket => "a socket",
        Kind.Directory => "a directory",
        Kind.SymbolicLink => "a symbolic link",
        Kind.Missing => "missing",
        _ => "not a regular file",
    };

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Lstat(string path, ref byte stat);
}
