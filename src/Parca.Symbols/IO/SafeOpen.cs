using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Parca.Symbols.IO;

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
/// The one implementation through which the agent and the symbolizer open files a profiled process names (its
/// /proc files, perf map, mapped ELF files, debug links): openat2 so that no symlink is followed or, for
/// <see cref="OpenInRoot"/>, symlinks resolve as if the directory given were "/" (a container's links cannot lead to
/// the host); magic links never; always O_NONBLOCK (a FIFO opens at once instead of waiting for a writer, and is then
/// refused by type before anything is read), then fstat on the open descriptor (no race between check and use).
/// Written against the syscalls because .NET's File APIs follow symlinks and open FIFOs blocking.
/// </summary>
internal static class SafeOpen
{
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;

    private const int ReadFlags = FileSyscalls.ORdOnly | FileSyscalls.ONonBlock | FileSyscalls.ONoFollow | FileSyscalls.OCloExec | FileSyscalls.ONoCtty;

    private static volatile bool s_noOpenat2;

    /// <summary>
    /// A directory to resolve beneath, following <paramref name="path"/> as given: used only for the kernel's own
    /// links (/proc/PID/root, /proc/PID/map_files), whose targets are what the process sees, not what it chose.
    /// </summary>
    public static FileRefusal OpenDirectory(string path, out SafeFileHandle? directory, out int errno)
    {
        var fd = FileSyscalls.OpenAt(FileSyscalls.AtFdCwd, path, FileSyscalls.OPath | FileSyscalls.ODirectory | FileSyscalls.OCloExec, 0);
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
    public static FileRefusal OpenRegular(SafeFileHandle? directory, string relative, out SafeFileHandle? handle, out FileSyscalls.Stat stat, out int errno)
    {
        handle = null;
        stat = default;
        var dirFd = directory is null ? FileSyscalls.AtFdCwd : (int)directory.DangerousGetHandle();
        var resolve = FileSyscalls.ResolveNoSymlinks | FileSyscalls.ResolveNoMagicLinks | (directory is null ? 0 : FileSyscalls.ResolveBeneath);
        int fd;
        if (!s_noOpenat2)
        {
            fd = FileSyscalls.OpenAt2(dirFd, relative, ReadFlags, resolve);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            s_noOpenat2 |= fd < 0 && errno == ENOSYS; // kernels before 5.6: O_NOFOLLOW guards the last component only
        }
        else
        {
            fd = -1;
            errno = ENOSYS;
        }

        if (fd < 0 && errno == ENOSYS)
        {
            fd = FileSyscalls.OpenAt(dirFd, relative, ReadFlags, 0);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }

        if (fd < 0)
        {
            return Classify(errno);
        }

        return Check(new SafeFileHandle(fd, ownsHandle: true), out handle, out stat, out errno);
    }

    /// <summary>
    /// Opens <paramref name="path"/> inside <paramref name="root"/> following symlinks as a chroot would (absolute
    /// targets and ".." stay inside the root; magic links are refused), and returns it only when it is a regular file.
    /// Debug links and build-id paths are often symlinks (merged /usr: /lib -> usr/lib), so this one follows them.
    /// Kernels without openat2 (before 5.6) cannot confine the walk: only the agent's own view ("/") is opened then.
    /// </summary>
    public static FileRefusal OpenInRoot(SafeFileHandle root, bool rootIsSlash, string path, out SafeFileHandle? handle, out FileSyscalls.Stat stat, out int errno)
    {
        handle = null;
        stat = default;
        var flags = FileSyscalls.ORdOnly | FileSyscalls.ONonBlock | FileSyscalls.OCloExec | FileSyscalls.ONoCtty;
        var fd = -1;
        errno = ENOSYS;
        if (!s_noOpenat2)
        {
            fd = FileSyscalls.OpenAt2((int)root.DangerousGetHandle(), path, (ulong)flags, FileSyscalls.ResolveInRoot | FileSyscalls.ResolveNoMagicLinks);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            s_noOpenat2 |= fd < 0 && errno == ENOSYS;
        }

        if (fd < 0 && errno == ENOSYS && rootIsSlash)
        {
            fd = FileSyscalls.OpenAt(FileSyscalls.AtFdCwd, path, flags, 0);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }

        if (fd < 0)
        {
            return Classify(errno);
        }

        return Check(new SafeFileHandle(fd, ownsHandle: true), out handle, out stat, out errno);
    }

    /// <summary>Opens a magic link of the kernel (/proc/PID/map_files/START-END: the very file mapped) and checks it is a regular file.</summary>
    public static FileRefusal OpenKernelLink(string path, out SafeFileHandle? handle, out FileSyscalls.Stat stat, out int errno)
    {
        handle = null;
        stat = default;
        var fd = FileSyscalls.OpenAt(FileSyscalls.AtFdCwd, path, FileSyscalls.ORdOnly | FileSyscalls.ONonBlock | FileSyscalls.OCloExec | FileSyscalls.ONoCtty, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return Classify(errno);
        }

        return Check(new SafeFileHandle(fd, ownsHandle: true), out handle, out stat, out errno);
    }

    private static FileRefusal Check(SafeFileHandle opened, out SafeFileHandle? handle, out FileSyscalls.Stat stat, out int errno)
    {
        handle = null;
        if (FileSyscalls.FStat((int)opened.DangerousGetHandle(), out stat) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            opened.Dispose();
            return FileRefusal.Unreadable;
        }

        errno = 0;
        if ((stat.Mode & FileSyscalls.SIfMt) != FileSyscalls.SIfReg)
        {
            opened.Dispose();
            return FileRefusal.NotRegular;
        }

        handle = opened;
        return FileRefusal.None;
    }

    /// <summary>What the file's type bits say, for log lines ("fifo", "character device").</summary>
    public static string TypeName(uint mode) => (mode & FileSyscalls.SIfMt) switch
    {
        FileSyscalls.SIfReg => "regular file",
        FileSyscalls.SIfDir => "directory",
        FileSyscalls.SIfIfo => "fifo",
        FileSyscalls.SIfChr => "character device",
        FileSyscalls.SIfBlk => "block device",
        FileSyscalls.SIfSock => "socket",
        _ => "special file",
    };

    private static FileRefusal Classify(int errno) => errno switch
    {
        ENOENT or ESRCH or ENOTDIR => FileRefusal.Missing,
        ELOOP or EXDEV => FileRefusal.Symlink,
        _ => FileRefusal.Unreadable,
    };
}
