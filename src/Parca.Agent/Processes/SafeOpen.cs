using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Parca.Agent.Interop;

namespace Parca.Agent.Processes;

/// <summary>Why a process's file was not read.</summary>
internal enum FileRefusal
{
    None,

    /// <summary>Not there (or the process exited): not worth a log line.</summary>
    Missing,

    /// <summary>The path or its last component is a symlink where none may be.</summary>
    Symlink,

    /// <summary>A FIFO, device, socket or directory where a regular file was expected.</summary>
    NotRegular,

    /// <summary>Owned by neither the process's user nor root.</summary>
    Owner,

    /// <summary>Larger than the cap for its kind.</summary>
    TooLarge,

    /// <summary>Reading took longer than the read-time budget.</summary>
    TooSlow,

    /// <summary>Not the file the process mapped (device and inode differ).</summary>
    NotTheMappedFile,

    /// <summary>Any other error (permission, I/O).</summary>
    Unreadable,
}

/// <summary>
/// The system calls behind <see cref="ProcessFiles"/>: open with openat2 so no symlink (and no magic link) is
/// followed and nothing resolves outside the directory given, always O_NONBLOCK (a FIFO opens at once instead of
/// waiting for a writer, and is then refused by type before anything is read), then fstat on the open descriptor
/// (no race between check and use). Written against the syscalls because .NET's File APIs follow symlinks and open
/// FIFOs blocking.
/// </summary>
internal static class SafeOpen
{
    private const int ELOOP = 40;
    private const int EXDEV = 18;
    private const int ENOTDIR = 20;
    private const int ENOSYS = 38;

    private const int ReadFlags = Libc.ORdOnly | Libc.ONonBlock | Libc.ONoFollow | Libc.OCloExec | Libc.ONoCtty;

    private static volatile bool s_noOpenat2;

    /// <summary>
    /// A directory to resolve beneath, following <paramref name="path"/> as given: used only for the kernel's own
    /// links (/proc/PID/root, /proc/PID/map_files), whose targets are what the process sees, not what it chose.
    /// </summary>
    public static FileRefusal OpenDirectory(string path, out SafeFileHandle? directory, out int errno)
    {
        var fd = Libc.OpenAt(Libc.AtFdCwd, path, Libc.OPath | Libc.ODirectory | Libc.OCloExec, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            directory = null;
            return Classify(errno);
        }

        errno = 0;
        directory = new SafeFileHandle(fd, ownsHandle: true);
        return FileRefusal.None;
    }

    /// <summary>
    /// Opens <paramref name="relative"/> beneath <paramref name="directory"/> (or an absolute path when it is null)
    /// with no symlink in any component, and returns it only when it is a regular file.
    /// </summary>
    public static FileRefusal OpenRegular(SafeFileHandle? directory, string relative, out SafeFileHandle? handle, out Libc.Stat stat, out int errno)
    {
        handle = null;
        stat = default;
        var dirFd = directory is null ? Libc.AtFdCwd : (int)directory.DangerousGetHandle();
        var resolve = Libc.ResolveNoSymlinks | Libc.ResolveNoMagicLinks | (directory is null ? 0 : Libc.ResolveBeneath);
        int fd;
        if (!s_noOpenat2)
        {
            fd = Libc.OpenAt2(dirFd, relative, ReadFlags, resolve);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (fd < 0 && errno == ENOSYS)
            {
                s_noOpenat2 = true; // kernels before 5.6: O_NOFOLLOW guards the last component only
            }
        }
        else
        {
            fd = -1;
            errno = ENOSYS;
        }

        if (fd < 0 && errno == ENOSYS)
        {
            fd = Libc.OpenAt(dirFd, relative, ReadFlags, 0);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }

        if (fd < 0)
        {
            return Classify(errno);
        }

        return Check(new SafeFileHandle(fd, ownsHandle: true), out handle, out stat, out errno);
    }

    /// <summary>Opens a magic link of the kernel (/proc/PID/map_files/START-END: the very file mapped) and checks it is a regular file.</summary>
    public static FileRefusal OpenKernelLink(string path, out SafeFileHandle? handle, out Libc.Stat stat, out int errno)
    {
        handle = null;
        stat = default;
        var fd = Libc.OpenAt(Libc.AtFdCwd, path, Libc.ORdOnly | Libc.ONonBlock | Libc.OCloExec | Libc.ONoCtty, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return Classify(errno);
        }

        return Check(new SafeFileHandle(fd, ownsHandle: true), out handle, out stat, out errno);
    }

    private static FileRefusal Check(SafeFileHandle opened, out SafeFileHandle? handle, out Libc.Stat stat, out int errno)
    {
        handle = null;
        if (Libc.FStat((int)opened.DangerousGetHandle(), out stat) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            opened.Dispose();
            return FileRefusal.Unreadable;
        }

        errno = 0;
        if ((stat.Mode & Libc.SIfMt) != Libc.SIfReg)
        {
            opened.Dispose();
            return FileRefusal.NotRegular;
        }

        handle = opened;
        return FileRefusal.None;
    }

    /// <summary>What the file's type bits say, for log lines ("fifo", "character device").</summary>
    public static string TypeName(uint mode) => (mode & Libc.SIfMt) switch
    {
        Libc.SIfReg => "regular file",
        Libc.SIfDir => "directory",
        Libc.SIfIfo => "fifo",
        Libc.SIfChr => "character device",
        Libc.SIfBlk => "block device",
        Libc.SIfSock => "socket",
        _ => "special file",
    };

    private static FileRefusal Classify(int errno) => errno switch
    {
        Errno.ENOENT or Errno.ESRCH or ENOTDIR => FileRefusal.Missing,
        ELOOP or EXDEV => FileRefusal.Symlink,
        _ => FileRefusal.Unreadable,
    };
}
